// Per-destination circuit breaker. Unlike Bitbucket's (which *drops* events
// while open), ours only slows down: after `threshold` consecutive failures
// the destination gets one probe per backoff interval; the first success
// closes it and the queue drains at full speed. Nothing is ever skipped.

import { backoffDelayMs, type RetryPolicy } from './retry-policy.ts';

/** Consecutive failures that open the circuit by default. */
export const DEFAULT_CIRCUIT_THRESHOLD = 5;

/** The breaker's state (persisted in destination_state for status). */
export interface CircuitState {
  open: boolean;
  consecutiveFailures: number;
  openedAt: number | null;
  /** While open: not before this time may the next probe go. */
  nextProbeAt: number | null;
}

/** A closed circuit. */
export const CLOSED: CircuitState = { open: false, consecutiveFailures: 0, openedAt: null, nextProbeAt: null };

/** After an attempt whose sender says the destination works (health 'up': delivered, or one delivery refused, e.g. an HTTP 4xx). */
export function circuitOnSuccess(_state: CircuitState): CircuitState {
  return CLOSED;
}

/** After an attempt whose sender says the path failed (health 'down': connection, timeout, overload; for http 3xx, 408, 429, 5xx). */
export function circuitOnFailure(
  state: CircuitState,
  now: number,
  policy: RetryPolicy,
  threshold: number = DEFAULT_CIRCUIT_THRESHOLD,
  random: () => number = Math.random,
): CircuitState {
  const failures = state.consecutiveFailures + 1;
  if (failures < threshold) return { ...state, consecutiveFailures: failures };
  // Probe intervals grow like retries; never shorter than the base delay, so
  // full jitter cannot turn an outage into a probe storm.
  const trips = failures - threshold + 1;
  const delay = Math.max(policy.baseDelayMs, backoffDelayMs(trips, policy, random));
  return { open: true, consecutiveFailures: failures, openedAt: state.openedAt ?? now, nextProbeAt: now + delay };
}

/** May a request start now, given how many are in flight? Open: only one probe, once it is due. */
export function circuitAllows(state: CircuitState, now: number, inFlight: number): boolean {
  if (!state.open) return true;
  return inFlight === 0 && now >= (state.nextProbeAt ?? 0);
}
