// What an HTTP exchange means for the delivery: delivered, retry or dead, and
// whether it says anything about the receiver's health. Pure.
//
// 3xx (redirects not followed) are retried, not dead-lettered: a redirect
// means the destination URL is wrong (http→https, moved endpoint), which is a
// configuration problem of the whole destination, not of this event. Retrying
// keeps every event queued, in order, until the operator fixes `url` or sets
// `followRedirects: true`; the attempt log records the Location.

import type { AttemptTimings, SendResult } from '../kind.ts';

/** What to do with a delivery after an HTTP answer (or none). */
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

/** Milliseconds a Retry-After header asks to wait (delta-seconds or HTTP-date), or null if absent/invalid. */
export function parseRetryAfter(value: string | null | undefined, now: number): number | null {
  if (value === null || value === undefined) return null;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  const at = Date.parse(v);
  if (Number.isNaN(at)) return null;
  return Math.max(0, at - now);
}

/** One HTTP exchange as the sender saw it. Text fields are redacted. */
export interface HttpExchange {
  /** HTTP status of the final response, or null when none arrived. */
  status: number | null;
  /** Network error / timeout text, or null. */
  error: string | null;
  retryAfter: string | null;
  /** Location of a 3xx that was not followed. */
  location: string | null;
  /** First ≤ 2 KiB of the response body. */
  responseExcerpt: string | null;
  latencyMs: number;
  /** URL of the (last) request. */
  url: string;
  /** Response headers of the final response, redacted and capped; null without one. */
  responseHeaders?: Record<string, string> | null;
  /** Per-phase timings of the (last) request, null when none were measured. */
  timings?: AttemptTimings | null;
}

/** The transport-neutral result of an exchange. */
export function toSendResult(x: HttpExchange, now: number = Date.now()): SendResult {
  const facts = { target: x.url, detail: null, latencyMs: x.latencyMs, status: x.status, responseExcerpt: x.responseExcerpt, location: x.location, responseHeaders: x.responseHeaders ?? null, timings: x.timings ?? null };
  if (x.status === null) return { ...facts, outcome: 'retry', error: x.error ?? 'no response', retryAfterMs: null, health: 'down' };
  const outcome = classifyResponse({ status: x.status });
  if (outcome === 'delivered') return { ...facts, outcome, health: 'up' };
  const error = `HTTP ${x.status}${x.location ? ` redirect to ${x.location} (not followed; fix url or set followRedirects: true)` : ''}`;
  // A 4xx about this one event: the receiver works, the delivery does not.
  if (outcome === 'dead') return { ...facts, outcome, reason: error, health: 'up' };
  return { ...facts, outcome, error, retryAfterMs: parseRetryAfter(x.retryAfter, now), health: 'down' };
}
