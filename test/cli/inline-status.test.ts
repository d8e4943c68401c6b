// Inline destinations (file, log) count like any kind in `relay status`
// (issue 15 item 11): each event written is an attempt in the log, so OK/1H,
// LAST SUCCESS, FAIL/1H and LAST ERROR follow the writes — a real daemon,
// real pushes through the hook.

import t from 'tap';
import path from 'node:path';
import { createRelayFixture, readJsonLines, waitUntil } from '../helpers/relay-fixture.ts';

type Dest = { name: string; state: string; deliveredLastHour: number; failedLastHour: number; lastSuccessAt: string | null; lastError: string | null };

t.test('log and file destinations: writes counted, last success and last error shown', async (t) => {
  const fx = createRelayFixture({ prefix: 'relay-inline-status-' });
  t.teardown(() => fx.cleanup());
  const archive = path.join(fx.root, 'events.jsonl');
  const archiveDest = { name: 'archive', type: 'file', path: archive };
  fx.writeConfig({ destinations: [archiveDest, { name: 'audit', type: 'log' }] });
  const status = (): Dest[] => JSON.parse(fx.relay(['status', '--json']).stdout).destinations;

  const before = status();
  t.match(before.find((d) => d.name === 'audit'), { deliveredLastHour: 0, lastSuccessAt: null }, 'nothing written yet');

  const daemon = await fx.startDaemon();
  const repo = fx.createRepo('app');
  for (let i = 1; i <= 2; i++) {
    repo.commit('a.txt', `v${i}\n`, `change ${i}`);
    repo.push(['origin', 'main']);
  }
  await waitUntil(() => readJsonLines(archive).length === 2, 'two archived events');
  await waitUntil(() => fx.incoming().length === 0, 'spool drained');
  const after = status();
  for (const name of ['audit', 'archive']) {
    const d = after.find((x) => x.name === name)!;
    t.match(d, { state: 'ok', deliveredLastHour: 2, failedLastHour: 0, lastError: null }, `${name}: two writes in the last hour`);
    t.ok(d.lastSuccessAt && Date.parse(d.lastSuccessAt) > Date.now() - 3_600_000, `${name}: a last success`);
  }
  const text = fx.relay(['status']).stdout;
  t.match(text, /^audit +ok +0 +- +\S+ ago +- +2 +0 +0$/m, 'the screen shows the log destination\'s writes');

  // A write that fails (ENOSPC on /dev/full) is a failed attempt with its error; the record stays in the spool.
  daemon.child.kill('SIGTERM');
  await daemon.exited;
  fx.writeConfig({ destinations: [archiveDest, { name: 'audit', type: 'log' }, { name: 'full', type: 'file', path: '/dev/full' }] });
  await fx.startDaemon();
  repo.commit('a.txt', 'v3\n', 'change 3');
  repo.push(['origin', 'main']);
  const full = await waitUntil(() => {
    const d = status().find((x) => x.name === 'full');
    return d && d.failedLastHour > 0 ? d : null;
  }, 'a failed write to /dev/full in status');
  t.match(full, { deliveredLastHour: 0, lastSuccessAt: null, lastError: /ENOSPC/ }, 'the failure and its error');
  t.equal(fx.incoming().length, 1, 'the push waits in the spool, not lost');
});
