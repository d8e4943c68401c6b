// Read-only questions the operator CLI asks (`relay status`, `relay
// deliveries`, `relay show`, `relay dlq list`). Plain functions over an open
// store; they work on a read-only handle while the daemon writes.

import type { Store } from './store.ts';
import { nextSendAt } from './next-attempt.ts';
import { StoreError } from './store.ts';
import { redactHeaders } from '../log/redact.ts';
import type { AttemptTimings } from '../destinations/timings.ts';
import type { AttemptRecord } from './queue.ts';

/** Delivery states: pending → in_flight → delivered | pending (retry) | dead; dead → dropped or pending (replay). */
export type DeliveryState = 'pending' | 'in_flight' | 'delivered' | 'dead' | 'dropped';

/** Health and queue of one destination. */
export interface DestinationStatus {
  name: string;
  paused: boolean;
  /** When and by whom it was paused (null when not paused, or paused before this was recorded). */
  pausedAt: number | null;
  pausedBy: string | null;
  circuitOpen: boolean;
  consecutiveFailures: number;
  /** When the open circuit lets the next probe through (ms epoch). */
  nextProbeAt: number | null;
  /**
   * While the circuit is open: when its next attempt is due before the
   * circuit's say (nextSendAt) — the probe time if a pending delivery is due
   * by then, else the earliest retry time; null while closed.
   */
  nextDueAt: number | null;
  /** Pending + in flight. */
  queued: number;
  inFlight: number;
  /** Queued deliveries that already failed at least once. */
  retrying: number;
  oldestQueuedAt: number | null;
  oldestQueuedAgeMs: number | null;
  lastSuccessAt: number | null;
  lastError: string | null;
  lastErrorAt: number | null;
  deliveredLastHour: number;
  /** Failed attempts (retry or dead outcome) in the last hour. */
  failedLastHour: number;
  /** Dead letters waiting for `dlq retry` or `dlq drop`. */
  dead: number;
}

/** One delivery without its body. */
export interface DeliverySummary {
  id: string;
  eventId: string;
  destination: string;
  repoKey: string;
  label: string;
  state: DeliveryState;
  /** Every attempt recorded for it, across redeliveries (what \`show\` lists); never less than the current round's count. */
  attempts: number;
  createdAt: number;
  nextAttemptAt: number;
  firstAttemptAt: number | null;
  lastAttemptAt: number | null;
  lastStatus: number | null;
  lastError: string | null;
  deliveredAt: number | null;
  bodyBytes: number;
  /** The body was dropped by retention after delivery. */
  bodyPruned: boolean;
}

/** One delivery with its request and every recorded attempt. */
export interface DeliveryDetail extends DeliverySummary {
  eventTime: string;
  trigger: string;
  /** Format headers, redacted (auth and signatures are added at send time and never stored). */
  headers: Record<string, string>;
  signatureHeader: string | null;
  /** Body as UTF-8 text, or null when pruned. */
  body: string | null;
  attemptLog: (AttemptRecord & { id: number })[];
}

/** Filters of listDeliveries. */
export interface DeliveryFilter {
  destination?: string;
  state?: DeliveryState;
  /** Dead, or queued after at least one failed attempt. */
  failed?: boolean;
  /** Created at or after (ms epoch). */
  since?: number;
  /** "PROJ/slug" */
  repo?: string;
  eventId?: string;
  /** Last HTTP status seen. */
  status?: number;
  /** The event's trigger (push, merge, …). */
  trigger?: string;
  /** Created before (ms epoch). */
  until?: number;
  /** Page cursor: only deliveries listed after this one (newest first). */
  before?: string;
  /** Default 50. */
  limit?: number;
}

const HOUR = 3_600_000;

