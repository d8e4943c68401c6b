// The one batching mechanism (src/store/group-commit.ts) and its two uses:
// intake's durable batches (each caller awaits its item; a bad item fails
// alone) and the dispatcher's bookkeeping (QueueWriter: written later,
// synchronous flushNow, a refused batch kept and retried, claims superseded
// in the same batch dropped, health coalesced).

import t from 'tap';
import { join } from 'node:path';
import { GroupCommit } from '../../src/store/group-commit.ts';
import { openStore } from '../../src/store/store.ts';
import { enqueue } from '../../src/store/enqueue.ts';
import { laneRows, readHealth, type DestinationHealth, type QueueWrite } from '../../src/store/queue.ts';
import { QueueWriter, compactQueueWrites } from '../../src/deliver/queue-writer.ts';
import { deliveryIdFor } from '../../src/route/delivery-id.ts';
import type { Log } from '../../src/log/logger.ts';
import { items, makeEvent, tempDir } from '../deliver/fixtures.ts';

const HEALTHY: DestinationHealth = { circuitOpen: false, consecutiveFailures: 0, circuitOpenedAt: null, nextProbeAt: null, lastSuccessAt: null, lastError: null, lastErrorAt: null };

function recordingLog(): Log & { errors: string[] } {
  const errors: string[] = [];
  const log: Log & { errors: string[] } = { errors, error: (m: string) => void errors.push(m), warn() {}, info() {}, debug() {}, child: () => log, setSecrets() {} };
  return log;
}

t.test('items added in the same tick share one batch; each caller resolves once its batch is written', async (t) => {
  const batches: number[][] = [];
  const gc = new GroupCommit<number>({ write: (b) => void batches.push([...b]) });
  const settled: number[] = [];
  const all = [1, 2, 3].map((n) => gc.add(n).then(() => settled.push(n)));
  t.same(batches, [], 'nothing written synchronously by add()');
  await Promise.all(all);
  t.same(batches, [[1, 2, 3]], 'one write for the three');
  t.same(settled, [1, 2, 3]);
});

t.test('isolate: a bad item fails only its own caller; the others of its batch are written', async (t) => {
  const written: string[] = [];
  let calls = 0;
  const gc = new GroupCommit<string>({
    write: (b) => {
      calls++;
      if (b.includes('bad')) throw new Error(`cannot write ${b.join(',')}`);
      written.push(...b);
    },
  });
  const results = await Promise.allSettled(['a', 'bad', 'c'].map((s) => gc.add(s)));
  t.same(results.map((r) => r.status), ['fulfilled', 'rejected', 'fulfilled']);
  t.match((results[1] as PromiseRejectedResult).reason.message, /cannot write bad$/, 'the bad item gets the error of its own write');
  t.same(written, ['a', 'c']);
  t.equal(calls, 4, 'the batch once, then each item alone');
  // The batcher is still usable afterwards.
  await gc.add('d');
  t.same(written, ['a', 'c', 'd']);
});

t.test('maxBatch splits a burst into several transactions, in order', async (t) => {
  const batches: number[][] = [];
  const gc = new GroupCommit<number>({ write: (b) => void batches.push([...b]), maxBatch: 2 });
  await Promise.all([1, 2, 3, 4, 5].map((n) => gc.add(n)));
  t.same(batches, [[1, 2], [3, 4], [5]]);
});

t.test('delayMs: pushed items wait for company; flushNow writes them synchronously', async (t) => {
  const batches: string[][] = [];
  const gc = new GroupCommit<string>({ write: (b) => void batches.push([...b]), delayMs: 60_000 });
  gc.push('a');
  gc.push('b');
  await new Promise((r) => setImmediate(r));
  t.same(batches, [], 'not written before the delay');
  t.equal(gc.size, 2);
  t.equal(gc.flushNow(), true, 'everything written');
  t.same(batches, [['a', 'b']], 'written before flushNow returned');
  t.equal(gc.size, 0);
  t.equal(gc.flushNow(), true, 'nothing left: still true, no empty write');
  t.equal(batches.length, 1);
});

t.test('delayMs: a full batch does not wait for the delay', async (t) => {
  const batches: number[][] = [];
  const gc = new GroupCommit<number>({ write: (b) => void batches.push([...b]), delayMs: 60_000, maxBatch: 3 });
  for (const n of [1, 2, 3]) gc.push(n);
  await new Promise((r) => setImmediate(r));
  t.same(batches, [[1, 2, 3]]);
});

t.test('retry: a refused batch is kept in order and written again; add() resolves only then', async (t) => {
  let refuse = true;
  const written: string[][] = [];
  const reports: string[] = [];
  const gc = new GroupCommit<string>({
    write: (b) => {
      if (refuse) throw new Error('database or disk is full');
      written.push([...b]);
    },
    delayMs: 5,
    onFailure: { kind: 'retry', afterMs: 20, report: (err, waiting) => void reports.push(`${(err as Error).message} (${waiting})`) },
  });
  gc.push('a');
  const b = gc.add('b');
  let bDone = false;
  void b.then(() => (bDone = true));
  t.equal(gc.flushNow(), false, 'flushNow says the store refused');
  t.same(reports, ['database or disk is full (2)']);
  gc.push('c');
  t.equal(gc.flushNow(), false, 'still refused; nothing dropped');
  t.equal(gc.size, 3);
  t.equal(bDone, false, 'the caller of a kept item still waits');
  refuse = false;
  // The retry timer writes it without any further call.
  await b;
  t.same(written, [['a', 'b', 'c']], 'the kept items, in order, in one batch');
  t.equal(gc.size, 0);
});

