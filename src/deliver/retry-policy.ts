// When to try a failed delivery again, and which failures are worth retrying.
// Pure: the clock and the random source are parameters.
//
// 3xx (redirects not followed) are retried, not dead-lettered: a redirect
// means the destination URL is wrong (http→https, moved endpoint), which is a
// configuration problem of the whole destination, not of this event. Retrying
// keeps every event queued, in order, until the operator fixes `url` or sets
// `followRedirects: true`; the attempt log records the Location.

/** Backoff settings of a destination (config `retry`). */
export interface RetryPolicy {
  baseDelayMs: number;
  maxDelayMs: number;
  /** After this long since the first attempt a delivery is dead-lettered. */
  horizonMs: number;
}

/** What to do with a delivery after an attempt. */
export type Classification = 'delivered' | 'retry' | 'dead';

/** What an attempt produced: a status line, or no response at all. */
export type ResponseOutcome = { status: number } | { networkError: string };

/** 2xx delivered; network errors, timeouts, 3xx, 408, 429, 5xx retry; other 4xx dead at once. */
export function classifyResponse(outcome: ResponseOutcome): Classification {
  if ('networkError' in outcome) return 'retry';
  const s = outcome.status;
  if (s >= 200 && s < 300) return 'delivered';
  if (s === 408 || s === 429) return 'retry';
  if (s >= 400 && s < 500) return 'dead';
  return 'retry';
}

/** Exponential backoff with full jitter: uniform in [0, min(max, base·2^(attempt-1))). */
export function backoffDelayMs(attempt: number, policy: RetryPolicy, random: () => number = Math.random): number {
  const exp = policy.baseDelayMs * 2 ** Math.min(Math.max(attempt - 1, 0), 52);
  return Math.floor(random() * Math.min(policy.maxDelayMs, exp));
}

/** Milliseconds a Retry-After header asks to wait (delta-seconds or HTTP-date), or null if absent/invalid. */
export function parseRetryAfter(value: string | null | undefined, now: number): number | null {
  if (value === null || value === undefined) return null;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  const at = Date.parse(v);
  if (Number.isNaN(at)) return null;
  return Math.max(0, at - now);
}

/** Retry at a time, or give up (the horizon passed). */
export type RetryDecision = { kind: 'retry'; at: number } | { kind: 'dead'; reason: string };

/**
 * When to make attempt number `attempt + 1`, after `attempt` failed attempts.
 * Retry-After, when given, replaces the jittered backoff. The last attempt is
 * made at the horizon; after it fails the delivery is dead.
 */
export function nextAttemptAt(
  attempt: number,
  now: number,
  policy: RetryPolicy,
  retryAfter: string | null = null,
  random: () => number = Math.random,
  firstAttemptAt: number = now,
): RetryDecision {
  const deadline = firstAttemptAt + policy.horizonMs;
  if (now >= deadline) {
    return { kind: 'dead', reason: `retry horizon of ${formatDuration(policy.horizonMs)} passed after ${attempt} attempts` };
  }
  const asked = parseRetryAfter(retryAfter, now);
  const delay = asked ?? backoffDelayMs(attempt, policy, random);
  return { kind: 'retry', at: Math.min(now + delay, deadline) };
}

/** "7d", "10m", "1500ms": short human duration for messages. */
export function formatDuration(ms: number): string {
  const units: [number, string][] = [[86_400_000, 'd'], [3_600_000, 'h'], [60_000, 'm'], [1000, 's']];
  for (const [size, unit] of units) if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  return `${ms}ms`;
}
