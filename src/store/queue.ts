// The dispatcher's view of the store: lane heads to send next, and the
// batched writes that record what happened (claims, attempts, outcomes,
// destination state). Writes are applied in one transaction per batch so a
// busy drain pays one fsync per batch, not per delivery.

import type { AttemptTimings } from '../destinations/timings.ts';
import { maskHeaderValues } from '../log/redact.ts';
import type { Store } from './store.ts';

/** A pending delivery, everything needed to send it. */
export interface QueuedDelivery {
  id: string;
  seq: number;
  eventId: string;
  destination: string;
  repoKey: string;
  projectKey: string;
  repoSlug: string;
  repoId: number | null;
  label: string;
  headers: Record<string, string>;
  signatureHeader: string | null;
  /** bodies.id, read at send time with readBody. */
  bodyId: number | null;
  attempts: number;
  nextAttemptAt: number;
  firstAttemptAt: number | null;
  createdAt: number;
}

/** One row of the delivery log. */
export interface AttemptRecord {
  deliveryId: string;
  destination: string;
  time: number;
  outcome: 'delivered' | 'retry' | 'dead';
  /** HTTP status where the kind has one and a response arrived, else null. */
  status: number | null;
  latencyMs: number;
  /** Redacted error text (network error, timeout, rejection, horizon …). */
  error: string | null;
  /** Short kind-specific detail (a broker's ack …), or null. */
  detail: string | null;
  /** Redacted first ≤ 2 KiB of the response body. */
  responseExcerpt: string | null;
  /** Redacted Location of a 3xx. */
  location: string | null;
  /** Redacted target the attempt went to (URL, subject, exchange/routing key). */
  target: string;
  /** The receiver's response headers, redacted and capped; null when none (no response, or a kind without headers). */
  responseHeaders?: Record<string, string> | null;
  /** Per-phase timings of an http attempt, null for other kinds or when none were measured. */
  timings?: AttemptTimings | null;
}

/** Circuit and health fields of a destination the dispatcher owns (paused is the operator's). */
export interface DestinationHealth {
  circuitOpen: boolean;
  consecutiveFailures: number;
  circuitOpenedAt: number | null;
  nextProbeAt: number | null;
  lastSuccessAt: number | null;
  lastError: string | null;
  lastErrorAt: number | null;
}

/** A queued write, applied in order by applyQueueWrites. */
export type QueueWrite =
  | { kind: 'in_flight'; id: string }
  /** Back to pending without counting an attempt (shutdown aborted it). */
  | { kind: 'release'; id: string }
  | {
      kind: 'attempt';
      attempt: AttemptRecord;
      /** Attempts made so far, including this one. */
      attempts: number;
      firstAttemptAt: number;
      /** For outcome retry: when to try again. */
      nextAttemptAt: number;
    }
  | { kind: 'health'; destination: string; health: DestinationHealth };

/** Rows a crash left in flight go back to pending (they may be sent twice). Returns how many. */
export function recoverInFlight(store: Store): number {
  return Number(store.statement(`UPDATE deliveries SET state = 'pending' WHERE state = 'in_flight'`).run().changes);
}

/** Repositories with pending deliveries for a destination. */
export function pendingLanes(store: Store, destination: string): string[] {
  const rows = store
    .statement(`SELECT DISTINCT repo_key FROM deliveries WHERE destination = ? AND state IN ('pending', 'in_flight')`)
    .all(destination) as { repo_key: string }[];
  return rows.map((r) => r.repo_key);
}

const LANE_SQL = `SELECT d.id, d.seq, d.event_id, d.destination, d.repo_key, e.project_key, e.repo_slug, e.repo_id,
    d.label, d.headers, d.signature_header, d.body_id, d.attempts, d.next_attempt_at, d.first_attempt_at, d.created_at
  FROM deliveries d JOIN events e ON e.id = d.event_id
  WHERE d.destination = ? AND d.repo_key = ? AND d.state IN ('pending', 'in_flight') AND d.seq > ?
  ORDER BY d.seq LIMIT ?`;

/** The oldest `limit` queued deliveries of a lane after `afterSeq` (the lane's last finished seq), in FIFO order, without bodies. */
export function laneRows(store: Store, destination: string, repoKey: string, afterSeq: number, limit = 1): QueuedDelivery[] {
  const rows = store.statement(LANE_SQL).all(destination, repoKey, afterSeq, limit) as Record<string, any>[];
  return rows.map((r) => ({
    id: r.id,
    seq: r.seq,
    eventId: r.event_id,
    destination: r.destination,
    repoKey: r.repo_key,
    projectKey: r.project_key,
    repoSlug: r.repo_slug,
    repoId: r.repo_id,
    label: r.label,
    headers: JSON.parse(r.headers),
    signatureHeader: r.signature_header,
    bodyId: r.body_id,
    attempts: r.attempts,
    nextAttemptAt: r.next_attempt_at,
    firstAttemptAt: r.first_attempt_at,
    createdAt: r.created_at,
  }));
}

/** The oldest queued delivery of a lane after `afterSeq`, or null. */
export function laneHead(store: Store, destination: string, repoKey: string, afterSeq: number): QueuedDelivery | null {
  return laneRows(store, destination, repoKey, afterSeq, 1)[0] ?? null;
}

