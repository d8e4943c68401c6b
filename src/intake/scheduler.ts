// The intake's schedule: entries in spool order (mtime, then name), and which
// of them may run now — one record per repository at a time, in order, up to
// `concurrency` repositories at once. Pure over the entry list.

import { compareSpoolOrder } from './spool-files.ts';
import type { SpoolRecord } from './spool-record.ts';

/** Where an entry of incoming/ stands. */
export type EntryState = 'unread' | 'incomplete' | 'ready' | 'running' | 'retry';

/** One record file the intake knows. */
export interface Entry {
  name: string;
  mtimeNs: bigint;
  state: EntryState;
  record: SpoolRecord | null;
  attempts: number;
  /** When to look again (retry, or re-read a record still being written). */
  dueAt: number;
  /** Backoff for re-reading a record still being written. */
  checkDelayMs: number;
  /** size/mtime seen at the last read while incomplete: re-read early when they change. */
  seen: string;
}

/** A new entry for a record file not read yet. */
export function newEntry(name: string, mtimeNs: bigint): Entry {
  return { name, mtimeNs, state: 'unread', record: null, attempts: 0, dueAt: 0, checkDelayMs: 20, seen: '' };
}

/** Insert `e` into `order` (kept sorted by spool order). */
export function insertOrdered(order: Entry[], e: Entry): void {
  let lo = 0;
  let hi = order.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compareSpoolOrder(order[mid], e) <= 0) lo = mid + 1;
    else hi = mid;
  }
  order.splice(lo, 0, e);
}

/**
 * The entries that may start now, oldest first: for each repository only its
 * first unfinished record, if it is ready (or its retry is due), while fewer
 * than `concurrency` run. Stops at the first unread entry (order beyond the
 * parsed window is unknown).
 */
export function runnableEntries(order: readonly Entry[], now: number, active: number, concurrency: number): Entry[] {
  const out: Entry[] = [];
  const busy = new Set<string>(); // repositories with an earlier record not finished
  for (const e of order) {
    if (e.state === 'unread') break;
    if (e.state === 'incomplete' || !e.record) continue;
    const repo = e.record.repoPath;
    if (e.state === 'running' || (e.state === 'retry' && e.dueAt > now)) {
      busy.add(repo);
      continue;
    }
    if (busy.has(repo)) continue;
    busy.add(repo);
    if (active + out.length >= concurrency) break;
    out.push(e);
  }
  return out;
}

/** Records of one repository that come after a record, as far as the intake knows them. */
export interface LaterRecords {
  /** Parsed records of the repository after it in spool order (up to the parsed window), oldest first. */
  records: SpoolRecord[];
  /** How many of `records` come before any record still being written (whose repository is not known yet): pushes known to follow each other. */
  contiguous: number;
}

/** The parsed records of e's repository that come after it (see LaterRecords). */
export function laterRecordsOf(order: readonly Entry[], e: Entry): LaterRecords {
  const repo = e.record!.repoPath;
  const records: SpoolRecord[] = [];
  let contiguous: number | null = null;
  for (let i = order.indexOf(e) + 1; i < order.length; i++) {
    if (order[i].state === 'unread') break; // beyond the parsed window (bounded cost)
    const r = order[i].record;
    if (!r) contiguous ??= records.length;
    else if (r.repoPath === repo) records.push(r);
  }
  return { records, contiguous: contiguous ?? records.length };
}

/** Retry delay after `attempts` failed attempts: base doubling up to max, jittered down by up to 20 %. */
export function retryDelayMs(attempts: number, baseMs: number, maxMs: number, random: () => number = Math.random): number {
  const base = Math.min(maxMs, baseMs * 2 ** Math.min(attempts - 1, 30));
  return Math.round(base * (0.8 + 0.2 * random()));
}
