// The dispatcher end to end: real store, real receivers, the cuttable proxy.

import { assessStatus, collectStatus } from '../../src/admin/status-report.ts';
import { defaultConfig } from '../../src/config/load-config.ts';
import t from 'tap';
import { join } from 'node:path';
import { openStore, type Store } from '../../src/store/store.ts';
import { enqueue } from '../../src/store/enqueue.ts';
import { deliveryIdFor } from '../../src/route/delivery-id.ts';
import { showDelivery, destinationStatus } from '../../src/store/queries.ts';
import { pauseDestination, resumeDestination, retryDeadLetters } from '../../src/store/operator.ts';
import { startDispatcher, type Dispatcher, type DispatcherOptions } from '../../src/deliver/dispatcher.ts';
import type { DestinationConfig } from '../../src/config/config-types.ts';
import type { FileDestination } from '../../src/destinations/file/index.ts';
import { startReceiver, type ReceivedRequest } from '../helpers/receiver.ts';
import { startTcpProxy } from '../helpers/tcp-proxy.ts';
import { httpDest, items, makeEvent, tempDir, waitUntil, type HasTeardown } from './fixtures.ts';

interface Rig {
  store: Store;
  dispatcher: Dispatcher;
}

function rig(t: HasTeardown, destinations: DestinationConfig[], options: Partial<DispatcherOptions> = {}): Rig {
  const store = openStore(join(tempDir(t), 'relay.db'));
  const dispatcher = startDispatcher({ store, destinations, env: {}, ...options });
  t.teardown(async () => {
    await dispatcher.stop();
    store.close();
  });
  return { store, dispatcher };
}

const stateOf = (store: Store, eventId: string, dest = 'ci') => showDelivery(store, deliveryIdFor(eventId, dest, 0))?.state;
const eventOf = (r: ReceivedRequest) => JSON.parse(r.body.toString()).event as string;

t.test('5xx, then success: retried with backoff, every attempt logged', async (t) => {
  const rx = await startReceiver({ respond: [{ status: 503, body: 'down' }, { status: 502 }, { status: 200 }] });
  t.teardown(() => rx.close());
  const { store } = rig(t, [httpDest('ci', rx.url)]);
  enqueue(store, items([makeEvent('e1')], ['ci']));
  await waitUntil(() => stateOf(store, 'e1') === 'delivered', 'delivery');
  const shown = showDelivery(store, deliveryIdFor('e1', 'ci', 0))!;
  t.equal(shown.attempts, 3);
  t.same(shown.attemptLog.map((a) => [a.status, a.outcome]), [[503, 'retry'], [502, 'retry'], [200, 'delivered']]);
  t.equal(shown.attemptLog[0].responseExcerpt, 'down');
  t.equal(shown.attemptLog[0].error, 'HTTP 503');
  t.equal(rx.requests.length, 3);
  t.same(new Set(rx.requests.map((r) => r.headers['x-relay-delivery'])).size, 1, 'same delivery id on every attempt');
  const [st] = destinationStatus(store, Date.now(), ['ci']);
  t.match(st, { queued: 0, deliveredLastHour: 1, failedLastHour: 2, lastError: 'HTTP 502' });
  t.ok(st.lastSuccessAt, 'last success recorded');
});

t.test('429 with Retry-After is honoured', async (t) => {
  const rx = await startReceiver({ respond: [{ status: 429, headers: { 'Retry-After': '1' } }] });
  t.teardown(() => rx.close());
  const { store } = rig(t, [httpDest('ci', rx.url)]);
  enqueue(store, items([makeEvent('e1')], ['ci']));
  await waitUntil(() => stateOf(store, 'e1') === 'delivered', 'delivery', 5000);
  const gap = rx.requests[1].time - rx.requests[0].time;
  t.ok(gap >= 950, `waited as asked (${gap} ms), not the 20-100 ms backoff`);
});

t.test('hanging receiver: response timeout, then retry succeeds', async (t) => {
  const rx = await startReceiver({ respond: [{ hang: true }] });
  t.teardown(() => rx.close());
  const { store } = rig(t, [httpDest('ci', rx.url, { timeout: { connectMs: 500, responseMs: 300, totalMs: 60_000 } })]);
  enqueue(store, items([makeEvent('e1')], ['ci']));
  await waitUntil(() => stateOf(store, 'e1') === 'delivered', 'delivery');
  const log = showDelivery(store, deliveryIdFor('e1', 'ci', 0))!.attemptLog;
  t.equal(log.length, 2);
  t.match(log[0], { status: null, outcome: 'retry', error: /timeout waiting for response/ });
  t.ok(log[0].latencyMs >= 290);
});

