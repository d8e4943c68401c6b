// Inline destinations (file, log) have no delivery rows, but their writes are
// attempts like any kind's: one row per event in the attempts log and the
// destination's health (last success, last error), so status counts them the
// same way (delivered/failed in the last hour, last success).

import type { Store } from './store.ts';

/** One write of events to an inline destination, as the attempts log records it. */
export interface InlineAttempt {
  destination: string;
  /** Attempts-log id of each event's write (the derived delivery id of request 0). */
  ids: readonly string[];
  /** The destination's target ("daemon log", "/var/log/relay.jsonl"). */
  target: string;
  time: number;
  latencyMs: number;
  /** null: written and durable; else why not (the spool record is kept and retried). */
  error: string | null;
}

const SQL = {
  attempt: `INSERT INTO attempts (delivery_id, destination, time, outcome, status, latency_ms, error, target) VALUES (?, ?, ?, ?, NULL, ?, ?, ?)`,
  success: `INSERT INTO destination_state (name, consecutive_failures, last_success_at) VALUES (?, 0, ?)
    ON CONFLICT(name) DO UPDATE SET consecutive_failures = 0, last_success_at = excluded.last_success_at`,
  failure: `INSERT INTO destination_state (name, consecutive_failures, last_error, last_error_at) VALUES (?, 1, ?, ?)
    ON CONFLICT(name) DO UPDATE SET consecutive_failures = consecutive_failures + 1, last_error = excluded.last_error, last_error_at = excluded.last_error_at`,
};

/** Record inline writes (joins the caller's transaction when there is one). */
export function recordInlineAttempts(store: Store, attempts: readonly InlineAttempt[]): void {
  if (attempts.length === 0) return;
  store.transaction(() => {
    for (const a of attempts) {
      const error = a.error === null ? null : store.redact(a.error);
      const target = store.redact(a.target);
      for (const id of a.ids) store.statement(SQL.attempt).run(id, a.destination, a.time, error === null ? 'delivered' : 'retry', a.latencyMs, error, target);
      if (error === null) store.statement(SQL.success).run(a.destination, a.time);
      else store.statement(SQL.failure).run(a.destination, error, a.time);
    }
  }, { durable: false });
}
