// Store invariant: every event has all of its delivery rows. enqueue records
// how many rows an event got (events.deliveries) in the same transaction as
// the rows; a row missing later means a delivery was lost. Retention deletes
// finished rows only once they are older than store.log.maxAge, so events
// younger than that must still have every row.

import type { Store } from './store.ts';

/** An event whose delivery rows are not all there. */
export interface MissingDeliveries {
  eventId: string;
  repoKey: string;
  expected: number;
  found: number;
}

// Only the events lacking rows come back to JS: a million events checked
// make no garbage (materialising every row took most of the ~3 s and left
// the heap larger).
const CHECK_SQL = `SELECT id, repo_key, expected, found FROM (
    SELECT e.id, e.repo_key, e.deliveries AS expected,
      (SELECT count(*) FROM deliveries d WHERE d.event_id = e.id) AS found
    FROM events e
    WHERE e.rowid > ? AND e.rowid <= ? AND e.deliveries IS NOT NULL AND e.created_at >= ?)
  WHERE found < expected`;
const LAST_ROWID_SQL = 'SELECT max(rowid) AS last FROM events';

/**
 * Events after rowid `afterRowid` (created within the retention window) that
 * lack delivery rows, looking at the next `maxEvents` rowids at most; also
 * returns the last rowid looked at, so a caller can check only what is new
 * next time (rows of an event are written with it, so a checked event cannot
 * lose rows later except by retention), and whether it reached the newest event.
 */
export function findMissingDeliveries(store: Store, now: number = Date.now(), afterRowid = 0, maxEvents = Infinity): { missing: MissingDeliveries[]; lastRowid: number; caughtUp: boolean } {
  const cutoff = now - store.limits.logMaxAgeMs;
  const newest = Number((store.statement(LAST_ROWID_SQL).get() as { last: number | null }).last ?? 0);
  const lastRowid = Math.max(afterRowid, Math.min(newest, afterRowid + maxEvents));
  const missing: MissingDeliveries[] = [];
  if (lastRowid > afterRowid) {
    for (const row of store.statement(CHECK_SQL).all(afterRowid, lastRowid, cutoff) as { id: string; repo_key: string; expected: number; found: number }[]) {
      missing.push({ eventId: row.id, repoKey: row.repo_key, expected: Number(row.expected), found: Number(row.found) });
    }
  }
  return { missing, lastRowid, caughtUp: lastRowid >= newest };
}

/** The operator-facing sentence for missing rows (null when none). */
export function describeMissingDeliveries(storePath: string, missing: readonly MissingDeliveries[]): string | null {
  if (missing.length === 0) return null;
  const lost = missing.reduce((n, m) => n + m.expected - m.found, 0);
  const ids = missing.slice(0, 5).map((m) => `${m.eventId} (${m.repoKey}, ${m.found} of ${m.expected})`).join(', ');
  const more = missing.length > 5 ? ` and ${missing.length - 5} more` : '';
  return `store ${storePath} is inconsistent: ${missing.length} event${missing.length === 1 ? ' lacks' : 's lack'} ${lost} delivery row${lost === 1 ? '' : 's'}: ${ids}${more}; ` +
    `those deliveries were lost (was a second writer on the store?); resend them with \`relay backfill\` for the affected repositories`;
}

/**
 * Incremental checker for the daemon: the first runs check the window, later
 * runs only new events; each run looks at `maxEvents` events at most (a
 * store of a million events takes seconds to check, which must not hold the
 * daemon's event loop in one piece).
 */
export class DeliveryRowsCheck {
  private lastRowid = 0;
  private readonly missing = new Map<string, MissingDeliveries>();
  private readonly store: Store;
  private readonly maxEvents: number;
  /** The last run reached the newest event. */
  caughtUp = false;
  constructor(store: Store, maxEvents = Infinity) {
    this.store = store;
    this.maxEvents = maxEvents;
  }
  /** Check what is new (the next maxEvents rowids at most); returns every event found lacking rows so far. */
  run(now: number = Date.now()): MissingDeliveries[] {
    const r = findMissingDeliveries(this.store, now, this.lastRowid, this.maxEvents);
    this.lastRowid = r.lastRowid;
    this.caughtUp = r.caughtUp;
    for (const m of r.missing) this.missing.set(m.eventId, m);
    return [...this.missing.values()];
  }
}
