// The nats destination against a real nats-server (JetStream) on 127.0.0.1:
// publish and read back, msg-id de-duplication, the stream created with its
// documented defaults, credentials (user/password, token, nkey), TLS with a
// private CA, errors classified (no stream, permission, credentials → dead;
// broker down → retry, then delivered after its restart on the same sender),
// and `relay test`'s steps.

import t from 'tap';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { once } from 'node:events';
import os from 'node:os';
import path from 'node:path';
import { connect, nkeys, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { createNatsSender } from '../../src/destinations/nats/sender.ts';
import { checkNats } from '../../src/destinations/nats/check.ts';
import { natsSkip, startNatsServer } from '../helpers/nats-server.ts';
import { freePort } from '../helpers/broker-process.ts';
import { makePki } from '../deliver/tls-certs.ts';
import { delivery, natsDest } from './broker-fixtures.ts';

const skip = natsSkip();
if (skip) {
  t.plan(0, skip);
} else {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'relay-nats-test-'));
  t.teardown(() => rmSync(tmp, { recursive: true, force: true }));

  t.test('publish, read back, de-duplicated by Nats-Msg-Id, stream created with the default config', async (t) => {
    const server = await startNatsServer();
    t.teardown(() => server.cleanup());
    const sender = createNatsSender(natsDest([server.url]));
    t.teardown(() => sender.close());
    const first = await sender.send(delivery('d-1'));
    t.equal(first.outcome, 'delivered', first.detail);
    t.match(first.detail, /PubAck stream BITBUCKET seq 1$/);
    t.equal(first.target, 'bitbucket.push.PRJ.my_repo', 'placeholders filled, the dot of the slug made part of one token');
    const again = await sender.send(delivery('d-1'));
    t.equal(again.outcome, 'delivered');
    t.match(again.detail, /duplicate: already stored/);
    t.equal((await sender.send(delivery('d-2'))).outcome, 'delivered');

    const nc: NatsConnection = await connect({ servers: server.url });
    t.teardown(() => nc.close());
    const jsm = await jetstreamManager(nc);
    const info = await jsm.streams.info('BITBUCKET');
    t.equal(info.state.messages, 2, 'the resend of d-1 was dropped by the stream');
    t.same(info.config.subjects, ['bitbucket.push.*.*']);
    t.equal(info.config.duplicate_window, 120_000 * 1_000_000);
    t.equal(info.config.max_age, 86_400_000 * 1_000_000);
    const consumer = await jetstream(nc).consumers.get('BITBUCKET');
    const m = await consumer.next({ expires: 5000 });
    t.ok(m, 'a consumer reads the message');
    t.equal(m!.subject, 'bitbucket.push.PRJ.my_repo');
    t.equal(m!.headers?.get('Nats-Msg-Id'), 'd-1');
    t.equal(m!.headers?.get('X-Relay-Delivery'), 'd-1');
    t.equal(m!.headers?.get('content-type'), 'application/cloudevents+json; charset=utf-8', 'CloudEvents NATS binding, structured mode');
    t.same(JSON.parse(m!.string()), { n: 'd-1' });

    // Deleted behind our back: the next attempt retries and the one after creates it again.
    await jsm.streams.delete('BITBUCKET');
    const gone = await sender.send(delivery('d-3'));
    t.equal(gone.outcome, 'retry');
    t.match(gone.reason, /stream BITBUCKET is gone; it is created again/);
    t.equal((await sender.send(delivery('d-3'))).outcome, 'delivered');
    t.equal((await jsm.streams.info('BITBUCKET')).state.messages, 1);
  });

  t.test('credentials: user/password, token, nkey; wrong credentials and missing permission are dead', async (t) => {
    const user = nkeys.createUser();
    const seedFile = path.join(tmp, 'relay.nk');
    writeFileSync(seedFile, new TextDecoder().decode(user.getSeed()));
    const server = await startNatsServer({
      users: [
        { user: 'relay', password: 's3cret-pw' },
        { user: 'narrow', password: 'narrow-pw', publishAllow: ['other.>', '$JS.API.>'] },
        { nkey: user.getPublicKey() },
      ],
    });
    t.teardown(() => server.cleanup());
    const send = async (over: Parameters<typeof natsDest>[1], id: string) => {
      const s = createNatsSender(natsDest([server.url], over));
      try {
        return await s.send(delivery(id));
      } finally {
        await s.close();
      }
    };
    t.equal((await send({ auth: { username: 'relay', password: 's3cret-pw' } }, 'a-1')).outcome, 'delivered');
    t.equal((await send({ auth: { nkeySeed: new TextDecoder().decode(user.getSeed()) } }, 'a-2')).outcome, 'delivered', 'nkey');
    const wrong = await send({ auth: { username: 'relay', password: 'nope' } }, 'a-3');
    t.equal(wrong.outcome, 'dead');
    t.match(wrong.reason, /refused our credentials.*check auth/);
    const denied = await send({ auth: { username: 'narrow', password: 'narrow-pw' }, stream: null }, 'a-4');
    t.equal(denied.outcome, 'dead', denied.detail);
    t.match(denied.reason, /permission denied.*Permissions Violation for Publish to "bitbucket\.push\.PRJ\.my_repo"/);

    const tokenServer = await startNatsServer({ token: 'tok-123456' });
    t.teardown(() => tokenServer.cleanup());
    const s = createNatsSender(natsDest([tokenServer.url], { auth: { token: 'tok-123456' } }));
    t.teardown(() => s.close());
    t.equal((await s.send(delivery('t-1'))).outcome, 'delivered', 'token');
  });

  t.test('stream missing with create off, or another stream takes the subject: dead', async (t) => {
    const server = await startNatsServer();
    t.teardown(() => server.cleanup());
    const off = createNatsSender(natsDest([server.url], { stream: { name: 'ABSENT', create: false, subjects: [], maxAgeMs: 0, duplicateWindowMs: 0, storage: 'file', replicas: 1 } }));
    t.teardown(() => off.close());
    const r = await off.send(delivery('s-1'));
    t.equal(r.outcome, 'dead');
    t.match(r.reason, /no JetStream stream captures subject bitbucket\.push\.PRJ\.my_repo \(stream ABSENT; stream\.create is off\)/);

    const nc = await connect({ servers: server.url });
    t.teardown(() => nc.close());
    await (await jetstreamManager(nc)).streams.add({ name: 'OTHER', subjects: ['bitbucket.>'] });
    const wrongStream = await off.send(delivery('s-2'));
    t.equal(wrongStream.outcome, 'dead');
    t.match(wrongStream.reason, /another stream than ABSENT/);
  });

  t.test('broker down → retry; after its restart the same sender delivers', async (t) => {
    const server = await startNatsServer();
    t.teardown(() => server.cleanup());
    const sender = createNatsSender(natsDest([server.url], { timeout: { connectMs: 1000, ackMs: 1000 } }));
    t.teardown(() => sender.close());
    t.equal((await sender.send(delivery('r-1'))).outcome, 'delivered');
    await server.stop();
    const down = await sender.send(delivery('r-2'));
    t.equal(down.outcome, 'retry', down.detail);
    t.equal(down.pathWorks, false);
    await server.start();
    const deadline = Date.now() + 20_000;
    let r = await sender.send(delivery('r-2'));
    while (r.outcome !== 'delivered' && Date.now() < deadline) {
      await new Promise((res) => setTimeout(res, 200));
      r = await sender.send(delivery('r-2'));
    }
    t.equal(r.outcome, 'delivered', r.detail);
    const nc = await connect({ servers: server.url });
    t.teardown(() => nc.close());
    t.equal((await (await jetstreamManager(nc)).streams.info('BITBUCKET')).state.messages, 2, 'r-1 kept across the restart, r-2 stored once');
  });

  t.test('TLS with a private CA; relay test walks dns → tcp → tls → auth → publish', async (t) => {
    const pki = makePki(tmp);
    writeFileSync(path.join(tmp, 'server.pem'), pki.serverCert);
    writeFileSync(path.join(tmp, 'server-key.pem'), pki.serverKey);
    const server = await startNatsServer({ tls: { cert: path.join(tmp, 'server.pem'), key: path.join(tmp, 'server-key.pem') }, users: [{ user: 'relay', password: 'tls-pw-123' }] });
    t.teardown(() => server.cleanup());
    const dest = natsDest([server.url], { tls: { enabled: true, verify: true, ca: pki.caPath }, auth: { username: 'relay', password: 'tls-pw-123' } });
    const s = createNatsSender(dest);
    t.teardown(() => s.close());
    t.equal((await s.send(delivery('tls-1'))).outcome, 'delivered');
    const untrusted = createNatsSender({ ...dest, tls: { enabled: true, verify: true } });
    t.teardown(() => untrusted.close());
    t.equal((await untrusted.send(delivery('tls-2'))).outcome, 'retry', 'an untrusted certificate is not delivered to');

    const ok = await checkNats(dest, { node: 'node-1' });
    // The test CA signs for one day only: the check warns that the certificate expires soon.
    t.same(ok.steps.map((s) => `${s.step}:${s.result}`), ['dns:ok', 'tcp:ok', 'tls:warning', 'auth:ok', 'publish:ok'], JSON.stringify(ok.steps));
    t.ok(ok.diagnosis.includes('the certificate of 127.0.0.1 expires in 0 days'));
    t.match(ok.steps[1].detail, /nats-server 2\.\d+\.\d+, JetStream on, TLS required, auth required/);
    t.match(ok.steps[2].detail, /subject CN=127\.0\.0\.1; issuer CN=Relay Test CA/);
    t.match(ok.ack, /PubAck stream BITBUCKET seq \d+/);
    t.equal(ok.target, `nats tls://127.0.0.1:${server.port} → subject bitbucket.push.PROJ.repo (stream BITBUCKET) (format cloudevents)`);
    t.match(ok.steps[4].detail, /^PubAck stream BITBUCKET seq \d+$/);
    t.ok(ok.ok);

    const noCa = await checkNats({ ...dest, tls: { enabled: true, verify: true } }, { node: 'node-1' });
    t.same(noCa.steps.map((s) => `${s.step}:${s.result}`), ['dns:ok', 'tcp:ok', 'tls:failed', 'auth:skipped', 'publish:skipped']);
    t.match(noCa.diagnosis[0], /untrusted: .*signed by a CA this host does not trust.*add tls\.ca/);

    const badPw = await checkNats({ ...dest, auth: { username: 'relay', password: 'wrong-pw' } }, { node: 'node-1' });
    t.same(badPw.steps.map((s) => `${s.step}:${s.result}`), ['dns:ok', 'tcp:ok', 'tls:warning', 'auth:failed', 'publish:skipped']);
    t.ok(badPw.diagnosis.some((d) => /refused our credentials/.test(d)), badPw.diagnosis.join('; '));
    t.notMatch(JSON.stringify(badPw), /wrong-pw/, 'the password is never printed');

    // Something that accepts but never greets (a hung server, another service): the tcp step says so, in time.
    const mute = net.createServer(() => undefined).listen(0, '127.0.0.1');
    await once(mute, 'listening');
    t.teardown(() => mute.close());
    const silent = await checkNats(natsDest([`nats://127.0.0.1:${(mute.address() as net.AddressInfo).port}`]), { node: 'node-1', timeoutMs: 1000 });
    t.same(silent.steps.map((s) => `${s.step}:${s.result}`), ['dns:ok', 'tcp:failed', 'auth:skipped', 'publish:skipped']);
    t.match(silent.steps[1].detail, /connected, but the server sent no greeting within 1s/);
    t.match(silent.diagnosis[0], /accepted the connection but said nothing/);

    const down = await checkNats({ ...dest, servers: [`tls://127.0.0.1:${await freePort()}`] }, { node: 'node-1', timeoutMs: 1000 });
    t.same(down.steps.map((s) => `${s.step}:${s.result}`), ['dns:ok', 'tcp:failed', 'tls:skipped', 'auth:skipped', 'publish:skipped']);
    t.match(down.diagnosis[0], /nothing is listening on 127\.0\.0\.1:\d+/);
  });
}
