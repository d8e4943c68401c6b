// `relay config check`: the bad-config matrix (each message names
// file:line:column), PEM and metrics.listen checks the loader cannot make,
// the redacted effective config, --json, and the daemon refusing the same
// file with the same messages.

import t from 'tap';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makePki } from '../deliver/tls-certs.ts';
import { makeRelayHome, relay, relayProcess } from './cli-helpers.ts';

t.test('bad configs: exit 3, every message with file:line:column', async (t) => {
  const home = makeRelayHome(t);
  const caFile = join(home.dir, 'not-a-ca.pem');
  writeFileSync(caFile, 'this is not a certificate\n');
  // [name, yaml, expected message fragments as `line:column: path: message`, env]
  const cases: [string, string, string[], NodeJS.ProcessEnv?][] = [
    ['unknown key', `destinations:\n  - name: ci\n    type: http\n    url: https://ci.example/hook\n    retyr: { baseDelay: 1s }\n`,
      ['5:5: destinations[0].retyr: unknown key "retyr" (did you mean "retry"?)']],
    ['wrong type', `intake:\n  concurrency: lots\n`, ['2:16: intake.concurrency: must be integer, not string "lots"']],
    ['unresolved ${ENV}', `destinations:\n  - name: ci\n    type: http\n    url: https://ci.example/hook\n    secret: \${CI_SECRET}\n`,
      ['5:13: destinations[0].secret: ${CI_SECRET} is not set in the environment']],
    ['unreadable CA file', `destinations:\n  - name: ci\n    type: http\n    url: https://ci.example/hook\n    tls: { ca: /nonexistent/ca.pem }\n`,
      ['5:16: destinations[0].tls.ca: cannot read /nonexistent/ca.pem (ENOENT)']],
    ['duplicate names', `destinations:\n  - { name: ci, type: log }\n  - { name: ci, type: log }\n`,
      ['3:13: destinations[1].name: duplicate destination name "ci" (also destinations[0])']],
    ['CA file that is not PEM', `destinations:\n  - name: ci\n    type: http\n    url: https://ci.example/hook\n    tls:\n      ca: ${caFile}\n`,
      [`6:11: destinations[0].tls.ca: ${caFile} holds no PEM certificate`]],
    ['metrics.listen not host:port', `metrics: { listen: "9464" }\n`, ['1:20: metrics.listen: "9464" is not host:port']],
    ['several at once', `intake:\n  concurrency: lots\nmetricz: {}\n`, ['2:16: intake.concurrency:', '3:1: metricz: unknown key "metricz" (did you mean "metrics"?)']],
  ];
  for (const [name, yaml, expected, env] of cases) {
    const file = join(home.dir, `${name.replace(/\W+/g, '-')}.yaml`);
    writeFileSync(file, yaml);
    const r = await relay(['config', 'check', file], { env });
    t.equal(r.code, 3, `${name}: exit 3`);
    for (const e of expected) t.ok(r.stderr.includes(`config: ${file}:${e}`), `${name}: names file:${e.split(': ')[0]}`, { stderr: r.stderr });
    t.match(r.stderr, /the daemon refuses it|the daemon would start with it, but what is named above would not work/, `${name}: says what it means`);
    t.equal(r.stdout, '', `${name}: nothing on stdout`);
    const j = await relay(['config', 'check', file, '--json'], { env });
    t.equal(j.code, 3);
    const out = JSON.parse(j.stdout);
    t.equal(out.valid, false);
    t.ok(out.problems.every((p: { file: string; line: number }) => p.file === file && Number.isInteger(p.line)), `${name}: --json problems carry file and line`);
  }
});

t.test('a client key that does not belong to its certificate', async (t) => {
  const home = makeRelayHome(t);
  const a = makePki(join(home.dir));
  const other = join(home.dir, 'other');
  (await import('node:fs')).mkdirSync(other);
  const b = makePki(other);
  const file = join(home.dir, 'pair.yaml');
  writeFileSync(file, `destinations:\n  - name: ci\n    type: http\n    url: https://ci.example/hook\n    tls:\n      cert: ${a.clientCertPath}\n      key: ${b.clientKeyPath}\n`);
  const r = await relay(['config', 'check', file]);
  t.equal(r.code, 3);
  t.match(r.stderr, `config: ${file}:7:12: destinations[0].tls.key: ${b.clientKeyPath} is not the key of the certificate in ${a.clientCertPath}`);
});

t.test('a valid config: effective config printed, secrets redacted', async (t) => {
  const home = makeRelayHome(t);
  home.writeConfig(`destinations:
  - name: ci
    type: http
    url: https://user:pw-SECRET-1@ci.example/hook?token=tok-SECRET-2
    secret: \${CI_SECRET}
    auth: { bearer: bearer-SECRET-3 }
    format: github
  - { name: archive, type: file, path: events.jsonl }
`);
  const env = { CI_SECRET: 'hmac-SECRET-4' };
  const r = await relay(['config', 'check', '--config', home.configFile], { env });
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, `config OK: ${home.configFile}\n  2 destinations: ci (http, github), archive (file)\n`);
  t.match(r.stdout, /# effective config/);
  t.match(r.stdout, /secret: "\*\*\*"|secret: \*\*\*/);
  t.match(r.stdout, /url: https:\/\/\*\*\*:\*\*\*@ci\.example\/hook\?token=\*\*\*/);
  t.match(r.stdout, `path: ${join(home.dir, 'events.jsonl')}`, 'relative paths shown resolved');
  for (const s of ['pw-SECRET-1', 'tok-SECRET-2', 'bearer-SECRET-3', 'hmac-SECRET-4']) t.notOk(r.stdout.includes(s), `${s} not printed`);
  const q = await relay(['config', 'check', home.configFile, '--quiet'], { env });
  t.notMatch(q.stdout, /effective config/);
  const j = JSON.parse((await relay(['config', 'check', home.configFile, '--json'], { env })).stdout);
  t.equal(j.valid, true);
  t.same(j.problems, []);
  t.equal(j.config.destinations[0].secret, '***');
  const missing = await relay(['config', 'check', join(home.dir, 'nope.yaml')]);
  t.equal(missing.code, 3);
  t.match(missing.stderr, /file not found; create it from config\/relay\.example\.yaml/);
  t.equal((await relay(['config', 'frob'])).code, 2);
});

t.test('the daemon refuses the same file with the same messages', async (t) => {
  const home = makeRelayHome(t);
  const file = join(home.dir, 'bad.yaml');
  writeFileSync(file, `intake:\n  concurrency: lots\n`);
  const r = await relayProcess(['daemon', '--config', file]);
  t.equal(r.code, 3);
  t.match(r.stderr, `config: ${file}:2:16: intake.concurrency: must be integer, not string "lots"`);
  t.match(r.stderr, `check it with \`relay config check ${file}\``);
  const c = await relayProcess(['config', 'check', file]);
  t.equal(c.code, 3);
  t.match(c.stderr, `config: ${file}:2:16: intake.concurrency: must be integer, not string "lots"`);
});