/** Status of every destination that has state or rows, plus any `names` given (configured ones). */
export function destinationStatus(store: Store, now: number = Date.now(), names: readonly string[] = []): DestinationStatus[] {
  const known = (store.statement('SELECT name FROM destination_state ORDER BY name').all() as { name: string }[]).map((r) => r.name);
  const all = [...new Set([...names, ...known])];
  // Covered by deliveries_state (destination, state, created_at, attempts): no table rows read, even for
  // 1,000,000 delivered or 15,000 dead. next_attempt_at is not in it, so the next due time is read only
  // where it is shown: a destination whose circuit is open. Then one pending delivery due by the probe
  // settles it, found in the first rows as a rule (those queued behind a failing head are long due);
  // only when every one is due later are they all read for the earliest.
  const counts = store.statement(`SELECT count(*) AS n, min(created_at) AS oldest, sum(attempts > 0) AS retrying
    FROM deliveries WHERE destination = ? AND state = ?`);
  const dueBy = store.statement(`SELECT 1 AS due FROM deliveries WHERE destination = ? AND state = 'pending' AND next_attempt_at <= ? LIMIT 1`);
  const earliestDue = store.statement(`SELECT min(next_attempt_at) AS due FROM deliveries WHERE destination = ? AND state = 'pending'`);
  const nextDue = (name: string, probeAt: number | null): number | null =>
    probeAt !== null && dueBy.get(name, probeAt) ? probeAt : ((earliestDue.get(name) as { due: number | null }).due ?? null);
  // outcome IN (every outcome there is): three range seeks along (destination, outcome, time) instead of a walk over the destination's whole log.
  const attempts = store.statement(`SELECT outcome, count(*) AS n FROM attempts WHERE destination = ? AND outcome IN ('delivered', 'retry', 'dead') AND time >= ? GROUP BY outcome`);
  const state = store.statement('SELECT * FROM destination_state WHERE name = ?');
  return all.map((name) => {
    const c = (s: DeliveryState) => counts.get(name, s) as { n: number; oldest: number | null; retrying: number | null };
    const pending = c('pending');
    const inFlight = c('in_flight');
    const dead = c('dead');
    const oldest = [pending.oldest, inFlight.oldest].filter((x): x is number => x !== null);
    const oldestQueuedAt = oldest.length ? Math.min(...oldest) : null;
    const byOutcome = new Map((attempts.all(name, now - HOUR) as { outcome: string; n: number }[]).map((r) => [r.outcome, r.n]));
    const st = state.get(name) as Record<string, any> | undefined;
    return {
      name,
      paused: Boolean(st?.paused),
      pausedAt: st?.paused ? (st?.paused_at ?? null) : null,
      pausedBy: st?.paused ? (st?.paused_by ?? null) : null,
      circuitOpen: Boolean(st?.circuit_open),
      consecutiveFailures: st?.consecutive_failures ?? 0,
      nextProbeAt: st?.circuit_open ? (st?.next_probe_at ?? null) : null,
      nextDueAt: st?.circuit_open && pending.n > 0 ? nextDue(name, st?.next_probe_at ?? null) : null,
      queued: pending.n + inFlight.n,
      inFlight: inFlight.n,
      retrying: (pending.retrying ?? 0) + (inFlight.retrying ?? 0),
      oldestQueuedAt,
      oldestQueuedAgeMs: oldestQueuedAt === null ? null : Math.max(0, now - oldestQueuedAt),
      lastSuccessAt: st?.last_success_at ?? null,
      lastError: st?.last_error ?? null,
      lastErrorAt: st?.last_error_at ?? null,
      deliveredLastHour: byOutcome.get('delivered') ?? 0,
      failedLastHour: (byOutcome.get('retry') ?? 0) + (byOutcome.get('dead') ?? 0),
      dead: dead.n,
    };
  });
}

/** Summary columns, optionally qualified with a table alias. */
function summaryColumns(alias = ''): string {
  const cols = ['id', 'event_id', 'destination', 'repo_key', 'label', 'state', 'attempts', 'created_at', 'next_attempt_at',
    'first_attempt_at', 'last_attempt_at', 'last_status', 'last_error', 'delivered_at', 'body_bytes'];
  const p = alias ? alias + '.' : '';
  // The destination's open circuit delays the next attempt (nextSendAt): carried along so every view shows the same time.
  const q = p || 'deliveries.';
  const probe = `(SELECT next_probe_at FROM destination_state s WHERE s.name = ${q}destination AND s.circuit_open) AS circuit_probe_at`;
  // Attempts as the operator counts them: every one recorded, also before a redeliver / dlq retry reset the round (issue 15 item 10).
  const logged = `(SELECT count(*) FROM attempts a WHERE a.delivery_id = ${q}id) AS attempts_logged`;
  return [...cols.map((c) => p + c), `${p}body_id IS NULL AS body_pruned`, probe, logged].join(', ');
}

