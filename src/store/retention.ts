// Bounded disk: the attempts log is kept by age and row count; delivered and
// dropped deliveries lose their bodies after a while and their rows after the
// log age; events go once nothing refers to them. Freed pages are reused by
// SQLite, so the live size (pages in use + WAL) is what counts against
// store.maxBytes. Queued and dead deliveries are never pruned.

import { statSync } from 'node:fs';
import type { Log } from '../log/logger.ts';
import type { Store } from './store.ts';

/** What one prune pass removed. */
export interface PruneResult {
  attempts: number;
  bodies: number;
  deliveries: number;
  events: number;
}

/** Live size of the store: pages in use plus the WAL file. */
export function storeBytes(store: Store): number {
  const pageSize = pragma(store, 'page_size');
  const pages = pragma(store, 'page_count') - pragma(store, 'freelist_count');
  let wal = 0;
  try {
    wal = statSync(store.path + '-wal').size;
  } catch {
    /* no WAL yet */
  }
  return pages * pageSize + wal;
}

/** The store reached store.maxBytes: intake should stop taking spool records until it frees. */
export function isFull(store: Store): boolean {
  return storeBytes(store) >= store.limits.maxBytes;
}

function pragma(store: Store, name: string): number {
  const row = store.statement(`PRAGMA ${name}`).get() as Record<string, number>;
  return Number(Object.values(row)[0]);
}

/** Rows per DELETE/UPDATE statement, so a prune never holds the write lock for long. */
const CHUNK = 5000;

function chunked(store: Store, sql: string, ...args: (number | string)[]): number {
  let total = 0;
  for (;;) {
    const n = Number(store.transaction(() => store.statement(sql).run(...args, CHUNK)).changes);
    total += n;
    if (n < CHUNK) return total;
  }
}

/** Select up to CHUNK rows, act on them in one transaction, repeat until fewer come back. */
function chunkedPairs(store: Store, select: string, cutoff: number, act: (rows: { id: string; body_id: number | null }[]) => void): number {
  let total = 0;
  for (;;) {
    const n = store.transaction(() => {
      const rows = store.statement(select).all(cutoff, CHUNK) as { id: string; body_id: number | null }[];
      act(rows);
      return rows.length;
    });
    total += n;
    if (n < CHUNK) return total;
  }
}

/** Apply retention once. When the store is full, bodies of finished deliveries go regardless of age. */
export function pruneStore(store: Store, now: number = Date.now()): PruneResult {
  const { logMaxAgeMs, logMaxRows, bodyMaxAgeMs } = store.limits;
  const logCutoff = now - logMaxAgeMs;
  const full = isFull(store);
  const bodyCutoff = full ? now + 1 : now - bodyMaxAgeMs;
  const result: PruneResult = { attempts: 0, bodies: 0, deliveries: 0, events: 0 };

  const destinations = (store.statement('SELECT DISTINCT destination FROM attempts').all() as { destination: string }[]).map((r) => r.destination);
  for (const d of destinations) {
    result.attempts += chunked(store, `DELETE FROM attempts WHERE id IN (SELECT id FROM attempts WHERE destination = ? AND time < ? LIMIT ?)`, d, logCutoff);
  }
  // Row bound: ids only grow, so max-min+1 ≥ count is a cheap test; only then find the exact cutoff.
  const span = store.statement('SELECT coalesce(max(id) - min(id) + 1, 0) AS n FROM attempts').get() as { n: number };
  if (Number(span.n) > logMaxRows) {
    const nth = store.statement('SELECT id FROM attempts ORDER BY id DESC LIMIT 1 OFFSET ?').get(Math.max(0, logMaxRows - 1)) as { id: number } | undefined;
    if (nth) result.attempts += chunked(store, `DELETE FROM attempts WHERE id IN (SELECT id FROM attempts WHERE id < ? ORDER BY id LIMIT ?)`, nth.id);
  }
  result.bodies += chunkedPairs(
    store,
    `SELECT id, body_id FROM deliveries WHERE finished_at < ? AND state IN ('delivered', 'dropped') AND body_id IS NOT NULL LIMIT ?`,
    bodyCutoff,
    (rows) => {
      const drop = store.statement('DELETE FROM bodies WHERE id = ?');
      const unlink = store.statement('UPDATE deliveries SET body_id = NULL WHERE id = ?');
      for (const r of rows) {
        drop.run(r.body_id);
        unlink.run(r.id);
      }
    },
  );
  result.deliveries += chunkedPairs(
    store,
    `SELECT id, body_id FROM deliveries WHERE finished_at < ? AND state IN ('delivered', 'dropped') LIMIT ?`,
    logCutoff,
    (rows) => {
      const drop = store.statement('DELETE FROM bodies WHERE id = ?');
      const remove = store.statement('DELETE FROM deliveries WHERE id = ?');
      for (const r of rows) {
        if (r.body_id !== null) drop.run(r.body_id);
        remove.run(r.id);
      }
    },
  );
  // Event JSON is only needed while a delivery may still be sent or replayed.
  chunked(
    store,
    `UPDATE events SET json = NULL WHERE id IN (SELECT e.id FROM events e WHERE e.json IS NOT NULL AND e.created_at < ?
       AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = e.id AND (d.state IN ('pending', 'in_flight', 'dead') OR d.body_id IS NOT NULL))
       LIMIT ?)`,
    bodyCutoff,
  );
  result.events += chunked(
    store,
    `DELETE FROM events WHERE id IN (SELECT e.id FROM events e WHERE e.created_at < ?
       AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = e.id) LIMIT ?)`,
    logCutoff,
  );
  // The WAL keeps its high-water size after checkpoints and counts against
  // maxBytes: when full, truncate it so the next check sees the live size.
  if (full) store.db.exec('PRAGMA wal_checkpoint(TRUNCATE)');
  return result;
}

/** A running retention timer. */
export interface Maintenance {
  /** Run a prune pass now (also reports full/not-full changes). */
  runNow(): PruneResult;
  stop(): void;
}

/** Prune every `intervalMs` (default 60 s) and log when the store becomes full or frees. */
export function startMaintenance(
  store: Store,
  options: { intervalMs?: number; log?: Log; onFullChange?: (full: boolean) => void } = {},
): Maintenance {
  let full: boolean | null = null;
  const runNow = (): PruneResult => {
    const r = pruneStore(store);
    if (r.attempts + r.bodies + r.deliveries + r.events > 0) options.log?.debug('store pruned', { ...r });
    const nowFull = isFull(store);
    if (nowFull !== full) {
      if (full !== null || nowFull) {
        if (nowFull) options.log?.warn('store is full: intake paused until space frees (store.maxBytes)', { path: store.path, bytes: storeBytes(store), maxBytes: store.limits.maxBytes });
        else options.log?.info('store has space again: intake resumes', { path: store.path, bytes: storeBytes(store) });
      }
      full = nowFull;
      options.onFullChange?.(nowFull);
    }
    return r;
  };
  const timer = setInterval(() => {
    try {
      runNow();
    } catch (err) {
      options.log?.error('store prune failed', { path: store.path, error: (err as Error).message });
    }
  }, options.intervalMs ?? 60_000);
  timer.unref();
  return { runNow, stop: () => clearInterval(timer) };
}
