// Crash safety with a real process and a real SIGKILL: a child enqueues a
// stream of pushes and dispatches them; we read the store read-only while it
// writes, kill it mid-stream, reopen, restart delivery, and check that every
// committed event arrives, per-repository order holds, and duplicates come
// only from work in flight at the kill.

import t from 'tap';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openStore } from '../../src/store/store.ts';
import { startDispatcher } from '../../src/deliver/dispatcher.ts';
import { destinationStatus } from '../../src/store/queries.ts';
import { startReceiver, type ReceivedRequest } from '../helpers/receiver.ts';
import { httpDest, tempDir, waitUntil } from './fixtures.ts';

const child = fileURLToPath(new URL('./crash-child.ts', import.meta.url));
const indexOf = (r: ReceivedRequest): number => Number(JSON.parse(r.body.toString()).event.slice(3));

t.test('SIGKILL during a stream of pushes loses nothing; order per repository kept', async (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'relay.db');
  const rx = await startReceiver({ respond: () => ({ delayMs: 5 }) });
  t.teardown(() => rx.close());

  const proc = spawn(process.execPath, [child, path, rx.url], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.teardown(() => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
  });
  let committed = 0;
  let buf = '';
  proc.stdout.on('data', (c: Buffer) => {
    buf += c.toString();
    const lines = buf.split('\n');
    buf = lines.pop()!;
    for (const l of lines) if (l.startsWith('C ')) committed = Number(l.slice(2));
  });

  // Read-only access while the child writes (WAL): counts only grow.
  await waitUntil(() => committed >= 100, 'the child to commit', 15_000);
  const reader = openStore(path, { readOnly: true });
  const count = () => (reader.db.prepare('SELECT count(*) AS n FROM events').get() as { n: number }).n;
  const first = count();
  await waitUntil(() => committed >= 400 && rx.requests.length >= 100, 'a stream under way', 15_000);
  const second = count();
  t.ok(first >= 100 && second > first, `read-only reader sees the writer progress (${first} → ${second})`);
  reader.close();

  proc.kill('SIGKILL');
  await new Promise((r) => proc.once('exit', r));
  t.equal(proc.signalCode, 'SIGKILL');
  const killedAt = rx.requests.length;
  const acknowledged = committed;

  const store = openStore(path);
  t.teardown(() => store.close());
  t.equal((store.db.prepare('PRAGMA integrity_check').get() as { integrity_check: string }).integrity_check, 'ok');
  const stored = (store.db.prepare('SELECT count(*) AS n FROM events').get() as { n: number }).n;
  t.ok(stored >= acknowledged, `every acknowledged batch is stored (${stored} ≥ ${acknowledged})`);
  const inFlightAtCrash = (store.db.prepare(`SELECT count(*) AS n FROM deliveries WHERE state = 'in_flight'`).get() as { n: number }).n;

  const dispatcher = startDispatcher({ store, destinations: [httpDest('ci', rx.url, { concurrency: 8 })], env: {} });
  t.teardown(() => dispatcher.stop());
  t.equal((store.db.prepare(`SELECT count(*) AS n FROM deliveries WHERE state = 'in_flight'`).get() as { n: number }).n, 0, `in_flight rows reset at start (${inFlightAtCrash} were left)`);
  await waitUntil(() => destinationStatus(store, Date.now(), ['ci'])[0].queued === 0, 'everything delivered', 30_000);
  await dispatcher.stop();

  const all = rx.requests.map(indexOf);
  const seen = new Set(all);
  const missing = Array.from({ length: stored }, (_, i) => i).filter((i) => !seen.has(i));
  t.same(missing, [], `all ${stored} stored events delivered at least once`);

  const before = new Set(all.slice(0, killedAt));
  const counts = new Map<number, number>();
  for (const i of all) counts.set(i, (counts.get(i) ?? 0) + 1);
  const duplicates = [...counts].filter(([, n]) => n > 1).map(([i]) => i);
  t.ok(duplicates.every((i) => before.has(i)), `duplicates (${duplicates.length}) are only deliveries already sent before the kill`);
  t.ok(duplicates.every((i) => counts.get(i) === 2), 'each sent at most twice');
  t.ok(duplicates.length <= 3 * 4 + 200, 'duplicates bounded by in-flight work and the last unflushed bookkeeping');

  // Per repository, both runs send in increasing order.
  for (const repo of [0, 1, 2]) {
    for (const [name, part] of [['before', all.slice(0, killedAt)], ['after', all.slice(killedAt)]] as const) {
      const seq = part.filter((i) => i % 3 === repo);
      t.ok(seq.every((v, k) => k === 0 || v > seq[k - 1]), `repo r${repo} in order ${name} the kill (${seq.length} deliveries)`);
    }
  }
});
