// A daemon that accepts connections but never answers (SIGSTOP): read
// commands fall back to the store after --timeout; a write command that gave
// up says it was not applied, and indeed is not when the daemon wakes up
// (the request carries a deadline the daemon checks). Issue 15 item 3.

import t from 'tap';
import { createGitFixture } from '../helpers/git-fixture.ts';
import { startReceiver } from '../helpers/receiver.ts';
import { eventually, makeRelayHome, pushChange, relayProcess, startDaemon } from './cli-helpers.ts';

t.test('a SIGSTOPped daemon: reads answer from the store, a write that gave up never takes effect', async (t) => {
  const rx = await startReceiver({ respond: () => ({ status: 200, body: 'ok' }) });
  t.teardown(() => rx.close());
  const git = createGitFixture('relay-hung-git-');
  t.teardown(() => git.cleanup());
  const home = makeRelayHome(t, 'relay-hung-');
  home.writeConfig(`destinations:
  - name: ci
    type: http
    url: ${rx.url}/hook
    format: github
`);
  const C = ['--config', home.configFile];
  const daemon = await startDaemon(t, home);
  pushChange(git, home, 'first', { content: 'one' });
  await eventually(async () => {
    const r = await relayProcess(['deliveries', ...C, '--json']);
    return r.code === 0 && (JSON.parse(r.stdout) as { state: string }[]).some((d) => d.state === 'delivered');
  }, 'the push delivered and recorded', 30_000);

  daemon.signal('SIGSTOP');
  t.teardown(() => daemon.signal('SIGCONT'));

  const started = Date.now();
  const list = await relayProcess(['deliveries', ...C, '--timeout', '1s', '--json']);
  t.equal(list.code, 0, list.stderr);
  t.match(list.stderr, 'did not answer "deliveries" within 1s');
  t.match(list.stderr, `reading the store directly: ${home.storePath}`);
  const rows = JSON.parse(list.stdout) as { destination: string; state: string }[];
  t.same(rows.map((r) => [r.destination, r.state]), [['ci', 'delivered']], 'the store answered');
  t.ok(Date.now() - started < 25_000, 'no 30 s wait');

  const dead = await relayProcess(['dlq', 'list', ...C, '--timeout', '1s']);
  t.equal(dead.code, 0, dead.stderr);
  t.match(dead.stderr, 'reading the store directly');

  const pause = await relayProcess(['pause', 'ci', ...C, '--timeout', '1s']);
  t.equal(pause.code, 4, 'the write gave up');
  t.match(pause.stderr, 'did not answer "pause" within 1s');
  t.match(pause.stderr, 'not applied: the request expired');

  daemon.signal('SIGCONT');
  await daemon.waitForLog((l) => l.message === 'control request expired before it was read; not applied' && l.op === 'pause', 'the expired pause dropped', 20_000);
  const status = await relayProcess(['status', ...C, '--json']);
  const report = JSON.parse(status.stdout) as { daemon: { running: boolean }; destinations: { name: string; state: string }[] };
  t.ok(report.daemon.running, 'the daemon answers again');
  t.equal(report.destinations.find((d) => d.name === 'ci')?.state, 'ok', 'the pause that gave up was not applied later');

  const bad = await relayProcess(['deliveries', ...C, '--timeout', 'soon']);
  t.equal(bad.code, 2);
  t.match(bad.stderr, '--timeout "soon" is not a duration');
});