/** A delivery's request body (empty when pruned, which never happens to queued rows). */
export function readBody(store: Store, bodyId: number | null): Buffer {
  if (bodyId === null) return Buffer.alloc(0);
  const r = store.statement('SELECT body FROM bodies WHERE id = ?').get(bodyId) as { body: Uint8Array } | undefined;
  return r ? Buffer.from(r.body.buffer, r.body.byteOffset, r.body.byteLength) : Buffer.alloc(0);
}

/** The stored health of a destination (defaults when never seen). */
export function readHealth(store: Store, destination: string): DestinationHealth & { paused: boolean } {
  const r = store.statement('SELECT * FROM destination_state WHERE name = ?').get(destination) as Record<string, any> | undefined;
  return {
    paused: Boolean(r?.paused),
    circuitOpen: Boolean(r?.circuit_open),
    consecutiveFailures: r?.consecutive_failures ?? 0,
    circuitOpenedAt: r?.circuit_opened_at ?? null,
    nextProbeAt: r?.next_probe_at ?? null,
    lastSuccessAt: r?.last_success_at ?? null,
    lastError: r?.last_error ?? null,
    lastErrorAt: r?.last_error_at ?? null,
  };
}

const SQL = {
  inFlight: `UPDATE deliveries SET state = 'in_flight' WHERE id = ? AND state = 'pending'`,
  release: `UPDATE deliveries SET state = 'pending' WHERE id = ? AND state = 'in_flight'`,
  attempt: `INSERT INTO attempts (delivery_id, destination, time, outcome, status, latency_ms, error, detail, response_excerpt, location, target, response_headers, timings)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  delivered: `UPDATE deliveries SET state = 'delivered', attempts = ?, first_attempt_at = ?, last_attempt_at = ?,
    last_status = ?, last_error = NULL, delivered_at = ?, finished_at = ? WHERE id = ? AND state IN ('pending', 'in_flight')`,
  dead: `UPDATE deliveries SET state = 'dead', attempts = ?, first_attempt_at = ?, last_attempt_at = ?,
    last_status = ?, last_error = ?, finished_at = ? WHERE id = ? AND state IN ('pending', 'in_flight')`,
  retry: `UPDATE deliveries SET state = 'pending', attempts = ?, first_attempt_at = ?, last_attempt_at = ?,
    last_status = ?, last_error = ?, next_attempt_at = ? WHERE id = ? AND state IN ('pending', 'in_flight')`,
  health: `INSERT INTO destination_state (name, circuit_open, consecutive_failures, circuit_opened_at, next_probe_at,
      last_success_at, last_error, last_error_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
    ON CONFLICT(name) DO UPDATE SET circuit_open = excluded.circuit_open, consecutive_failures = excluded.consecutive_failures,
      circuit_opened_at = excluded.circuit_opened_at, next_probe_at = excluded.next_probe_at,
      last_success_at = excluded.last_success_at, last_error = excluded.last_error, last_error_at = excluded.last_error_at`,
};

/**
 * Apply queued writes in one transaction. Not fsync'd: losing the newest
 * bookkeeping to a power cut only resends those deliveries (at-least-once);
 * a process crash loses nothing. The next enqueue's durable commit covers it.
 */
export function applyQueueWrites(store: Store, writes: readonly QueueWrite[]): void {
  if (writes.length === 0) return;
  store.transaction(() => {
    for (const w of writes) {
      switch (w.kind) {
        case 'in_flight':
          store.statement(SQL.inFlight).run(w.id);
          break;
        case 'release':
          store.statement(SQL.release).run(w.id);
          break;
        case 'attempt': {
          const a = w.attempt;
          // Where receivers' answers enter the store: no secret may stay in them.
          const r = (text: string | null): string | null => (text === null ? null : store.redact(text));
          const error = r(a.error);
          store.statement(SQL.attempt).run(a.deliveryId, a.destination, a.time, a.outcome, a.status, a.latencyMs, error, r(a.detail), r(a.responseExcerpt), r(a.location), store.redact(a.target), a.responseHeaders ? JSON.stringify(maskHeaderValues(a.responseHeaders, store.redact)) : null, a.timings ? JSON.stringify(a.timings) : null);
          if (a.outcome === 'delivered') {
            store.statement(SQL.delivered).run(w.attempts, w.firstAttemptAt, a.time, a.status, a.time, a.time, a.deliveryId);
          } else if (a.outcome === 'dead') {
            store.statement(SQL.dead).run(w.attempts, w.firstAttemptAt, a.time, a.status, error, a.time, a.deliveryId);
          } else {
            store.statement(SQL.retry).run(w.attempts, w.firstAttemptAt, a.time, a.status, error, w.nextAttemptAt, a.deliveryId);
          }
          break;
        }
        case 'health': {
          const h = w.health;
          store.statement(SQL.health).run(w.destination, h.circuitOpen ? 1 : 0, h.consecutiveFailures, h.circuitOpenedAt, h.nextProbeAt, h.lastSuccessAt, h.lastError === null ? null : store.redact(h.lastError), h.lastErrorAt);
          break;
        }
      }
    }
  }, { durable: false });
}
