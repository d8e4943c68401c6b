// auth.credsFile against a real nats-server in operator (JWT) mode: an
// operator, a system account and a JetStream account preloaded in a MEMORY
// resolver, users' .creds files as nsc writes them (test/helpers/nats-jwt.ts).
// A valid user delivers (stream created through the JetStream API); a user
// the server cannot verify, an expired user and a user denied the subject are
// dead letters with a line that says why; relay test logs in with the file.

import t from 'tap';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createNatsSender } from '../../src/destinations/nats/sender.ts';
import { checkNats } from '../../src/destinations/nats/check.ts';
import { natsSkip, startNatsServer } from '../helpers/nats-server.ts';
import { natsOperator } from '../helpers/nats-jwt.ts';
import { delivery, natsDest } from './broker-fixtures.ts';

const skip = natsSkip();
if (skip) {
  t.plan(0, skip);
} else {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'relay-nats-creds-'));
  t.teardown(() => rmSync(tmp, { recursive: true, force: true }));
  const operatorFile = path.join(tmp, 'operator.jwt');
  const op = natsOperator(operatorFile);
  writeFileSync(operatorFile, op.operatorJwt);
  const creds = (name: string, text: string): string => {
    const file = path.join(tmp, `${name}.creds`);
    writeFileSync(file, text, { mode: 0o600 });
    return file;
  };

  t.test('credsFile: a user of the operator\'s account delivers; unknown, expired and denied users are dead letters', async (t) => {
    const server = await startNatsServer({ extra: op.serverConfig });
    t.teardown(() => server.cleanup());
    const send = async (credsPath: string, id: string) => {
      const sender = createNatsSender(natsDest([server.url], { auth: { credsFile: credsPath } }));
      try {
        return await sender.send(delivery(id));
      } finally {
        await sender.close();
      }
    };

    const ok = await send(creds('relay', op.userCreds('relay')), 'c-1');
    t.equal(ok.outcome, 'delivered', ok.detail);
    t.match(ok.detail, /^PubAck stream BITBUCKET seq 1$/, 'the stream was created by the JWT user, the message stored');

    const stranger = await send(creds('stranger', op.strangerCreds()), 'c-2');
    t.equal(stranger.outcome, 'dead', stranger.detail);
    t.match(stranger.reason, /refused our credentials.*check auth/);

    const expired = await send(creds('expired', op.userCreds('old', { expiresInSec: -60 })), 'c-3');
    t.equal(expired.outcome, 'dead', expired.detail);
    t.match(expired.reason, /refused our credentials|expired/i);

    const denied = await send(creds('denied', op.userCreds('reader', { publishDeny: ['bitbucket.>'] })), 'c-4');
    t.equal(denied.outcome, 'dead', denied.detail);
    t.match(denied.reason, /permission denied/);

    const check = await checkNats(natsDest([server.url], { auth: { credsFile: path.join(tmp, 'relay.creds') } }), { node: 'node-1' });
    t.same(check.steps.map((s) => `${s.step}:${s.result}`).filter((s) => !s.startsWith('tls')), ['dns:ok', 'tcp:ok', 'auth:ok', 'publish:ok'], JSON.stringify(check.diagnosis));
    t.notMatch(JSON.stringify(check), /SUA[A-Z0-9]{20,}/, 'the user seed is never printed');
  });
}
