// Retry policy, http classification and circuit breaker: pure functions.

import t from 'tap';
import fc from 'fast-check';
import { backoffDelayMs, nextAttemptAt } from '../../src/deliver/retry-policy.ts';
import { formatDuration } from '../../src/config/units.ts';
import { classifyResponse, parseRetryAfter, toSendResult } from '../../src/destinations/http/classify.ts';
import { circuitAllows, circuitOnFailure, circuitOnSuccess, CLOSED } from '../../src/deliver/circuit.ts';

const policy = { baseDelayMs: 1000, maxDelayMs: 600_000, horizonMs: 7 * 86_400_000 };

t.test('classifyResponse', async (t) => {
  const cases: [number, string][] = [
    [200, 'delivered'], [204, 'delivered'], [299, 'delivered'],
    [301, 'retry'], [302, 'retry'], [307, 'retry'],
    [400, 'dead'], [401, 'dead'], [403, 'dead'], [404, 'dead'], [410, 'dead'], [422, 'dead'],
    [408, 'retry'], [429, 'retry'], [500, 'retry'], [502, 'retry'], [503, 'retry'], [504, 'retry'],
  ];
  for (const [status, want] of cases) t.equal(classifyResponse({ status }), want, `HTTP ${status}`);
  t.equal(classifyResponse({ networkError: 'ECONNREFUSED' }), 'retry');
});

t.test('an HTTP exchange becomes a transport-neutral outcome with a circuit hint', async (t) => {
  const x = { status: null as number | null, error: null as string | null, retryAfter: null as string | null, location: null as string | null, responseExcerpt: null, latencyMs: 3, url: 'https://ci/x' };
  t.match(toSendResult({ ...x, status: 204 }), { outcome: 'delivered', health: 'up', status: 204, target: 'https://ci/x' });
  t.match(toSendResult({ ...x, error: 'ECONNREFUSED' }), { outcome: 'retry', error: 'ECONNREFUSED', health: 'down', status: null });
  t.match(toSendResult({ ...x, status: 404 }), { outcome: 'dead', reason: 'HTTP 404', health: 'up' }, 'a 4xx about this event: the receiver works');
  t.match(toSendResult({ ...x, status: 429, retryAfter: '7' }, 0), { outcome: 'retry', retryAfterMs: 7000, health: 'down' });
  t.match(toSendResult({ ...x, status: 301, location: 'https://new/x' }), { outcome: 'retry', error: /redirect to https:\/\/new\/x \(not followed/ });
});

t.test('full jitter stays within [0, min(cap, base·2^(n-1)))', async (t) => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 200 }), fc.double({ min: 0, max: 0.999999, noNaN: true }), (attempt, r) => {
      const d = backoffDelayMs(attempt, policy, () => r);
      const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
      return d >= 0 && d < ceiling && Number.isInteger(d);
    }),
  );
  t.equal(backoffDelayMs(1, policy, () => 0.5), 500, 'attempt 1: up to 1 s');
  t.equal(backoffDelayMs(4, policy, () => 0.5), 4000, 'attempt 4: up to 8 s');
  t.equal(backoffDelayMs(30, policy, () => 0.5), 300_000, 'capped at 10 min');
});

t.test('Retry-After: delta-seconds and HTTP-date replace the backoff', async (t) => {
  const now = Date.parse('2025-01-01T00:00:00Z');
  t.equal(parseRetryAfter('120', now), 120_000);
  t.equal(parseRetryAfter('Wed, 01 Jan 2025 00:00:30 GMT', now), 30_000);
  t.equal(parseRetryAfter('Tue, 31 Dec 2024 00:00:00 GMT', now), 0, 'past date: now');
  t.equal(parseRetryAfter('soon', now), null);
  t.equal(parseRetryAfter(null, now), null);
  t.same(nextAttemptAt(3, now, policy, parseRetryAfter('7', now), () => 0.99, now), { kind: 'retry', at: now + 7000 });
  t.same(nextAttemptAt(1, now, policy, null, () => 0.5, now), { kind: 'retry', at: now + 500 });
});

t.test('horizon: last attempt at the horizon, then dead', async (t) => {
  const first = 1_000_000;
  const p = { baseDelayMs: 1000, maxDelayMs: 60_000, horizonMs: 10_000 };
  const near = nextAttemptAt(5, first + 9000, p, null, () => 0.9, first);
  t.same(near, { kind: 'retry', at: first + 10_000 }, 'clamped to the horizon');
  const dead = nextAttemptAt(6, first + 10_000, p, null, () => 0.9, first);
  t.equal(dead.kind, 'dead');
  t.match((dead as { reason: string }).reason, /retry horizon of 10s passed after 6 attempts/);
  t.equal(nextAttemptAt(1, first, p, 3_600_000, () => 0, first).kind, 'retry', 'huge Retry-After still ends at the horizon');
  t.equal((nextAttemptAt(1, first, p, 3_600_000, () => 0, first) as { at: number }).at, first + 10_000);
  t.equal(formatDuration(7 * 86_400_000), '7d');
  t.equal(formatDuration(10 * 60_000), '10m');
  t.equal(formatDuration(90_000), '1m 30s');
  t.equal(formatDuration(500), '500ms');
});

t.test('circuit: opens after the threshold, one probe per interval, success closes', async (t) => {
  let c = CLOSED;
  for (let i = 0; i < 4; i++) c = circuitOnFailure(c, 1000, policy, 5, () => 0);
  t.equal(c.open, false, '4 failures: still closed');
  t.ok(circuitAllows(c, 1000, 3), 'closed allows concurrency');
  c = circuitOnFailure(c, 1000, policy, 5, () => 0);
  t.equal(c.open, true, '5th failure opens');
  t.equal(c.nextProbeAt, 2000, 'probe interval never below the base delay');
  t.notOk(circuitAllows(c, 1999, 0), 'no probe before it is due');
  t.ok(circuitAllows(c, 2000, 0), 'one probe when due');
  t.notOk(circuitAllows(c, 2000, 1), 'only one probe at a time');
  const again = circuitOnFailure(c, 2000, policy, 5, () => 0.99);
  t.ok(again.nextProbeAt! - 2000 >= 1000 && again.nextProbeAt! - 2000 < 2000, 'interval grows with failed probes');
  t.equal(again.openedAt, 1000, 'keeps when it opened');
  t.same(circuitOnSuccess(again), CLOSED);
});