t.test('4xx: dead letter at once with status and body excerpt; the lane moves on; dlq retry replays', async (t) => {
  const rx = await startReceiver({ respond: [{ status: 404, body: 'no such hook' }] });
  t.teardown(() => rx.close());
  const { store } = rig(t, [httpDest('ci', rx.url)]);
  enqueue(store, items([makeEvent('e1'), makeEvent('e2')], ['ci']));
  await waitUntil(() => stateOf(store, 'e2') === 'delivered', 'the next delivery of the lane');
  const dead = showDelivery(store, deliveryIdFor('e1', 'ci', 0))!;
  t.match(dead, { state: 'dead', attempts: 1, lastStatus: 404, lastError: 'HTTP 404' });
  t.equal(dead.attemptLog[0].responseExcerpt, 'no such hook');
  t.equal(rx.requests.length, 2, 'no retry of the 404');
  t.equal(destinationStatus(store, Date.now(), ['ci'])[0].dead, 1);
  retryDeadLetters(store, { id: deliveryIdFor('e1', 'ci', 0) });
  await waitUntil(() => stateOf(store, 'e1') === 'delivered', 'the replay');
  t.same(rx.requests.map(eventOf), ['e1', 'e2', 'e1']);
});

t.test('3xx not followed: recorded with Location and retried; redirect fixed → delivered', async (t) => {
  let moved = true;
  const rx = await startReceiver({ respond: () => (moved ? { status: 301, headers: { Location: 'https://new.example/hook' } } : undefined) });
  t.teardown(() => rx.close());
  const { store } = rig(t, [httpDest('ci', rx.url)], { circuitThreshold: 100 });
  enqueue(store, items([makeEvent('e1')], ['ci']));
  await waitUntil(() => rx.requests.length >= 2 && (showDelivery(store, deliveryIdFor('e1', 'ci', 0))?.attemptLog.length ?? 0) >= 1, 'a retry');
  const row = showDelivery(store, deliveryIdFor('e1', 'ci', 0))!;
  t.ok(row.state === 'pending' || row.state === 'in_flight', `kept queued, not dead (${row.state})`);
  t.equal(row.attemptLog[0].location, 'https://new.example/hook');
  t.match(row.attemptLog[0].error, /HTTP 301 redirect to https:\/\/new\.example\/hook \(not followed; fix url or set followRedirects: true\)/);
  moved = false;
  await waitUntil(() => stateOf(store, 'e1') === 'delivered', 'delivery');
});

t.test('FIFO per repository; a failing repository does not block others', async (t) => {
  let aHealthy = false;
  const rx = await startReceiver({ respond: (r) => (eventOf(r) === 'a1' && !aHealthy ? { status: 503 } : undefined) });
  t.teardown(() => rx.close());
  const { store } = rig(t, [httpDest('ci', rx.url, { concurrency: 2 })], { circuitThreshold: 1000 });
  const a = ['a1', 'a2', 'a3'].map((id) => makeEvent(id, { slug: 'a' }));
  const b = ['b1', 'b2', 'b3', 'b4', 'b5'].map((id) => makeEvent(id, { slug: 'b' }));
  enqueue(store, items([a[0], b[0], a[1], b[1], a[2], b[2], b[3], b[4]], ['ci']));
  await waitUntil(() => stateOf(store, 'b5') === 'delivered', 'repository b drained');
  // a1 keeps failing and being retried (how many tries fit before b drains depends on the machine's speed).
  await waitUntil(() => rx.requests.filter((r) => eventOf(r) === 'a1').length >= 2, 'a1 failed and retried');
  t.notOk(rx.requests.some((r) => ['a2', 'a3'].includes(eventOf(r))), 'a2, a3 wait behind a1');
  t.same(rx.requests.filter((r) => eventOf(r).startsWith('b')).map(eventOf), ['b1', 'b2', 'b3', 'b4', 'b5'], 'b in order');
  aHealthy = true;
  await waitUntil(() => stateOf(store, 'a3') === 'delivered', 'repository a drained');
  const aOrder = rx.requests.map(eventOf).filter((e) => e.startsWith('a'));
  t.same(aOrder.filter((e, i) => aOrder.indexOf(e) === i), ['a1', 'a2', 'a3'], 'a in order');
  t.equal(aOrder.at(-1), 'a3');
});

