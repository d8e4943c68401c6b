// `relay status` as a screen: a snapshot of the TTY-less text (times, ages
// and sizes normalized) over a store seeded with every destination state,
// the attention rules and exit status, colour only on a terminal, --watch
// refreshing in place on a terminal, --max-backlog-age.

import t from 'tap';
import { mkdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import net from 'node:net';
import { openStore } from '../../src/store/store.ts';
import { enqueue } from '../../src/store/enqueue.ts';
import { applyQueueWrites, type AttemptRecord } from '../../src/store/queue.ts';
import { deliveryIdFor } from '../../src/route/delivery-id.ts';
import { pauseDestination } from '../../src/store/operator.ts';
import { items, makeEvent } from '../deliver/fixtures.ts';
import { makeRelayHome, normalizeOutput, relay, type RelayHome } from './cli-helpers.ts';

function attempt(id: string, dest: string, time: number, outcome: AttemptRecord['outcome'], status: number | null, error: string | null): AttemptRecord {
  return { deliveryId: id, destination: dest, time, outcome, status, latencyMs: 40, error, responseExcerpt: status === 404 ? 'no such hook' : null, location: null, detail: null, target: `https://${dest}.example/hook` };
}

/** ci: one delivered, one dead; jira: circuit open, retrying; old: removed from the config with one queued; ops: paused. */
function seed(home: RelayHome, now: number): void {
  home.writeConfig(`destinations:
  - { name: ci, type: http, url: "https://ci.example/hook?token=status-SECRET-1" }
  - { name: jira, type: http, url: https://jira.example/hook }
  - { name: ops, type: http, url: https://ops.example/hook }
  - { name: archive, type: file, path: ${join(home.dir, 'events.jsonl')} }
`);
  mkdirSync(join(home.dir, 'state'), { recursive: true });
  const store = openStore(home.storePath);
  enqueue(store, items([makeEvent('e1'), makeEvent('e2')], ['ci']), now - 3_600_000 / 2);
  enqueue(store, items([makeEvent('e3')], ['jira', 'old', 'ops']), now - 12 * 60_000);
  const id = (e: string, d: string) => deliveryIdFor(e, d, 0);
  applyQueueWrites(store, [
    { kind: 'attempt', attempt: attempt(id('e1', 'ci'), 'ci', now - 20_000, 'delivered', 200, null), attempts: 1, firstAttemptAt: now - 20_000, nextAttemptAt: 0 },
    { kind: 'attempt', attempt: attempt(id('e2', 'ci'), 'ci', now - 15_000, 'dead', 404, 'HTTP 404'), attempts: 1, firstAttemptAt: now - 15_000, nextAttemptAt: 0 },
    { kind: 'attempt', attempt: attempt(id('e3', 'jira'), 'jira', now - 5000, 'retry', null, 'ECONNREFUSED: connect ECONNREFUSED 10.0.0.7:443'), attempts: 6, firstAttemptAt: now - 600_000, nextAttemptAt: now + 60_000 },
    { kind: 'health', destination: 'ci', health: { circuitOpen: false, consecutiveFailures: 0, circuitOpenedAt: null, nextProbeAt: null, lastSuccessAt: now - 15_000, lastError: null, lastErrorAt: null } },
    { kind: 'health', destination: 'jira', health: { circuitOpen: true, consecutiveFailures: 6, circuitOpenedAt: now - 60_000, nextProbeAt: now + 60_000, lastSuccessAt: null, lastError: 'ECONNREFUSED: connect ECONNREFUSED 10.0.0.7:443', lastErrorAt: now - 5000 } },
  ]);
  pauseDestination(store, 'ops', 'alice', now - 2 * 3_600_000);
  store.close();
  // Spool: one record waiting 10 minutes, one quarantined.
  const old = join(home.spoolDir, 'incoming', '1700000000.1234.push');
  writeFileSync(old, 'x');
  utimesSync(old, new Date(now - 600_000), new Date(now - 600_000));
  mkdirSync(join(home.spoolDir, 'quarantine'), { recursive: true });
  writeFileSync(join(home.spoolDir, 'quarantine', 'bad.push'), 'x');
}

const SNAPSHOT = `bitbucket-relay on test-node: needs attention
daemon   daemon is not running (no answer on <home>/run/relay.sock)
config   <home>/relay.yaml
intake   <home>/spool: backlog 1, oldest <dur>, quarantined 1
store    <home>/state/relay.db: <size> of <size>
wiring   file hooks: not counted (bitbucket.home not set)
         hook script: not checked (needs bitbucket.api and hooks.autoInstall)
         reconciliation: on

DESTINATION  STATE         QUEUED  OLDEST  LAST SUCCESS  LAST ERROR  OK/1H  FAIL/1H  DEAD
ci           ok                 0  -       <age> ago       HTTP 404 (<age> ago)  1        1     1
jira         circuit-open       1  <dur>  -             ECONNREFUSED: connect ECONNREFUSED 10.0… (<age> ago)      0        1     0
ops          paused             1  <dur>  -             -  0        0     0
archive      ok                 0  -       -             -  0        0     0
old          removed            1  <dur>  -             -  0        0     0

attention:
  - daemon is not running (no answer on <home>/run/relay.sock)
  - spool backlog: 1 record, oldest <dur> (over <dur>): start the daemon
  - 1 spool record quarantined in <home>/spool/quarantine (see \`relay quarantine list\`; fix the cause and \`relay quarantine retry\`, or \`drop\`)
  - ci: 1 dead letter (see \`relay dlq list --dest ci\`, then \`relay dlq retry\` or \`drop\`)
  - jira: circuit open after 6 failures, next probe in <dur>; last error: ECONNREFUSED: connect ECONNREFUSED 10.0.0.7:443 (check with \`relay test jira\`)
  - ops: paused since <time> (<age> ago) by alice with 1 queued (\`relay resume ops\`)
  - old: removed from the config with 1 queued; add it back, or drop them with \`relay dlq drop --dest old\`
`;

t.test('snapshot of the status screen (no TTY, daemon down)', async (t) => {
  const home = makeRelayHome(t);
  seed(home, Date.now());
  const r = await relay(['status', '--config', home.configFile], { env: { TZ: 'UTC' } });
  t.equal(r.code, 1);
  t.equal(r.stderr, '');
  t.notMatch(r.stdout, /\x1b\[/, 'no colour without a terminal');
  t.notOk(r.stdout.includes('status-SECRET-1'));
  // Ages change the column widths; the snapshot compares content, alignment is checked below.
  const squeeze = (s: string): string => s.replace(/ {2,}/g, '  ');
  t.equal(squeeze(normalizeOutput(r.stdout, home)), squeeze(SNAPSHOT));
  const lines = r.stdout.split('\n');
  const header = lines.find((l) => l.startsWith('DESTINATION'))!;
  const rows = lines.filter((l) => /^(ci|jira|ops|archive|old) /.test(l));
  t.equal(rows.length, 5);
  for (const col of ['STATE', 'OLDEST', 'LAST SUCCESS', 'LAST ERROR']) {
    const at = header.indexOf(col);
    t.ok(rows.every((row) => row[at - 1] === ' ' && row[at] !== ' '), `column ${col} is aligned`);
  }
  const dead = header.indexOf('DEAD') + 'DEAD'.length;
  t.ok(rows.every((row) => row.length === dead), 'numbers align on the right');
});

t.test('exit status and attention follow the facts; --max-backlog-age', async (t) => {
  const home = makeRelayHome(t);
  seed(home, Date.now());
  const j = JSON.parse((await relay(['status', '--config', home.configFile, '--json'])).stdout);
  t.same(j.destinations.map((d: { name: string; state: string }) => `${d.name}:${d.state}`), ['ci:ok', 'jira:circuit-open', 'ops:paused', 'archive:ok', 'old:removed']);
  t.equal(j.intake.backlog, 1);
  t.ok(j.intake.oldestAgeMs >= 600_000);
  t.equal(j.destinations[1].nextProbeAt !== null, true);
  t.match(j.destinations[0], { lastError: 'HTTP 404', lastSuccessAt: String }, 'last success is the last 2xx; a 4xx dead letter is an error');
  t.equal(Date.parse(j.destinations[0].lastErrorAt) > Date.parse(j.destinations[0].lastSuccessAt), true);
  t.equal(j.attention.length, 7, 'a paused destination with a queue needs attention (issue 15 item 7)');
  t.match(j.destinations[2], { state: 'paused', pausedBy: 'alice', pausedAt: String });
  const quiet = JSON.parse((await relay(['status', '--config', home.configFile, '--json', '--no-warn-paused'])).stdout);
  t.equal(quiet.attention.length, 6, '--no-warn-paused: only a note');
  t.match(quiet.notes.join('\n'), /ops: paused since .* by alice with 1 queued/);
  const lax = JSON.parse((await relay(['status', '--config', home.configFile, '--json', '--max-backlog-age', '1h'])).stdout);
  t.notOk(lax.attention.some((a: string) => a.startsWith('spool backlog')), 'a 10-minute backlog is fine under a 1h threshold');
  t.equal((await relay(['status', '--config', home.configFile, '--max-backlog-age', 'soon'])).code, 2);
});

t.test('a full store needs attention', async (t) => {
  const home = makeRelayHome(t);
  home.writeConfig('destinations:\n  - { name: ci, type: http, url: https://ci.example/hook }\n');
  // The helper writes `store: { path }`; bound it at the smallest size allowed.
  writeFileSync(home.configFile, readFileSync(home.configFile, 'utf8').replace(`store: { path: ${home.storePath} }`, `store: { path: ${home.storePath}, maxBytes: 1MiB }`));
  mkdirSync(join(home.dir, 'state'), { recursive: true });
  const store = openStore(home.storePath);
  const event = makeEvent('big');
  enqueue(store, [{ event, deliveries: [{ destination: 'ci', requests: [{ headers: {}, body: Buffer.alloc(1536 * 1024, 120), signatureHeader: null, label: 'push' }] }] }]);
  store.close();
  const r = await relay(['status', '--config', home.configFile]);
  t.equal(r.code, 1);
  t.match(r.stdout, /store +\S+: [\d.]+ MiB of 1\.0 MiB \(full: intake paused\)/);
  t.match(r.stdout, /- store is full \([\d.]+ MiB of 1\.0 MiB\): intake is paused and pushes wait in the spool; drop dead letters \(relay dlq drop\), lower store\.log\.maxAge or raise store\.maxBytes/);
});

t.test('a daemon that accepts but does not answer counts as down (--timeout)', async (t) => {
  const home = makeRelayHome(t);
  seed(home, Date.now());
  mkdirSync(join(home.dir, 'run'), { recursive: true });
  const conns = new Set<net.Socket>();
  const hung = net.createServer((c) => void conns.add(c));
  await new Promise<void>((r) => hung.listen(home.socket, r));
  t.teardown(() => {
    for (const c of conns) c.destroy();
    return new Promise<void>((r) => hung.close(() => r()));
  });
  const started = Date.now();
  const r = await relay(['status', '--config', home.configFile, '--timeout', '300ms', '--json']);
  // Well under the 10 s default, with room for a slow CLI start on a loaded machine.
  t.ok(Date.now() - started < 8000, `gives up after the --timeout, not the 10 s default (${Date.now() - started} ms)`);
  t.equal(r.code, 1);
  const j = JSON.parse(r.stdout);
  t.equal(j.daemon.running, false);
  t.match(j.daemon.message, /the daemon did not answer "status" within 300ms on .*relay\.sock \(busy or hung\? check its log\)/);
  t.same(j.destinations.map((d: { name: string }) => d.name), ['ci', 'jira', 'ops', 'archive', 'old'], 'the report still comes from the store');
});

t.test('nothing readable: exit 4', async (t) => {
  const home = makeRelayHome(t);
  // No daemon, no store, no spool where the config points.
  writeFileSync(home.configFile, `spool: { dir: ${join(home.dir, 'nope')} }\nstore: { path: ${join(home.dir, 'nope.db')} }\nadmin: { socket: ${join(home.dir, 'nope.sock')} }\n`);
  const r = await relay(['status', '--config', home.configFile]);
  t.equal(r.code, 4);
  t.match(r.stdout, /store .* does not exist; start the daemon once to create it/);
});

t.test('colour only on a terminal; --watch refreshes in place there', async (t) => {
  const home = makeRelayHome(t);
  seed(home, Date.now());
  const tty = await relay(['status', '--config', home.configFile], { tty: true });
  t.match(tty.stdout, /\x1b\[31mneeds attention\x1b\[39m/, 'red verdict on a terminal');
  t.match(tty.stdout, /\x1b\[33mretrying|\x1b\[31mcircuit-open/);
  const noColor = await relay(['status', '--config', home.configFile], { tty: true, env: { NO_COLOR: '1' } });
  t.notMatch(noColor.stdout, /\x1b\[3\dm/, 'NO_COLOR is honoured');
  const started = Date.now();
  const w = await relay(['status', '--config', home.configFile, '--watch', '--interval', '200ms', '--count', '3'], { tty: true });
  t.equal(w.code, 1);
  t.equal(w.stdout.split('\x1b[H\x1b[2J').length - 1, 3, 'three refreshes, each clearing the screen');
  t.match(w.stdout, /every 200ms; Ctrl-C to stop/);
  t.ok(Date.now() - started >= 400, 'waits the interval between refreshes');
  const plain = await relay(['status', '--config', home.configFile, '--watch', '--interval', '100ms', '--count', '2']);
  t.notMatch(plain.stdout, /\x1b\[/, 'no escape sequences in a pipe');
  t.equal(plain.stdout.split('bitbucket-relay on test-node').length - 1, 2, 'two reports, one after the other');
  const json = await relay(['status', '--config', home.configFile, '--watch', '--json', '--interval', '100ms', '--count', '2']);
  t.equal(json.stdout.trim().split('\n').length, 2, '--watch --json: one JSON document per line');
  t.equal(JSON.parse(json.stdout.trim().split('\n')[1]).reportVersion, 1);
});