t.test('a push from inside the writer is written by the running flush', async (t) => {
  const batches: string[][] = [];
  const gc: GroupCommit<string> = new GroupCommit<string>({
    write: (b) => {
      batches.push([...b]);
      if (b.includes('a')) {
        gc.push('inner');
        t.equal(gc.flushNow(), false, 'a nested flushNow does not write inside the running write');
      }
    },
    delayMs: 60_000,
  });
  gc.push('a');
  t.equal(gc.flushNow(), true);
  t.same(batches, [['a'], ['inner']]);
});

t.test('compactQueueWrites: a claim superseded by its outcome or release is dropped; only the newest health per destination, last', async (t) => {
  const attempt = (id: string): QueueWrite => ({ kind: 'attempt', attempt: { deliveryId: id, destination: 'ci', time: 1, outcome: 'delivered', status: 200, latencyMs: 1, error: null, detail: null, responseExcerpt: null, location: null, target: 'x' }, attempts: 1, firstAttemptAt: 1, nextAttemptAt: 1 });
  const health = (dest: string, failures: number): QueueWrite => ({ kind: 'health', destination: dest, health: { ...HEALTHY, consecutiveFailures: failures } });
  const writes: QueueWrite[] = [
    { kind: 'in_flight', id: 'd1' },
    health('ci', 1),
    { kind: 'in_flight', id: 'd2' },
    { kind: 'in_flight', id: 'd3' },
    attempt('d1'),
    health('jira', 7),
    { kind: 'release', id: 'd3' },
    health('ci', 2),
  ];
  const out = compactQueueWrites(writes);
  t.same(
    out.map((w) => (w.kind === 'health' ? `health ${w.destination} ${w.health.consecutiveFailures}` : w.kind === 'attempt' ? `attempt ${w.attempt.deliveryId}` : `${w.kind} ${w.id}`)),
    ['in_flight d2', 'attempt d1', 'release d3', 'health ci 2', 'health jira 7'],
  );
  const plain: QueueWrite[] = [{ kind: 'in_flight', id: 'd9' }];
  t.equal(compactQueueWrites(plain), plain, 'nothing to drop: the same list');
});

t.test('QueueWriter on a real store: bookkeeping lands on flush(), not before; a refused write is retried and lands', async (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'relay.db');
  const store = openStore(path);
  t.teardown(() => store.close());
  enqueue(store, items([makeEvent('e1'), makeEvent('e2')], ['ci']));
  const [id1, id2] = [deliveryIdFor('e1', 'ci', 0), deliveryIdFor('e2', 'ci', 0)];
  const log = recordingLog();
  const writer = new QueueWriter(store, log, 60_000);
  const state = (id: string): string => (store.statement('SELECT state FROM deliveries WHERE id = ?').get(id) as { state: string }).state;

  writer.push({ kind: 'in_flight', id: id1 });
  writer.setHealth('ci', { ...HEALTHY, consecutiveFailures: 3 });
  t.equal(state(id1), 'pending', 'not written yet (60 s delay)');
  t.equal(writer.flush(), true);
  t.equal(state(id1), 'in_flight', 'written when flush() returned');
  t.equal(readHealth(store, 'ci').consecutiveFailures, 3);

  // The store refuses writes (another connection holds the write lock; busy timeout short).
  const { DatabaseSync } = await import('node:sqlite');
  const blocker = new DatabaseSync(path, { timeout: 10 });
  store.db.exec('PRAGMA busy_timeout = 10');
  blocker.exec('BEGIN IMMEDIATE');
  writer.push({ kind: 'in_flight', id: id2 });
  writer.setHealth('ci', { ...HEALTHY, consecutiveFailures: 4 });
  writer.setHealth('ci', { ...HEALTHY, consecutiveFailures: 5 });
  t.equal(writer.flush(), false, 'refused');
  t.equal(log.errors.length, 1, 'the operator is told');
  t.match(log.errors[0], /cannot record delivery progress in the store; retrying in 1 s/);
  t.equal(writer.size, 2, 'kept: the claim and the newest health (the older health coalesced)');
  blocker.exec('ROLLBACK');
  blocker.close();
  // Written by the retry timer, with no further call: wait for the fact.
  const deadline = Date.now() + 15_000;
  while (state(id2) !== 'in_flight' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  t.equal(state(id2), 'in_flight', 'the kept claim landed');
  t.equal(readHealth(store, 'ci').consecutiveFailures, 5, 'the newest health landed');
  t.equal(writer.size, 0);
  t.equal(laneRows(store, 'ci', 'PROJ/repo', 0, 10).length, 2, 'both still queued (claims only)');
});
