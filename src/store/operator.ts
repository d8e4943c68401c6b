// Operator actions on the queue (`relay redeliver`, `relay dlq retry|drop`,
// `relay pause|resume`). They run in the daemon (through the control socket),
// the only writer, and notify its dispatcher so work starts at once.
// A replayed delivery keeps its id (consumers see the same X-Relay-Delivery)
// and goes to the back of its (destination, repository) lane.

import type { Store } from './store.ts';
import { StoreError } from './store.ts';
import { resolveDeliveryId } from './queries.ts';

/** What a requeue did. */
export interface RequeueResult {
  requeued: number;
  /** Deliveries that could not be replayed, with why. */
  skipped: { id: string; reason: string }[];
  /** Requeued, by the state each was in: pending ones were only made due now. */
  byState?: Partial<Record<RedeliverState, number>>;
  /** Every delivery requeued (in queue order). */
  ids?: string[];
}

/** States a bulk redeliver can select: `--pending` (send now), `--delivered` (send again), `--failed` (dead). */
export type RedeliverState = 'pending' | 'delivered' | 'dead';

/** Which deliveries an operator action applies to. */
export type DeliveryTarget = { id: string } | { destination: string; since?: number };

interface Row {
  id: string;
  destination: string;
  state: string;
  has_body: number;
}

function selectTargets(store: Store, target: DeliveryTarget, states: readonly string[]): Row[] {
  const inStates = states.map((s) => `'${s}'`).join(', ');
  if ('id' in target) {
    const id = resolveDeliveryId(store, target.id);
    if (id === null) throw new StoreError(`no delivery with id "${target.id}"; list them with \`relay deliveries\``);
    return store.statement(`SELECT id, destination, state, body_id IS NOT NULL AS has_body FROM deliveries WHERE id = ?`).all(id) as unknown as Row[];
  }
  return store
    .statement(`SELECT id, destination, state, body_id IS NOT NULL AS has_body FROM deliveries
      WHERE destination = ? AND state IN (${inStates}) AND created_at >= ? ORDER BY seq`)
    .all(target.destination, target.since ?? 0) as unknown as Row[];
}

function requeueRows(store: Store, rows: Row[], allowed: readonly string[], now: number): RequeueResult {
  const result: RequeueResult = { requeued: 0, skipped: [], byState: {}, ids: [] };
  const destinations = new Set<string>();
  const count = (r: Row): void => {
    const key = (r.state === 'in_flight' ? 'pending' : r.state) as RedeliverState;
    result.byState![key] = (result.byState![key] ?? 0) + 1;
    result.ids!.push(r.id);
  };
  const replay = store.statement(`UPDATE deliveries SET state = 'pending', seq = ?, attempts = 0, first_attempt_at = NULL,
    next_attempt_at = ?, delivered_at = NULL, finished_at = NULL WHERE id = ?`);
  const retryNow = store.statement(`UPDATE deliveries SET next_attempt_at = ? WHERE id = ? AND state = 'pending'`);
  store.transaction(() => {
    for (const r of rows) {
      if (r.state === 'pending' || r.state === 'in_flight') {
        // Already queued: just make it due now.
        retryNow.run(now, r.id);
        result.requeued++;
        count(r);
        destinations.add(r.destination);
      } else if (!allowed.includes(r.state)) {
        result.skipped.push({ id: r.id, reason: `state is ${r.state}` });
      } else if (!r.has_body) {
        result.skipped.push({ id: r.id, reason: 'body was pruned by retention (store.log / delivered-body age); it cannot be replayed' });
      } else {
        replay.run(store.nextSeq(), now, r.id);
        result.requeued++;
        count(r);
        destinations.add(r.destination);
      }
    }
  });
  if (destinations.size) store.notify({ kind: 'requeued', destinations: [...destinations] });
  return result;
}

/**
 * Send again: one delivery by id (any state), or a destination's deliveries
 * in `states` since a time (default delivered and dead). Pending ones are
 * made due now, and an open circuit lets its probe out now ("send now").
 */
export function redeliver(store: Store, target: DeliveryTarget, now: number = Date.now(), states: readonly RedeliverState[] = ['delivered', 'dead']): RequeueResult {
  const selected = states.flatMap((s) => (s === 'pending' ? ['pending', 'in_flight'] : [s]));
  const rows = selectTargets(store, target, selected);
  if (!('id' in target) && states.includes('pending')) probeNow(store, target.destination, now);
  return requeueRows(store, rows, ['delivered', 'dead', 'dropped'], now);
}

/** An open circuit's next probe goes now (the operator says the receiver is fixed); the first success closes it. */
function probeNow(store: Store, destination: string, now: number): void {
  store.statement('UPDATE destination_state SET next_probe_at = ? WHERE name = ? AND circuit_open').run(now, destination);
  store.notify({ kind: 'probe-now', destination });
}

/** Replay dead letters: one by id, or all of a destination (optionally since a time). */
export function retryDeadLetters(store: Store, target: DeliveryTarget, now: number = Date.now()): RequeueResult {
  return requeueRows(store, selectTargets(store, target, ['dead']), ['dead'], now);
}

/** Give up on dead letters for good (kept as `dropped` until retention removes them). Returns how many. */
export function dropDeadLetters(store: Store, target: DeliveryTarget, now: number = Date.now()): number {
  const rows = selectTargets(store, target, ['dead']).filter((r) => r.state === 'dead');
  const drop = store.statement(`UPDATE deliveries SET state = 'dropped', finished_at = ? WHERE id = ? AND state = 'dead'`);
  store.transaction(() => {
    for (const r of rows) drop.run(now, r.id);
  });
  return rows.length;
}

/** Drop every queued delivery of a destination (one removed from the config); returns how many. */
export function dropQueuedDeliveries(store: Store, destination: string, now: number = Date.now()): number {
  const sql = `UPDATE deliveries SET state = 'dropped', finished_at = ? WHERE destination = ? AND state IN ('pending', 'in_flight')`;
  const n = Number(store.transaction(() => store.statement(sql).run(now, destination)).changes);
  if (n > 0) store.notify({ kind: 'requeued', destinations: [destination] });
  return n;
}

/** Stop sending to a destination; deliveries keep queueing. `by` names the operator (status shows who and since when). */
export function pauseDestination(store: Store, name: string, by: string | null = null, now: number = Date.now()): void {
  // Pausing again keeps the first time and operator: the queue has grown since then.
  store
    .statement(`INSERT INTO destination_state (name, paused, paused_at, paused_by) VALUES (?, 1, ?, ?)
      ON CONFLICT(name) DO UPDATE SET paused_at = CASE WHEN paused THEN paused_at ELSE excluded.paused_at END,
        paused_by = CASE WHEN paused THEN paused_by ELSE excluded.paused_by END, paused = 1`)
    .run(name, now, by);
  store.notify({ kind: 'paused', destination: name });
}

/** Resume sending to a paused destination. */
export function resumeDestination(store: Store, name: string): void {
  store
    .statement(`INSERT INTO destination_state (name, paused) VALUES (?, 0) ON CONFLICT(name) DO UPDATE SET paused = 0, paused_at = NULL, paused_by = NULL`)
    .run(name);
  store.notify({ kind: 'resumed', destination: name });
}

/** Whether the operator paused a destination. */
export function isPaused(store: Store, name: string): boolean {
  const r = store.statement('SELECT paused FROM destination_state WHERE name = ?').get(name) as { paused: number } | undefined;
  return Boolean(r?.paused);
}