/** Deliveries matching `filter`, newest first. */
export function listDeliveries(store: Store, filter: DeliveryFilter = {}): DeliverySummary[] {
  const where: string[] = [];
  const args: (string | number)[] = [];
  if (filter.destination !== undefined) {
    where.push('destination = ?');
    args.push(filter.destination);
  }
  if (filter.state !== undefined) {
    where.push('state = ?');
    args.push(filter.state);
  }
  // Word for word the WHERE of the partial index deliveries_failed (migration 5), so SQLite walks only failing rows.
  if (filter.failed) where.push(`(state = 'dead' OR (state IN ('pending', 'in_flight') AND attempts > 0))`);
  if (filter.since !== undefined) {
    where.push('created_at >= ?');
    args.push(filter.since);
  }
  if (filter.repo !== undefined) {
    where.push('repo_key = ?');
    args.push(filter.repo);
  }
  if (filter.eventId !== undefined) {
    where.push('event_id = ?');
    args.push(filter.eventId);
  }
  if (filter.status !== undefined) {
    where.push('last_status = ?');
    args.push(filter.status);
  }
  if (filter.trigger !== undefined) {
    where.push('event_id IN (SELECT id FROM events WHERE trigger = ?)');
    args.push(filter.trigger);
  }
  if (filter.until !== undefined) {
    where.push('created_at < ?');
    args.push(filter.until);
  }
  if (filter.before !== undefined) {
    const cursor = store.statement('SELECT created_at, seq FROM deliveries WHERE id = ?').get(filter.before) as { created_at: number; seq: number } | undefined;
    if (cursor) {
      where.push('(created_at < ? OR (created_at = ? AND seq < ?))');
      args.push(cursor.created_at, cursor.created_at, cursor.seq);
    }
  }
  const limit = Math.max(1, Math.min(filter.limit ?? 50, 100_000));
  // Without statistics SQLite prefers an OR over two state indexes plus a sort of every match; the partial index is already in order.
  const from = filter.failed ? 'deliveries INDEXED BY deliveries_failed' : 'deliveries';
  const sql = `SELECT ${summaryColumns()} FROM ${from} ${where.length ? 'WHERE ' + where.join(' AND ') : ''}
    ORDER BY created_at DESC, seq DESC LIMIT ${limit}`;
  return (store.db.prepare(sql).all(...args) as Record<string, any>[]).map(toSummary);
}

/** Dead letters, oldest first. */
export function listDeadLetters(store: Store, options: { destination?: string; limit?: number } = {}): DeliverySummary[] {
  return listDeliveries(store, { destination: options.destination, state: 'dead', limit: options.limit ?? 100 }).reverse();
}

/** Resolve a full delivery id or a unique prefix (≥ 4 characters); null when nothing matches. */
export function resolveDeliveryId(store: Store, idOrPrefix: string): string | null {
  const exact = store.statement('SELECT id FROM deliveries WHERE id = ?').get(idOrPrefix) as { id: string } | undefined;
  if (exact) return exact.id;
  if (idOrPrefix.length < 4 || !/^[0-9a-f-]+$/i.test(idOrPrefix)) return null;
  const lower = idOrPrefix.toLowerCase();
  const rows = store.statement('SELECT id FROM deliveries WHERE id >= ? AND id < ? LIMIT 2').all(lower, lower + '\uffff') as { id: string }[];
  if (rows.length > 1) throw new StoreError(`delivery id prefix "${idOrPrefix}" matches several deliveries; give more characters`);
  return rows[0]?.id ?? null;
}

/** One delivery with its request and attempts, or null if unknown. */
export function showDelivery(store: Store, idOrPrefix: string): DeliveryDetail | null {
  const id = resolveDeliveryId(store, idOrPrefix);
  if (id === null) return null;
  const r = store
    .statement(`SELECT ${summaryColumns('d')}, d.headers, d.signature_header, b.body,
      e.time AS event_time, e.trigger FROM deliveries d JOIN events e ON e.id = d.event_id
      LEFT JOIN bodies b ON b.id = d.body_id WHERE d.id = ?`)
    .get(id) as Record<string, any>;
  const attempts = store
    .statement('SELECT * FROM attempts WHERE delivery_id = ? ORDER BY time, id')
    .all(id) as Record<string, any>[];
  const body = r.body as Uint8Array | null;
  return {
    ...toSummary(r),
    eventTime: r.event_time,
    trigger: r.trigger,
    headers: redactHeaders(JSON.parse(r.headers)),
    signatureHeader: r.signature_header,
    body: body ? Buffer.from(body).toString('utf8') : null,
    attemptLog: attempts.map((a) => ({
      id: a.id,
      deliveryId: a.delivery_id,
      destination: a.destination,
      time: a.time,
      outcome: a.outcome,
      status: a.status,
      latencyMs: a.latency_ms,
      error: a.error,
      detail: a.detail,
      responseExcerpt: a.response_excerpt,
      location: a.location,
      target: a.target,
      responseHeaders: a.response_headers ? (JSON.parse(a.response_headers) as Record<string, string>) : null,
      timings: a.timings ? (JSON.parse(a.timings) as AttemptTimings) : null,
    })),
  };
}