t.test('circuit: opens after repeated failures, one probe per interval, closes and drains at full speed', async (t) => {
  const rx = await startReceiver();
  const proxy = await startTcpProxy({ port: rx.port }, 'reset');
  t.teardown(async () => {
    await proxy.close();
    await rx.close();
  });
  const dest = httpDest('ci', `http://127.0.0.1:${proxy.port}/hook`, { concurrency: 4, retry: { baseDelayMs: 150, maxDelayMs: 300, horizonMs: 600_000 } });
  const { store, dispatcher } = rig(t, [dest], { circuitThreshold: 3 });
  const events = Array.from({ length: 40 }, (_, i) => makeEvent(`e${i}`, { slug: `r${i % 8}` }));
  enqueue(store, items(events, ['ci']));
  await waitUntil(() => dispatcher.snapshot()[0].circuit.open, 'circuit open');
  // Requests already on the wire when the circuit opened finish (fail) first.
  await waitUntil(() => dispatcher.snapshot()[0].inFlight <= 1, 'requests started before the circuit opened to finish');
  const openedAt = Date.now();
  const before = proxy.accepted;
  let maxInFlight = 0;
  while (Date.now() - openedAt < 1200) {
    maxInFlight = Math.max(maxInFlight, dispatcher.snapshot()[0].inFlight);
    await new Promise((r) => setTimeout(r, 5));
  }
  const probes = proxy.accepted - before;
  t.ok(probes >= 2 && probes <= 9, `one probe per 150-300 ms interval while open (${probes} in 1.2 s)`);
  t.ok(maxInFlight <= 1, 'never more than one request in flight while open');
  t.equal(destinationStatus(store, Date.now(), ['ci'])[0].queued, 40, 'nothing dropped while open');
  await new Promise((r) => setTimeout(r, 50));
  t.equal(destinationStatus(store, Date.now(), ['ci'])[0].circuitOpen, true, 'status shows the open circuit');

  await proxy.setMode('pass');
  const back = Date.now();
  await waitUntil(() => destinationStatus(store, Date.now(), ['ci'])[0].queued === 0, 'drain after the path returns', 10_000);
  const drainMs = Date.now() - back;
  t.equal(dispatcher.snapshot()[0].circuit.open, false, 'circuit closed');
  // One request per probe interval (≥ 150 ms) would take ≥ 6 s for 40; full speed takes well under a second.
  t.ok(drainMs < 40 * 150, `drained at full speed after the probe succeeded (${drainMs} ms; probing pace would take ≥ 6000 ms)`);
  t.equal(new Set(rx.requests.map(eventOf)).size, 40, 'every event delivered');
});

t.test('paused destination keeps queueing, sends nothing; resume drains', async (t) => {
  const rx = await startReceiver();
  t.teardown(() => rx.close());
  const { store } = rig(t, [httpDest('ci', rx.url)]);
  pauseDestination(store, 'ci');
  enqueue(store, items([makeEvent('e1'), makeEvent('e2')], ['ci']));
  await new Promise((r) => setTimeout(r, 200));
  t.equal(rx.requests.length, 0, 'nothing sent while paused');
  t.equal(destinationStatus(store, Date.now(), ['ci'])[0].queued, 2);
  resumeDestination(store, 'ci');
  await rx.waitFor(2);
  t.same(rx.requests.map(eventOf), ['e1', 'e2']);
});

t.test('fresh work is sent at once (no polling delay), fan-out to several destinations', async (t) => {
  const rx = await startReceiver();
  const rx2 = await startReceiver();
  t.teardown(() => Promise.all([rx.close(), rx2.close()]));
  const { store } = rig(t, [httpDest('ci', rx.url), httpDest('jira', rx2.url), { name: 'archive', type: 'file', enabled: true, path: '/tmp/x' } as FileDestination]);
  await new Promise((r) => setTimeout(r, 50));
  const started = Date.now();
  enqueue(store, items([makeEvent('e1')], ['ci', 'jira']));
  await Promise.all([rx.waitFor(1), rx2.waitFor(1)]);
  const latency = Date.now() - started;
  t.ok(latency < 150, `enqueue → receiver in ${latency} ms`);
});

t.test('stop(): waits for in-flight requests; after the bound aborts and leaves them queued', async (t) => {
  const rx = await startReceiver({ respond: (r) => (eventOf(r) === 'slow' ? { delayMs: 300 } : { hang: true }) });
  t.teardown(() => rx.close());
  const store = openStore(join(tempDir(t), 'relay.db'));
  t.teardown(() => store.close());
  const d1 = startDispatcher({ store, destinations: [httpDest('ci', rx.url)], stopTimeoutMs: 2000, env: {} });
  enqueue(store, items([makeEvent('slow')], ['ci']));
  await rx.waitFor(1);
  await d1.stop();
  t.equal(stateOf(store, 'slow'), 'delivered', 'graceful stop let the slow request finish');

  const d2 = startDispatcher({ store, destinations: [httpDest('ci', rx.url, { timeout: { connectMs: 1000, responseMs: 10_000, totalMs: 60_000 } })], stopTimeoutMs: 200, env: {} });
  enqueue(store, items([makeEvent('hang')], ['ci']));
  await rx.waitFor(2);
  const t0 = Date.now();
  await d2.stop();
  t.ok(Date.now() - t0 < 2000, 'stop is bounded');
  const row = showDelivery(store, deliveryIdFor('hang', 'ci', 0))!;
  t.equal(row.state, 'pending', 'aborted delivery left pending, not in_flight');
  t.equal(row.attempts, 0, 'an abort at shutdown is not counted as an attempt');
});

