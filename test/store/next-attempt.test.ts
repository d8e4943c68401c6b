// One definition of "next attempt" (issue 15 item 4): status's next probe and
// the next try in deliveries / show are the same time — the head delivery's
// retry time held back by the open circuit — never "next probe 14s ago" beside
// "next in 10s".

import t from 'tap';
import { join } from 'node:path';
import { openStore } from '../../src/store/store.ts';
import { enqueue } from '../../src/store/enqueue.ts';
import { applyQueueWrites } from '../../src/store/queue.ts';
import { listDeliveries, showDelivery } from '../../src/store/queries.ts';
import { nextSendAt } from '../../src/store/next-attempt.ts';
import { deliveryIdFor } from '../../src/route/delivery-id.ts';
import { assessStatus, collectStatus } from '../../src/admin/status-report.ts';
import { parseConfigText } from '../../src/config/load-config.ts';
import { items, makeEvent, tempDir } from '../deliver/fixtures.ts';

t.test('nextSendAt: the later of the retry time and an open circuit\'s probe time', async (t) => {
  t.equal(nextSendAt(1000, null), 1000);
  t.equal(nextSendAt(1000, { open: false, nextProbeAt: 5000 }), 1000, 'a closed circuit holds nothing back');
  t.equal(nextSendAt(1000, { open: true, nextProbeAt: 5000 }), 5000);
  t.equal(nextSendAt(9000, { open: true, nextProbeAt: 5000 }), 9000);
});

for (const [label, probeOffset, dueOffset] of [
  ['probe time already past, retry due in 10s', -14_000, 10_000],
  ['retry due, probe in 14s', -2_000, 14_000],
] as const) {
  t.test(`status and deliveries show the same next attempt: ${label}`, async (t) => {
    const now = Date.now();
    const dir = tempDir(t);
    const store = openStore(join(dir, 'relay.db'));
    t.teardown(() => store.close());
    enqueue(store, items([makeEvent('e1')], ['ci']), now - 60_000);
    const id = deliveryIdFor('e1', 'ci', 0);
    const probeAt = now + probeOffset;
    const dueAt = now + dueOffset;
    applyQueueWrites(store, [
      {
        kind: 'attempt',
        attempt: { deliveryId: id, destination: 'ci', time: now - 20_000, outcome: 'retry', status: 503, latencyMs: 5, error: 'HTTP 503', responseExcerpt: null, location: null, detail: null, target: 'https://ci.example/hook' },
        attempts: 6,
        firstAttemptAt: now - 50_000,
        nextAttemptAt: probeOffset < 0 ? dueAt : now - 2_000,
      },
      { kind: 'health', destination: 'ci', health: { circuitOpen: true, consecutiveFailures: 6, circuitOpenedAt: now - 40_000, nextProbeAt: probeOffset < 0 ? probeAt : dueAt, lastSuccessAt: null, lastError: 'HTTP 503', lastErrorAt: now - 20_000 } },
    ]);
    const config = parseConfigText(`spool: { dir: ${dir}/spool }\nstore: { path: ${dir}/relay.db }\nadmin: { socket: ${dir}/s.sock }\ndestinations:\n  - { name: ci, type: http, url: "https://ci.example/hook", format: github }\n`, join(dir, 'relay.yaml'), {});
    const report = assessStatus(collectStatus({ config, store, now }), { maxBacklogAgeMs: 300_000, cliVersion: 'x' });
    const ci = report.destinations.find((d) => d.name === 'ci')!;
    t.equal(ci.state, 'circuit-open');
    const expected = new Date(dueAt).toISOString();
    t.equal(ci.nextProbeAt, expected, 'status: the next attempt');
    t.equal(new Date(listDeliveries(store, { destination: 'ci' })[0].nextAttemptAt).toISOString(), expected, 'deliveries: the same time');
    t.equal(new Date(showDelivery(store, id)!.nextAttemptAt).toISOString(), expected, 'show: the same time');
    t.match(report.attention.join('\n'), /next probe in \d+s/, 'never "ago"');
  });
}

t.test('one attempt count: deliveries, show and the attempt log agree after a redeliver (issue 15 item 10)', async (t) => {
  const now = Date.now();
  const dir = tempDir(t);
  const store = openStore(join(dir, 'relay.db'));
  t.teardown(() => store.close());
  enqueue(store, items([makeEvent('e1')], ['ci']), now - 60_000);
  const id = deliveryIdFor('e1', 'ci', 0);
  const attempt = (n: number, outcome: 'retry' | 'dead', status: number) => ({
    kind: 'attempt' as const,
    attempt: { deliveryId: id, destination: 'ci', time: now - 50_000 + n, outcome, status, latencyMs: 5, error: `HTTP ${status}`, responseExcerpt: null, location: null, detail: null, target: 'https://ci.example/hook' },
    attempts: n,
    firstAttemptAt: now - 50_000,
    nextAttemptAt: now + 1000,
  });
  applyQueueWrites(store, [attempt(1, 'retry', 503), attempt(2, 'retry', 503), attempt(3, 'dead', 410)]);
  const { retryDeadLetters } = await import('../../src/store/operator.ts');
  retryDeadLetters(store, { id }, now);
  const listed = listDeliveries(store, { destination: 'ci' })[0];
  const shown = showDelivery(store, id)!;
  t.equal(shown.attemptLog.length, 3);
  t.equal(listed.attempts, 3, 'deliveries counts every recorded attempt, not the reset round');
  t.equal(shown.attempts, shown.attemptLog.length, 'show says as many tries as it lists');
});