function toSummary(r: Record<string, any>): DeliverySummary {
  return {
    id: r.id,
    eventId: r.event_id,
    destination: r.destination,
    repoKey: r.repo_key,
    label: r.label,
    state: r.state,
    // The larger of the round's count and the log's: retention may have pruned old attempts.
    attempts: Math.max(r.attempts, r.attempts_logged ?? 0),
    createdAt: r.created_at,
    nextAttemptAt: r.state === 'pending' || r.state === 'in_flight'
      ? nextSendAt(r.next_attempt_at, { open: r.circuit_probe_at !== null && r.circuit_probe_at !== undefined, nextProbeAt: r.circuit_probe_at ?? null })
      : r.next_attempt_at,
    firstAttemptAt: r.first_attempt_at,
    lastAttemptAt: r.last_attempt_at,
    lastStatus: r.last_status,
    lastError: r.last_error,
    deliveredAt: r.delivered_at,
    bodyBytes: r.body_bytes,
    bodyPruned: Boolean(r.body_pruned),
  };
}

/** Destination names the store knows (delivery rows or state), configured or not, sorted. */
export function storedDestinationNames(store: Store): string[] {
  const rows = store.statement(`SELECT name FROM destination_state UNION SELECT DISTINCT destination FROM deliveries ORDER BY 1`).all() as { name: string }[];
  return rows.map((r) => r.name);
}

/** Deliveries of a destination still queued (pending or in flight). */
export function queuedCount(store: Store, destination: string): number {
  const r = store.statement(`SELECT count(*) AS n FROM deliveries WHERE destination = ? AND state IN ('pending', 'in_flight')`).get(destination) as { n: number };
  return Number(r.n);
}

/** Destinations that have dead letters, sorted. */
export function destinationsWithDeadLetters(store: Store): string[] {
  return (store.statement(`SELECT DISTINCT destination FROM deliveries WHERE state = 'dead' ORDER BY destination`).all() as { destination: string }[]).map((r) => r.destination);
}

/** The destination of a delivery, or null when there is no such delivery. */
export function destinationOfDelivery(store: Store, id: string): string | null {
  const r = store.statement('SELECT destination FROM deliveries WHERE id = ?').get(id) as { destination: string } | undefined;
  return r?.destination ?? null;
}

/** Ids a destination's bulk redeliver since `since` selects (delivered and dead, FIFO order; the same selection as redeliver()). */
export function redeliverableIds(store: Store, destination: string, since: number): string[] {
  const rows = store.statement(`SELECT id FROM deliveries WHERE destination = ? AND state IN ('delivered', 'dead') AND created_at >= ? ORDER BY seq`).all(destination, since) as { id: string }[];
  return rows.map((r) => r.id);
}

/** Where a set of deliveries stands. */
export interface DeliveryProgress {
  total: number;
  queued: number;
  delivered: number;
  dead: number;
  dropped: number;
  /** Ids no longer in the store (pruned). */
  missing: number;
}

/** Count a set of deliveries by state (in chunks of 500 ids). */
export function deliveryProgress(store: Store, ids: readonly string[]): DeliveryProgress {
  const out: DeliveryProgress = { total: ids.length, queued: 0, delivered: 0, dead: 0, dropped: 0, missing: 0 };
  let found = 0;
  for (let i = 0; i < ids.length; i += 500) {
    const chunk = ids.slice(i, i + 500);
    const rows = store.db
      .prepare(`SELECT state, count(*) AS n FROM deliveries WHERE id IN (${chunk.map(() => '?').join(',')}) GROUP BY state`)
      .all(...chunk) as { state: string; n: number }[];
    for (const r of rows) {
      const n = Number(r.n);
      found += n;
      if (r.state === 'pending' || r.state === 'in_flight') out.queued += n;
      else if (r.state === 'delivered') out.delivered += n;
      else if (r.state === 'dead') out.dead += n;
      else if (r.state === 'dropped') out.dropped += n;
    }
  }
  out.missing = ids.length - found;
  return out;
}
