// Operator queries and actions, and retention/size bounds, on a real store.

import t from 'tap';
import { join } from 'node:path';
import { openStore, type Store } from '../../src/store/store.ts';
import { enqueue } from '../../src/store/enqueue.ts';
import { applyQueueWrites, type AttemptRecord } from '../../src/store/queue.ts';
import { destinationStatus, listDeadLetters, listDeliveries, showDelivery } from '../../src/store/queries.ts';
import { dropDeadLetters, isPaused, pauseDestination, redeliver, resumeDestination, retryDeadLetters } from '../../src/store/operator.ts';
import { isFull, pruneStore, storeBytes, startMaintenance } from '../../src/store/retention.ts';
import { deliveryIdFor } from '../../src/route/delivery-id.ts';
import { items, jsonRequest, makeEvent, tempDir } from '../deliver/fixtures.ts';

const HOUR = 3_600_000;

function attempt(id: string, time: number, outcome: AttemptRecord['outcome'], status: number | null, error: string | null = null): AttemptRecord {
  return { deliveryId: id, destination: 'ci', time, outcome, status, latencyMs: 12, error, responseExcerpt: status === 404 ? 'no such hook' : null, location: null, detail: null, target: 'https://ci.example/hook?token=***' };
}

/** e1 delivered, e2 dead (404), e3 retrying (503), e4 untouched; one jira delivery pending. */
function seeded(t: { teardown(fn: () => unknown): void }, now: number): Store {
  const store = openStore(join(tempDir(t), 'relay.db'));
  t.teardown(() => store.close());
  enqueue(store, items([makeEvent('e1'), makeEvent('e2'), makeEvent('e3', { slug: 'other' }), makeEvent('e4')], ['ci']), now - 2 * HOUR);
  enqueue(store, items([makeEvent('e5')], ['jira']), now - HOUR / 2);
  const id = (e: string) => deliveryIdFor(e, 'ci', 0);
  applyQueueWrites(store, [
    { kind: 'attempt', attempt: attempt(id('e1'), now - 10_000, 'delivered', 200), attempts: 1, firstAttemptAt: now - 10_000, nextAttemptAt: 0 },
    { kind: 'attempt', attempt: attempt(id('e2'), now - 9000, 'dead', 404, 'HTTP 404'), attempts: 1, firstAttemptAt: now - 9000, nextAttemptAt: 0 },
    { kind: 'attempt', attempt: attempt(id('e3'), now - 8000, 'retry', 503, 'HTTP 503'), attempts: 1, firstAttemptAt: now - 8000, nextAttemptAt: now + 60_000 },
    {
      kind: 'health',
      destination: 'ci',
      health: { circuitOpen: false, consecutiveFailures: 1, circuitOpenedAt: null, nextProbeAt: null, lastSuccessAt: now - 10_000, lastError: 'HTTP 503', lastErrorAt: now - 8000 },
    },
  ]);
  return store;
}

t.test('destinationStatus: queue depth, oldest age, last success/error, last hour, dead letters', async (t) => {
  const now = Date.now();
  const store = seeded(t, now);
  const [ci, jira, extra] = destinationStatus(store, now, ['ci', 'jira', 'configured-only']);
  t.match(ci, {
    name: 'ci', paused: false, circuitOpen: false, queued: 2, inFlight: 0, retrying: 1,
    oldestQueuedAt: now - 2 * HOUR, oldestQueuedAgeMs: 2 * HOUR, lastSuccessAt: now - 10_000, lastError: 'HTTP 503',
    lastErrorAt: now - 8000, deliveredLastHour: 1, failedLastHour: 2, dead: 1,
  });
  t.match(jira, { name: 'jira', queued: 1, dead: 0, lastSuccessAt: null, oldestQueuedAgeMs: HOUR / 2 });
  t.match(extra, { name: 'configured-only', queued: 0, oldestQueuedAt: null });
});

