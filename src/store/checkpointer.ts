// WAL checkpoints on a timer. An automatic checkpoint runs inside whichever
// COMMIT crosses SQLite's threshold (1,000 pages), copying pages into the
// database file and fsyncing it; on a busy drain, where each small
// bookkeeping commit rewrites the same hot pages, that was most of the
// bookkeeping cost. One PASSIVE checkpoint a second writes each hot page once
// and never blocks on readers. The writer keeps a high auto-checkpoint
// threshold as a safety net. (A worker-thread checkpointer was measured too:
// no faster on 2 cores, and its isolate cost ~13 MB RSS.)

import type { DatabaseSync } from 'node:sqlite';

/** A running checkpoint timer. */
export interface Checkpointer {
  stop(): void;
}

/** Pages in the WAL after which a commit checkpoints inline anyway (~64 MB). */
export const FALLBACK_AUTOCHECKPOINT_PAGES = 16_000;

/** Checkpoint `db` (PASSIVE) every `intervalMs`; the timer never keeps the process alive. */
export function startCheckpointer(db: DatabaseSync, intervalMs = 1000): Checkpointer {
  const checkpoint = db.prepare('PRAGMA wal_checkpoint(PASSIVE)');
  const timer = setInterval(() => {
    try {
      if (db.isOpen) checkpoint.get();
    } catch {
      /* busy: the next tick (or the auto-checkpoint) does it */
    }
  }, intervalMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