t.test('updateDestinations: removed keeps rows queued; re-added sends them; changed url applies', async (t) => {
  const rx = await startReceiver();
  const rx2 = await startReceiver();
  t.teardown(() => Promise.all([rx.close(), rx2.close()]));
  const { store, dispatcher } = rig(t, [httpDest('ci', rx.url)]);
  dispatcher.updateDestinations([]);
  enqueue(store, items([makeEvent('e1')], ['ci']));
  await new Promise((r) => setTimeout(r, 150));
  t.equal(rx.requests.length, 0);
  t.equal(stateOf(store, 'e1'), 'pending', 'kept queued');
  dispatcher.updateDestinations([httpDest('ci', rx2.url)]);
  await rx2.waitFor(1);
  t.equal(rx.requests.length, 0, 'the new url was used');
  dispatcher.updateDestinations([httpDest('ci', rx2.url, { enabled: false })]);
  enqueue(store, items([makeEvent('e2')], ['ci']));
  await new Promise((r) => setTimeout(r, 150));
  t.equal(stateOf(store, 'e2'), 'pending', 'disabled: kept queued');
  dispatcher.updateDestinations([httpDest('ci', rx2.url)]);
  await rx2.waitFor(2);
});

t.test('horizon passed → dead letter naming the horizon and the last error', async (t) => {
  const rx = await startReceiver({ respond: () => ({ status: 500 }) });
  t.teardown(() => rx.close());
  const { store } = rig(t, [httpDest('ci', rx.url, { retry: { baseDelayMs: 20, maxDelayMs: 50, horizonMs: 300 } })], { circuitThreshold: 1000 });
  enqueue(store, items([makeEvent('e1')], ['ci']));
  await waitUntil(() => stateOf(store, 'e1') === 'dead', 'dead letter');
  const row = showDelivery(store, deliveryIdFor('e1', 'ci', 0))!;
  t.match(row.lastError, /retry horizon of 300ms passed after \d+ attempts; last error: HTTP 500/);
  t.ok(row.attempts >= 3);
});

t.test('a body trickled forever: the attempt ends at timeout.total, the lane moves on; status names an attempt in flight past its deadline', async (t) => {
  const rx = await startReceiver({ respond: [{ trickleMs: 100 }] });
  t.teardown(() => rx.close());
  const { store } = rig(t, [httpDest('ci', rx.url, { timeout: { connectMs: 500, responseMs: 600, totalMs: 1500 } })]);
  enqueue(store, items([makeEvent('e1'), makeEvent('e2')], ['ci']));
  await waitUntil(() => stateOf(store, 'e2') === 'delivered', 'the lane moving on past the trickled response', 20_000);
  const log = showDelivery(store, deliveryIdFor('e1', 'ci', 0))!.attemptLog;
  t.match(log[0], { status: null, outcome: 'retry', error: 'timeout: the attempt took longer than timeout.total 1500ms' });
  t.equal(stateOf(store, 'e1'), 'delivered', 'retried and delivered');

  // An attempt older than its deadline (clock moved past it) is reported while in flight.
  let skew = 0;
  const rx2 = await startReceiver({ respond: [{ hang: true }] });
  t.teardown(() => rx2.close());
  const late = rig(t, [httpDest('ci', rx2.url, { timeout: { connectMs: 500, responseMs: 60_000, totalMs: 60_000 } })], { now: () => Date.now() + skew, stopTimeoutMs: 100 });
  enqueue(late.store, items([makeEvent('s1')], ['ci']));
  await rx2.waitFor(1);
  t.same(late.dispatcher.snapshot()[0].stalled, [], 'not stalled within its deadline');
  skew = 90_000;
  const [stalled] = late.dispatcher.snapshot()[0].stalled;
  t.match(stalled, { delivery: deliveryIdFor('s1', 'ci', 0), repoKey: 'PROJ/repo' });
  t.ok(stalled.ageMs >= 90_000);
  const config = { ...defaultConfig(), destinations: [httpDest('ci', rx2.url)] };
  const live = { pid: 1, startedAt: Date.now(), version: 'x', counters: { events: 0, unmatched: 0, analysisErrors: 0, recordFailures: 0, reloads: 0, reloadFailures: 0 }, storeFull: false, workers: late.dispatcher.snapshot(), intake: null };
  const report = assessStatus(collectStatus({ config, store: late.store, live }));
  t.notOk(report.healthy);
  t.match(report.attention.join('\n'), `ci: 1 attempt in flight past timeout.total, oldest 1m 30s (delivery ${deliveryIdFor('s1', 'ci', 0)}, PROJ/repo); its lane waits`);
});