t.test('listDeliveries filters; showDelivery has attempts, redacted headers, prefix ids', async (t) => {
  const now = Date.now();
  const store = seeded(t, now);
  t.equal(listDeliveries(store).length, 5);
  t.same(listDeliveries(store, { destination: 'ci', failed: true }).map((d) => d.eventId).sort(), ['e2', 'e3']);
  t.same(listDeliveries(store, { repo: 'PROJ/other' }).map((d) => d.eventId), ['e3']);
  t.same(listDeliveries(store, { since: now - HOUR }).map((d) => d.eventId), ['e5']);
  t.same(listDeliveries(store, { state: 'delivered' }).map((d) => d.eventId), ['e1']);
  t.equal(listDeliveries(store, { limit: 2 }).length, 2);
  t.same(listDeadLetters(store).map((d) => d.eventId), ['e2']);

  const id = deliveryIdFor('e2', 'ci', 0);
  const shown = showDelivery(store, id.slice(0, 8))!;
  t.equal(shown.id, id, 'unique prefix resolves');
  t.match(shown, { state: 'dead', lastStatus: 404, trigger: 'push', bodyPruned: false });
  t.same(JSON.parse(shown.body!), { event: 'e2', repo: 'repo' });
  t.equal(shown.attemptLog.length, 1);
  t.match(shown.attemptLog[0], { status: 404, outcome: 'dead', responseExcerpt: 'no such hook', latencyMs: 12 });
  t.equal(showDelivery(store, 'ffffffff-0000'), null, 'unknown id → null');
});

t.test('redeliver, dlq retry/drop, pause/resume', async (t) => {
  const now = Date.now();
  const store = seeded(t, now);
  const changes: any[] = [];
  store.onChange((c) => changes.push(c));
  const id = (e: string) => deliveryIdFor(e, 'ci', 0);
  const seqOf = (d: string) => (store.db.prepare('SELECT seq FROM deliveries WHERE id = ?').get(d) as any).seq;
  const maxSeq = (store.db.prepare('SELECT max(seq) AS m FROM deliveries').get() as any).m;

  // Delivered → back of its lane, same id, attempts reset.
  const r1 = redeliver(store, { id: id('e1') }, now);
  t.match(r1, { requeued: 1, skipped: [], byState: { delivered: 1 } });
  let row = showDelivery(store, id('e1'))!;
  t.match(row, { state: 'pending', attempts: 1, nextAttemptAt: now, deliveredAt: null }); // attempts: every one recorded (issue 15 item 10)
  t.ok(seqOf(id('e1')) > maxSeq, 'fresh seq: replay goes to the back of the lane');
  t.same(changes.at(-1), { kind: 'requeued', destinations: ['ci'] });

  // Dead letters: retry one, drop another.
  t.match(retryDeadLetters(store, { destination: 'ci' }, now), { requeued: 1, skipped: [], byState: { dead: 1 } });
  t.equal(showDelivery(store, id('e2'))!.state, 'pending');
  applyQueueWrites(store, [{ kind: 'attempt', attempt: attempt(id('e2'), now, 'dead', 410, 'HTTP 410'), attempts: 1, firstAttemptAt: now, nextAttemptAt: 0 }]);
  t.equal(dropDeadLetters(store, { id: id('e2') }, now), 1);
  t.equal(showDelivery(store, id('e2'))!.state, 'dropped');
  t.equal(dropDeadLetters(store, { destination: 'ci' }, now), 0, 'nothing dead left');
  t.throws(() => redeliver(store, { id: 'nope-nope' }), /no delivery with id "nope-nope"/);

  // By destination + since: delivered and dead rows created since then.
  applyQueueWrites(store, [{ kind: 'attempt', attempt: attempt(id('e1'), now, 'delivered', 200), attempts: 1, firstAttemptAt: now, nextAttemptAt: 0 }]);
  const r2 = redeliver(store, { destination: 'ci', since: now - 3 * HOUR }, now);
  t.equal(r2.requeued, 1, 'only e1 was delivered or dead (e2 dropped, e3/e4 queued)');
  t.same(r2.byState, { delivered: 1 });
  // --pending: the queued ones are made due now, counted as pending.
  const r3 = redeliver(store, { destination: 'ci' }, now, ['pending']);
  t.same(r3.byState, { pending: 3 }, 'e1 (just requeued), e3, e4');
  t.equal(r3.ids?.length, 3);
  t.ok(listDeliveries(store, { destination: 'ci', state: 'pending' }).every((d) => d.nextAttemptAt <= now), 'all due now');

  pauseDestination(store, 'ci');
  t.ok(isPaused(store, 'ci'));
  t.equal(destinationStatus(store, now, ['ci'])[0].paused, true);
  resumeDestination(store, 'ci');
  t.notOk(isPaused(store, 'ci'));
  t.same(changes.slice(-2), [{ kind: 'paused', destination: 'ci' }, { kind: 'resumed', destination: 'ci' }]);
});

