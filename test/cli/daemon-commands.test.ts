// Every operator command against a real `relay daemon` child process (real
// socket, real store, real pushes through the real hook, real receiver), then
// the same commands with the daemon stopped: reads from the store read-only
// and say so; writes only under the store lock.

import t, { type Test } from 'tap';
import { spawn } from 'node:child_process';
import { existsSync, writeFileSync, unlinkSync } from 'node:fs';
import { Ajv } from 'ajv';
import { createGitFixture } from '../helpers/git-fixture.ts';
import { startReceiver, type ReceivedRequest } from '../helpers/receiver.ts';
import { holdStoreLock } from '../helpers/lock-holder.ts';
import { lockPathFor } from '../../src/store/store-lock.ts';
import { eventually, freePort, makeRelayHome, pushChange, relay, relayProcess, startDaemon } from './cli-helpers.ts';
import { STATUS_JSON_SCHEMA, DELIVERY_JSON_SCHEMA, SHOW_JSON_SCHEMA } from './json-schemas.ts';

const SECRETS = ['tok-SECRET-1111', 'hmac-SECRET-2222', 'bearer-SECRET-3333', 'apikey-SECRET-4444'];
const ajv = new Ajv({ allErrors: true, strict: false });

function noSecrets(t: Test, what: string, text: string): void {
  const leaked = SECRETS.filter((s) => text.includes(s));
  t.same(leaked, [], `${what}: no configured secret in the output`);
}

function valid(t: Test, schema: object, data: unknown, what: string): void {
  const validate = ajv.compile(schema);
  const ok = validate(data);
  t.ok(ok, `${what} matches the documented JSON keys${ok ? '' : ': ' + ajv.errorsText(validate.errors)}`);
}

