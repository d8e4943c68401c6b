// `relay show` prints got's per-phase timings of a real attempt: a real
// daemon delivers a real push to a real HTTPS receiver on 127.0.0.1 (a
// private CA made with openssl, reached as "localhost" so DNS is a real
// lookup), and the attempts log keeps DNS / TCP / TLS / first byte / total.

import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import { createGitFixture } from '../helpers/git-fixture.ts';
import { startReceiver } from '../helpers/receiver.ts';
import { makePki } from '../deliver/tls-certs.ts';
import { eventually, makeRelayHome, pushChange, relay, startDaemon } from './cli-helpers.ts';
import { SHOW_JSON_SCHEMA } from './json-schemas.ts';

const ANSWER_DELAY_MS = 120;

t.test('relay show: per-phase timings of an HTTPS attempt, text and --json', async (t) => {
  const pkiDir = mkdtempSync(join(tmpdir(), 'relay-show-pki-'));
  t.teardown(() => rmSync(pkiDir, { recursive: true, force: true }));
  const pki = makePki(pkiDir);
  // The first answer waits, so "first byte" has a floor the test can check.
  let first = true;
  const rx = await startReceiver({
    tls: { key: pki.serverKey, cert: pki.serverCert },
    respond: () => {
      const plan = { status: 200, body: 'thanks', delayMs: first ? ANSWER_DELAY_MS : 0 };
      first = false;
      return plan;
    },
  });
  t.teardown(() => rx.close());
  const git = createGitFixture('relay-show-timings-git-');
  t.teardown(() => git.cleanup());
  const home = makeRelayHome(t);
  home.writeConfig(`destinations:
  - name: ci
    type: http
    url: https://localhost:${rx.port}/hook
    format: github
    tls: { ca: ${pki.caPath} }
`);
  const C = ['--config', home.configFile];
  const push = (message: string): void => pushChange(git, home, message);
  await startDaemon(t, home);
  push('ABC-1 first change');
  await eventually(() => rx.requests.length >= 1, 'the first push delivered');
  push('ABC-2 second change');
  await eventually(() => rx.requests.length >= 2, 'the second push delivered');

  const listed = async (): Promise<{ id: string; state: string; createdAt: string }[]> => JSON.parse((await relay(['deliveries', ...C, '--json'])).stdout);
  await eventually(async () => (await listed()).filter((d) => d.state === 'delivered').length === 2, 'both attempts recorded');
  const [older, newer] = (await listed()).sort((a, b) => a.createdAt.localeCompare(b.createdAt));

  const shown = JSON.parse((await relay(['show', ...C, older.id, '--json'])).stdout);
  const validate = new Ajv({ strict: false }).compile(SHOW_JSON_SCHEMA);
  t.ok(validate(shown), `show --json matches the documented keys ${JSON.stringify(validate.errors)}`);
  const timings = shown.attempts[0].timings;
  t.equal(timings.reused, false, 'the first attempt opened a new connection');
  for (const k of ['dnsMs', 'tcpMs', 'tlsMs']) t.type(timings[k], 'number', `${k} measured on a new HTTPS connection`);
  t.ok(timings.firstByteMs >= ANSWER_DELAY_MS - 5, `first byte (${timings.firstByteMs} ms) includes the receiver's ${ANSWER_DELAY_MS} ms wait`);
  t.ok(timings.totalMs >= timings.firstByteMs + timings.tlsMs, 'total covers the TLS handshake and the wait');
  t.ok(timings.totalMs <= shown.attempts[0].latencyMs + 2, 'total within the attempt latency');

  const text = (await relay(['show', ...C, older.id])).stdout;
  t.match(text, new RegExp(`timings: dns ${timings.dnsMs}ms · tcp ${timings.tcpMs}ms · tls ${timings.tlsMs}ms · first byte ${timings.firstByteMs}ms · total ${timings.totalMs}ms`), 'the text form prints every phase');

  const second = JSON.parse((await relay(['show', ...C, newer.id, '--json'])).stdout).attempts[0].timings;
  t.type(second.firstByteMs, 'number');
  if (second.reused) t.same([second.dnsMs, second.tcpMs, second.tlsMs], [null, null, null], 'a reused keep-alive connection has no connection phases');
  else t.type(second.tlsMs, 'number', 'a new connection has a TLS phase');
  const text2 = (await relay(['show', ...C, newer.id])).stdout;
  t.match(text2, second.reused ? /timings: reused connection · first byte \d+ms · total \d+ms/ : /timings: dns \d+ms · tcp \d+ms · tls \d+ms/);
});
