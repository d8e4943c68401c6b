// When to try a failed delivery again: backoff with jitter, bounded by the
// retry horizon. Kind-neutral (each kind's sender decides what is worth
// retrying). Pure: the clock and the random source are parameters.

import { formatDuration } from '../config/units.ts';

/** Backoff settings of a destination (config `retry`). */
export interface RetryPolicy {
  baseDelayMs: number;
  maxDelayMs: number;
  /** After this long since the first attempt a delivery is dead-lettered. */
  horizonMs: number;
}

/** Exponential backoff with full jitter: uniform in [0, min(max, base·2^(attempt-1))). */
export function backoffDelayMs(attempt: number, policy: RetryPolicy, random: () => number = Math.random): number {
  const exp = policy.baseDelayMs * 2 ** Math.min(Math.max(attempt - 1, 0), 52);
  return Math.floor(random() * Math.min(policy.maxDelayMs, exp));
}

/** Retry at a time, or give up (the horizon passed). */
export type RetryDecision = { kind: 'retry'; at: number } | { kind: 'dead'; reason: string };

/**
 * When to make attempt number `attempt + 1`, after `attempt` failed attempts.
 * A wait the receiver asked for (`retryAfterMs`, e.g. HTTP Retry-After)
 * replaces the jittered backoff. The last attempt is made at the horizon;
 * after it fails the delivery is dead.
 */
export function nextAttemptAt(
  attempt: number,
  now: number,
  policy: RetryPolicy,
  retryAfterMs: number | null = null,
  random: () => number = Math.random,
  firstAttemptAt: number = now,
): RetryDecision {
  const deadline = firstAttemptAt + policy.horizonMs;
  if (now >= deadline) {
    return { kind: 'dead', reason: `retry horizon of ${formatDuration(policy.horizonMs)} passed after ${attempt} attempts` };
  }
  const delay = retryAfterMs ?? backoffDelayMs(attempt, policy, random);
  return { kind: 'retry', at: Math.min(now + delay, deadline) };
}

/**
 * When a queued delivery is given up (dead-lettered) if every attempt keeps
 * failing: the last attempt is made at the horizon, counted from the first
 * attempt; null before the first attempt (the clock has not started). A 4xx
 * answer dead-letters at once; a success ends it earlier.
 */
export function giveUpAt(firstAttemptAt: number | null, policy: Pick<RetryPolicy, 'horizonMs'>): number | null {
  return firstAttemptAt === null ? null : firstAttemptAt + policy.horizonMs;
}