t.test('operator commands with the daemon running, then stopped', async (t) => {
  const rx = await startReceiver({ respond: (r) => (r.url.startsWith('/bad') ? { status: 404, body: 'no such hook' } : { status: 200, body: 'thanks' }) });
  t.teardown(() => rx.close());
  const git = createGitFixture('relay-cli-git-');
  t.teardown(() => git.cleanup());
  const home = makeRelayHome(t);
  const metricsPort = await freePort();
  home.writeConfig(`metrics: { listen: 127.0.0.1:${metricsPort} }
destinations:
  - name: ci
    type: http
    url: ${rx.url}/hook?token=${SECRETS[0]}
    secret: ${SECRETS[1]}
    format: github
    retry: { baseDelay: 50ms, maxDelay: 200ms }
  - name: bad
    type: http
    url: ${rx.url}/bad
    auth: { bearer: ${SECRETS[2]} }
    headers: { X-Api-Key: ${SECRETS[3]} }
`);
  const C = ['--config', home.configFile];
  const push = (message: string): void => pushChange(git, home, message);
  const toCi = (): ReceivedRequest[] => rx.requests.filter((r) => r.url.startsWith('/hook'));

  const daemon = await startDaemon(t, home);
  push('ABC-1 first change');
  await eventually(() => toCi().length >= 1 && rx.requests.some((r) => r.url.startsWith('/bad')), 'the first push at both destinations');

  await t.test('the socket is mode 0660 and the store is locked by the daemon', async (t) => {
    const { statSync, readFileSync } = await import('node:fs');
    t.equal(statSync(home.socket).mode & 0o777, 0o660);
    t.equal(JSON.parse(readFileSync(lockPathFor(home.storePath), 'utf8')).pid, daemon.pid);
  });

  await t.test('status: text, exit 1 for the dead letter, --json keys', async (t) => {
    await eventually(async () => (await relay(['deliveries', ...C, '--failed', '--json'])).stdout.includes('"dead"'), 'the dead letter recorded');
    const r = await relay(['status', ...C]);
    t.equal(r.code, 1, 'a dead letter needs attention');
    t.match(r.stdout, /^bitbucket-relay on test-node: needs attention/);
    t.match(r.stdout, new RegExp(`daemon   running, pid ${daemon.pid}, up `));
    t.match(r.stdout, /^ci +ok +0 /m);
    t.match(r.stdout, /^bad +\S+ +0 .* 1$/m, 'bad shows one dead letter');
    t.match(r.stdout, /- bad: 1 dead letter \(see `relay dlq list --dest bad`/);
    t.notMatch(r.stdout, /\x1b\[/, 'no colour when stdout is not a terminal');
    noSecrets(t, 'status', r.stdout + r.stderr);
    const j = await relay(['status', ...C, '--json']);
    t.equal(j.code, 1);
    const report = JSON.parse(j.stdout);
    valid(t, STATUS_JSON_SCHEMA, report, 'status --json');
    t.equal(report.daemon.running, true);
    t.equal(report.daemon.pid, daemon.pid);
    t.equal(report.healthy, false);
    t.same(report.destinations.map((d: { name: string }) => d.name), ['ci', 'bad']);
    t.equal(report.destinations[1].dead, 1);
    t.equal(report.destinations[0].deliveredLastHour, 1);
    noSecrets(t, 'status --json', j.stdout);
  });

  await t.test('deliveries: filters, table and --json', async (t) => {
    const all = await relay(['deliveries', ...C]);
    t.equal(all.code, 0);
    t.match(all.stdout, /^CREATED +ID +DESTINATION +REPO +LABEL +STATE +TRIES +LAST$/m);
    t.match(all.stdout, /ci +PROJ\/repo +refs\/heads\/main +delivered +1 +HTTP 200/);
    t.match(all.stdout, /bad +PROJ\/repo +refs\/heads\/main +dead +1 +HTTP 404/);
    const failed = JSON.parse((await relay(['deliveries', ...C, '--failed', '--json'])).stdout);
    t.same(failed.map((d: { destination: string }) => d.destination), ['bad']);
    for (const d of failed) valid(t, DELIVERY_JSON_SCHEMA, d, 'deliveries --json item');
    t.same(JSON.parse((await relay(['deliveries', ...C, '--dest', 'ci', '--json'])).stdout).length, 1);
    t.same(JSON.parse((await relay(['deliveries', ...C, '--repo', 'OTHER/x', '--json'])).stdout), []);
    t.equal(JSON.parse((await relay(['deliveries', ...C, '--repo', 'PROJ/repo', '--since', '1h', '--json'])).stdout).length, 2);
    t.equal(JSON.parse((await relay(['deliveries', ...C, '--limit', '1', '--json'])).stdout).length, 1);
    const bad = await relay(['deliveries', ...C, '--since', 'yesterday-ish']);
    t.equal(bad.code, 2, 'a malformed --since is a usage error');
    t.match(bad.stderr, /--since "yesterday-ish" is neither a duration/);
    noSecrets(t, 'deliveries', all.stdout + all.stderr);
  });

  await t.test('show: request headers redacted, body, attempts with response excerpt', async (t) => {
    const [dead] = JSON.parse((await relay(['deliveries', ...C, '--dest', 'bad', '--json'])).stdout);
    const r = await relay(['show', ...C, dead.id.slice(0, 6)]);
    t.equal(r.code, 0);
    t.match(r.stdout, new RegExp(`^delivery +${dead.id}$`, 'm'));
    t.match(r.stdout, /Authorization: \*\*\*/);
    t.match(r.stdout, /X-Api-Key: \*\*\*/);
    t.match(r.stdout, /"specversion": "1.0"/, 'the body, indented JSON');
    t.match(r.stdout, /#1 .* dead +HTTP 404 .*\/bad\n +error: HTTP 404\n +response: no such hook/);
    noSecrets(t, 'show (bad)', r.stdout + r.stderr);
    const [ok] = JSON.parse((await relay(['deliveries', ...C, '--dest', 'ci', '--json'])).stdout);
    const s = await relay(['show', ...C, ok.id, '--json']);
    const shown = JSON.parse(s.stdout);
    valid(t, SHOW_JSON_SCHEMA, shown, 'show --json');
    t.equal(shown.request.headers['X-Hub-Signature-256'], '***', 'the signature is computed at send time and shown redacted');
    t.match(shown.request.url, /token=\*\*\*/);
    t.equal(shown.attempts[0].responseExcerpt, 'thanks');
    noSecrets(t, 'show --json (ci)', s.stdout);
    const missing = await relay(['show', ...C, 'ffffffff']);
    t.equal(missing.code, 1);
    t.match(missing.stderr, /no delivery with id "ffffffff"; list them with `relay deliveries`/);
  });

  await t.test('metrics and healthz are served', async (t) => {
    const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    t.match(text, /relay_deliveries_total\{destination="ci",outcome="delivered"\} [1-9]/);
    t.match(text, /relay_deliveries_total\{destination="bad",outcome="dead"\} 1/);
    t.match(text, /relay_dead_letters\{destination="bad"\} 1/);
    t.match(text, /relay_events_total 1/);
    t.match(text, /relay_attempt_duration_seconds_count\{destination="ci"\} [1-9]/);
    const health = await fetch(`http://127.0.0.1:${metricsPort}/healthz`);
    t.equal(health.status, 200);
    t.equal(await health.text(), 'ok\n');
    noSecrets(t, 'metrics', text);
  });

  await t.test('pause keeps queueing; resume sends in order', async (t) => {
    const p = await relay(['pause', 'ci', ...C]);
    t.equal(p.code, 0);
    t.match(p.stdout, /^paused ci: deliveries keep queueing/);
    t.equal(p.stderr, '', 'no fallback notice: the daemon did it');
    const before = toCi().length;
    push('ABC-2 while paused');
    await eventually(async () => JSON.parse((await relay(['status', ...C, '--json'])).stdout).destinations[0].queued === 1, 'the push queued for ci');
    const st = await relay(['status', ...C]);
    t.match(st.stdout, /^ci +paused +1 /m);
    // A paused destination with a queue is attention (exit 1), with since when and by whom (issue 15 item 7).
    t.match(st.stdout, /^attention:\n(  - .*\n)*  - ci: paused since \S+ \(\S+ ago\) by \S+ with 1 queued/m);
    t.equal(toCi().length, before, 'nothing sent while paused');
    const unknown = await relay(['pause', 'nope', ...C]);
    t.equal(unknown.code, 1);
    t.match(unknown.stderr, /no destination named "nope"; configured: ci, bad/);
    const r = await relay(['resume', 'ci', ...C]);
    t.match(r.stdout, /^resumed ci: sending 1 queued/);
    await eventually(() => toCi().length === before + 1, 'the queued push sent after resume');
  });

  await t.test('redeliver one (same delivery id) and in bulk with --wait', async (t) => {
    const [latest] = JSON.parse((await relay(['deliveries', ...C, '--dest', 'ci', '--limit', '1', '--json'])).stdout);
    const before = toCi().length;
    const r = await relay(['redeliver', latest.id.slice(0, 8), ...C]);
    t.equal(r.code, 0);
    t.match(r.stdout, new RegExp(`^requeued ${latest.id}`));
    await eventually(() => toCi().length === before + 1, 'the redelivery');
    t.equal(toCi().at(-1)!.headers['x-relay-delivery'], latest.id, 'consumers see the same delivery id');
    const bulk = await relay(['redeliver', ...C, '--dest', 'ci', '--delivered', '--since', '1h', '--wait']);
    t.equal(bulk.code, 0, bulk.stderr);
    t.match(bulk.stdout, /^ci created since .*: 2 delivered sent again$/m);
    t.match(bulk.stdout, /^sent: 2 delivered, 0 dead$/m);
    t.notMatch(bulk.stderr, /\[#/, 'no progress bar when stderr is not a terminal');
    const tty = await relay(['redeliver', ...C, '--dest', 'ci', '--delivered', '--since', '1h'], { tty: true });
    t.equal(tty.code, 0, tty.stderr);
    t.match(tty.stderr, /\r\x1b\[2K\[[#-]+\] \d\/2 delivered \d, dead 0/, 'on a terminal it waits by default, with a progress bar');
    t.match(tty.stdout, /^sent: 2 delivered, 0 dead$/m);
    const usage = await relay(['redeliver', ...C, '--dest', 'ci']);
    t.equal(usage.code, 2);
    t.match(usage.stderr, /--pending .*--delivered .*--failed/);
  });

  await t.test('dlq list, retry, drop', async (t) => {
    const list = await relay(['dlq', 'list', ...C]);
    t.equal(list.code, 1, 'dead letters present: exit 1 for scripts');
    t.match(list.stdout, /bad +PROJ\/repo .* dead /);
    t.match(list.stdout, /^2 dead letters; replay with `relay dlq retry`/m, 'both pushes dead-lettered at bad');
    const retry = await relay(['dlq', 'retry', '--dest', 'bad', ...C]);
    t.equal(retry.code, 0);
    t.match(retry.stdout, /^requeued 2 dead letters$/m);
    await eventually(async () => JSON.parse((await relay(['dlq', 'list', ...C, '--json'])).stdout).length === 2, 'the retried letters dead again (404)');
    t.equal((await relay(['dlq', 'drop', ...C])).code, 2, 'drop needs an id, --dest or --all');
    const drop = await relay(['dlq', 'drop', '--dest', 'bad', ...C]);
    t.equal(drop.code, 0);
    t.match(drop.stdout, /^dropped 2 deliveries \(bad: 2\)$/m);
    const empty = await relay(['dlq', 'list', ...C]);
    t.equal(empty.code, 0);
    t.equal(empty.stdout, 'no dead letters\n');
    const st = JSON.parse((await relay(['status', ...C, '--json'])).stdout);
    t.equal(st.healthy, true, 'nothing left that needs attention');
    t.equal((await relay(['status', ...C])).code, 0);
  });

  await t.test('backfill through the daemon socket; a second run queues nothing new', async (t) => {
    const before = toCi().length;
    const r = await relay(['backfill', ...C, '--repo', git.bare, '--ref', 'main', '--dest', 'ci', '--batch', '1']);
    t.equal(r.code, 0, r.stderr);
    t.match(r.stdout, /^backfill: 2 events with 2 commits, 2 deliveries queued in the daemon$/m);
    await eventually(() => toCi().length === before + 2, 'the backfill deliveries');
    const [d] = JSON.parse((await relay(['deliveries', ...C, '--dest', 'ci', '--limit', '1', '--json'])).stdout);
    t.equal(JSON.parse((await relay(['show', ...C, d.id, '--json'])).stdout).delivery.trigger, 'backfill');
    const again = await relay(['backfill', ...C, '--repo', git.bare, '--ref', 'main', '--dest', 'ci', '--batch', '1']);
    t.match(again.stdout, /0 deliveries queued in the daemon; 2 already queued by an earlier run/);
  });

  await t.test('the real binary: exit statuses', async (t) => {
    const ok = await relayProcess(['status', ...C]);
    t.equal(ok.code, 0, ok.stdout + ok.stderr);
    const nope = await relayProcess(['frobnicate']);
    t.equal(nope.code, 2);
  });

  // ---- the daemon stops ---------------------------------------------------
  t.equal(await daemon.stop(), 0, 'the daemon stops cleanly on SIGTERM');
  t.notOk(existsSync(home.socket), 'socket removed at stop');
  t.notOk(existsSync(lockPathFor(home.storePath)), 'store lock released at stop');

  await t.test('read commands with the daemon stopped read the store and say so', async (t) => {
    const down = `daemon is not running (no answer on ${home.socket})`;
    const st = await relay(['status', ...C]);
    t.equal(st.code, 1, 'daemon down needs attention');
    t.match(st.stdout, `daemon   ${down}`);
    t.match(st.stdout, `  - ${down}`);
    t.match(st.stdout, /^ci +ok +0 /m, 'destinations still reported from the store');
    const j = JSON.parse((await relay(['status', ...C, '--json'])).stdout);
    valid(t, STATUS_JSON_SCHEMA, j, 'status --json with the daemon down');
    t.equal(j.daemon.running, false);
    t.equal(j.daemon.message, down);
    const d = await relay(['deliveries', ...C]);
    t.equal(d.code, 0);
    t.equal(d.stderr, `${down}; reading the store directly: ${home.storePath}\n`);
    t.match(d.stdout, /ci +PROJ\/repo/);
    const [one] = JSON.parse((await relay(['deliveries', ...C, '--json'])).stdout);
    const s = await relay(['show', ...C, one.id]);
    t.equal(s.code, 0);
    t.match(s.stdout, /X-Hub-Signature-256: \*\*\*/);
    noSecrets(t, 'show with the daemon down', s.stdout + s.stderr);
    const l = await relay(['dlq', 'list', ...C]);
    t.equal(l.code, 0);
    t.match(l.stderr, down);
  });

  await t.test('write commands with the daemon stopped: under the store lock only', async (t) => {
    const p = await relay(['pause', 'bad', ...C]);
    t.equal(p.code, 0, p.stderr);
    t.match(p.stderr, `changing the store directly: ${home.storePath}`);
    t.notOk(existsSync(lockPathFor(home.storePath)), 'lock released after the command');
    // A live process holding the lock as the daemon, without a socket: a hung or starting daemon.
    const holder = await holdStoreLock(home.storePath, 'daemon');
    t.teardown(() => holder.kill());
    const refused = await relay(['resume', 'bad', ...C]);
    t.equal(refused.code, 4);
    t.match(refused.stderr, `the relay daemon (pid ${holder.pid}) holds store ${home.storePath} but does not answer on ${home.socket}`);
    const read = await relay(['status', ...C, '--json']);
    t.equal(JSON.parse(read.stdout).destinations[1].state, 'paused', 'reads still work and show the offline pause');
    await holder.kill();
  });

  await t.test('the daemon starts again with the offline change in force', async (t) => {
    const again = await startDaemon(t, home);
    const st = JSON.parse((await relay(['status', ...C, '--json'])).stdout);
    t.equal(st.daemon.pid, again.pid);
    t.equal(st.destinations[1].state, 'paused');
    t.equal(await again.stop(), 0);
  });
});
