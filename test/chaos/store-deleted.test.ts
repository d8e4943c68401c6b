// The store deleted under a running daemon (`rm relay.db*`): the daemon
// notices, keeps the spool records it can no longer store safely, says so in
// its log and `relay status`; a restart refuses to begin an empty store
// silently, and `--new-store` relays every waiting push. 0 lost.

import t from 'tap';
import { readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { createRelayFixture, waitUntil } from '../helpers/relay-fixture.ts';
import { startReceiver } from '../helpers/receiver.ts';

t.test('store deleted while running: records stay in the spool, status says so, restart refuses, --new-store relays them all', async (t) => {
  const rx = await startReceiver();
  t.teardown(() => rx.close());
  const fx = createRelayFixture({ prefix: 'relay-chaos-rmstore-' });
  t.teardown(() => fx.cleanup());
  fx.writeConfig({ destinations: [{ name: 'ci', type: 'http', url: `${rx.url}/hook`, format: 'bitbucket-server', retry: { baseDelay: '50ms', maxDelay: '200ms' } }] });
  const daemon = await fx.startDaemon();
  const repo = fx.createRepo('app');
  repo.commit('a.txt', '0\n', 'before');
  repo.push(['origin', 'main']);
  await rx.waitFor(1, 20_000);

  // The admin's mistake: every store file goes, the daemon keeps running.
  const stateDir = path.dirname(fx.storePath);
  for (const f of readdirSync(stateDir)) if (f.startsWith(path.basename(fx.storePath))) rmSync(path.join(stateDir, f));
  await daemon.waitForLog((l) => l.level === 'error' && /store .* was deleted while the daemon ran/.test(String(l.message)), 10_000);
  const pushed = 4;
  for (let i = 1; i <= pushed; i++) {
    repo.commit('a.txt', `${i}\n`, `after ${i}`);
    repo.push(['origin', 'main']);
  }
  const status = fx.relay(['status', '--json']);
  const report = JSON.parse(status.stdout);
  t.equal(status.status, 1, 'status exits 1 (attention)');
  t.match(report.store.problems.join('\n'), /was deleted while the daemon ran: the daemon stopped taking spool records/);
  t.ok(report.attention.some((a: string) => /was deleted while the daemon ran/.test(a)), 'in attention');
  // Give the intake its chance to (wrongly) take them: the records must still be there after two rescans.
  await new Promise((r) => setTimeout(r, 4500));
  t.equal(fx.incoming().filter((n) => n.endsWith('.push')).length, pushed, 'every push after the deletion waits in the spool');
  t.equal(rx.requests.length, 1, 'nothing relayed from a deleted store');
  daemon.child.kill('SIGTERM');
  await daemon.exited;

  // A plain restart refuses to begin an empty store in its place.
  const refused = fx.relay(['daemon']);
  t.not(refused.status, 0, 'restart refused');
  t.match(refused.stderr, /store .* is missing, but a store existed there .*relay daemon --new-store/);
  t.equal(fx.incoming().filter((n) => n.endsWith('.push')).length, pushed, 'records untouched by the refused start');

  // The admin decides: a new store; every waiting push is relayed.
  const again = await fx.startDaemon(['--new-store']);
  await waitUntil(() => rx.requests.length >= 1 + pushed, `${pushed} waiting pushes relayed`, 30_000);
  t.equal(fx.incoming().filter((n) => n.endsWith('.push')).length, 0, 'spool drained');
  t.ok(again.logLines().some((l) => l.level === 'warn' && /--new-store/.test(String(l.message))), 'the new store is logged');
  again.child.kill('SIGTERM');
  await again.exited;
});