t.test('retention: attempts by age and rows, delivered bodies then rows, events; pruned body cannot be replayed', async (t) => {
  const now = Date.now();
  const store = seeded(t, now);
  store.limits = { ...store.limits, logMaxAgeMs: HOUR, logMaxRows: 2, bodyMaxAgeMs: 5000 };
  const id = (e: string) => deliveryIdFor(e, 'ci', 0);
  // Two more old attempts to push past the row bound.
  applyQueueWrites(store, [
    { kind: 'attempt', attempt: attempt(id('e3'), now - 2 * HOUR, 'retry', 503), attempts: 2, firstAttemptAt: now - 8000, nextAttemptAt: now },
    { kind: 'attempt', attempt: attempt(id('e3'), now - 1000, 'retry', 503), attempts: 3, firstAttemptAt: now - 8000, nextAttemptAt: now },
  ]);
  const r = pruneStore(store, now);
  t.equal(r.attempts, 3, 'one by age, then down to 2 rows');
  t.equal((store.db.prepare('SELECT count(*) AS n FROM attempts').get() as any).n, 2);
  t.equal(r.bodies, 1, 'delivered body older than bodyMaxAge dropped');
  const shown = showDelivery(store, id('e1'))!;
  t.equal(shown.bodyPruned, true, 'show says the body was pruned');
  t.equal(shown.body, null);
  const replay = redeliver(store, { id: id('e1') }, now);
  t.equal(replay.requeued, 0);
  t.match(replay.skipped[0].reason, /pruned/);
  t.ok(showDelivery(store, id('e2'))!.body, 'dead letter keeps its body');
  t.equal(showDelivery(store, id('e3'))!.state, 'pending', 'queued rows never pruned');

  // Later: finished rows past the log age go, and their events.
  const later = pruneStore(store, now + 3 * HOUR);
  t.equal(later.deliveries, 1, 'the delivered row');
  t.equal(later.events, 1, 'its event');
  t.equal(showDelivery(store, id('e1')), null);
  t.equal((store.db.prepare('SELECT count(*) AS n FROM events').get() as any).n, 4);
});

t.test('isFull from live pages + WAL; frees by itself once delivered bodies are pruned', async (t) => {
  const store = openStore(join(tempDir(t), 'relay.db'));
  t.teardown(() => store.close());
  const big = Buffer.alloc(64 * 1024, 'x').toString();
  const now = Date.now();
  const batch = Array.from({ length: 40 }, (_, i) => ({ event: makeEvent(`big${i}`), deliveries: [{ destination: 'ci', requests: [jsonRequest({ big })] }] }));
  enqueue(store, batch, now);
  store.db.exec('PRAGMA wal_checkpoint(TRUNCATE)');
  const bytes = storeBytes(store);
  t.ok(bytes > 40 * 64 * 1024, `live size counts the bodies (${bytes})`);
  store.limits = { ...store.limits, maxBytes: bytes - 1000 };
  t.ok(isFull(store), 'full at the bound');
  const fullChanges: boolean[] = [];
  const m = startMaintenance(store, { intervalMs: 3_600_000, onFullChange: (f) => fullChanges.push(f) });
  t.teardown(() => m.stop());
  m.runNow();
  t.same(fullChanges, [true], 'reported full; queued bodies are not pruned');
  // Everything delivered: at the bound bodies go regardless of age.
  const ids = (store.db.prepare('SELECT id FROM deliveries').all() as any[]).map((r) => r.id);
  applyQueueWrites(store, ids.map((id) => ({ kind: 'attempt' as const, attempt: attempt(id, now, 'delivered', 200), attempts: 1, firstAttemptAt: now, nextAttemptAt: 0 })));
  store.db.exec('PRAGMA wal_checkpoint(TRUNCATE)');
  m.runNow();
  t.notOk(isFull(store), `space freed (${storeBytes(store)} < ${store.limits.maxBytes})`);
  t.same(fullChanges, [true, false], 'reported the change back');
});
