// The refs the relay last knew per repository, and the ref updates it already
// relayed (store tables of migration 6). Every event's updates are written in
// the event's own transaction (the daemon's group commit), so "known" never
// runs ahead of or behind what was relayed. One (repository, ref, before,
// after) is relayed once, whoever reports it: hook, hook script, a retried
// hook, or reconciliation.

import type { Store } from '../store/store.ts';
import type { RefLine } from '../git/ref-lines.ts';
import { isZeroSha } from '../git/ref-lines.ts';

/** Who reported an update. */
export type UpdateSource = 'hook' | 'reconciled';

/** The ref updates one event carries, to record with it. */
export interface RefUpdateRecord {
  repoPath: string;
  lines: readonly RefLine[];
  eventId: string | null;
  source: UpdateSource;
  /** False: only the known refs move (refs left out of events); default true. */
  relayed?: boolean;
}

/** ref → sha as known, or null when the repository was never seen. */
export function knownRefs(store: Store, repoPath: string): Map<string, string> | null {
  const seen = store.statement('SELECT 1 FROM known_repos WHERE repo_path = ?').get(repoPath);
  if (!seen) return null;
  const rows = store.statement('SELECT ref, sha FROM known_refs WHERE repo_path = ?').all(repoPath) as { ref: string; sha: string }[];
  return new Map(rows.map((r) => [r.ref, r.sha]));
}

/** Every repository seen so far. */
export function knownRepositories(store: Store): Set<string> {
  return new Set((store.statement('SELECT repo_path FROM known_repos').all() as { repo_path: string }[]).map((r) => r.repo_path));
}

/** A repository seen for the first time and its refs as read. */
export interface FirstSight {
  repoPath: string;
  refs: ReadonlyMap<string, string>;
}

/** First sight (the refs become known, no history is emitted) of many repositories in one transaction (one fsync; a first sweep over 10,000 repositories pays ~40, not 10,000). */
export function recordFirstSights(store: Store, sights: readonly FirstSight[], now = Date.now()): void {
  if (sights.length === 0) return;
  const seen = store.statement('INSERT OR IGNORE INTO known_repos (repo_path, first_seen) VALUES (?, ?)');
  const clear = store.statement('DELETE FROM known_refs WHERE repo_path = ?');
  const put = store.statement('INSERT INTO known_refs (repo_path, ref, sha) VALUES (?, ?, ?)');
  store.transaction(() => {
    for (const { repoPath, refs } of sights) {
      seen.run(repoPath, now);
      clear.run(repoPath);
      for (const [ref, sha] of refs) put.run(repoPath, ref, sha);
    }
  });
}

/** The lines of `lines` already relayed (same repository, ref, before and after). */
export function alreadyRelayed(store: Store, repoPath: string, lines: readonly RefLine[]): RefLine[] {
  const q = store.statement('SELECT 1 FROM ref_updates WHERE repo_path = ? AND ref = ? AND before = ? AND after = ?');
  return lines.filter((l) => q.get(repoPath, l.ref, l.before, l.after) !== undefined);
}

/** Records an event's ref updates: known refs move to `after`, each update is marked relayed. Call inside the event's transaction. */
export function recordRefUpdates(store: Store, rec: RefUpdateRecord, now = Date.now()): void {
  const put = store.statement('INSERT INTO known_refs (repo_path, ref, sha) VALUES (?, ?, ?) ON CONFLICT (repo_path, ref) DO UPDATE SET sha = excluded.sha');
  const drop = store.statement('DELETE FROM known_refs WHERE repo_path = ? AND ref = ?');
  const mark = store.statement('INSERT OR IGNORE INTO ref_updates (repo_path, ref, before, after, event_id, source, time) VALUES (?, ?, ?, ?, ?, ?, ?)');
  store.transaction(() => {
    for (const l of rec.lines) {
      if (isZeroSha(l.after)) drop.run(rec.repoPath, l.ref);
      else put.run(rec.repoPath, l.ref, l.after);
      if (rec.relayed !== false) mark.run(rec.repoPath, l.ref, l.before, l.after, rec.eventId, rec.source, now);
    }
  });
}

/** Forgets relayed-update rows older than `maxAgeMs` (the dedupe window; known refs stay). */
export function pruneRefUpdates(store: Store, maxAgeMs: number, now = Date.now()): number {
  const cutoff = now - maxAgeMs;
  let n = 0;
  for (const source of ['hook', 'reconciled']) n += Number(store.statement('DELETE FROM ref_updates WHERE source = ? AND time < ?').run(source, cutoff).changes);
  return n;
}

/** Per repository (PROJ/slug when its event is still stored, else the path): ref updates that arrived only through reconciliation since `sinceMs`. */
export function reconciledOnly(store: Store, sinceMs: number): { repo: string; count: number }[] {
  const rows = store
    .statement(
      `SELECT COALESCE(e.repo_key, u.repo_path) AS repo, COUNT(*) AS count
         FROM ref_updates u LEFT JOIN events e ON e.id = u.event_id
        WHERE u.source = 'reconciled' AND u.time >= ?
        GROUP BY repo ORDER BY count DESC, repo`,
    )
    .all(sinceMs) as { repo: string; count: number }[];
  return rows.map((r) => ({ repo: r.repo, count: Number(r.count) }));
}

/**
 * Changes the known refs do not explain before a hook record's lines: for a
 * ref whose known value is neither the line's `before` nor its `after`, the
 * update known → before happened without a hook (a UI merge while the daemon
 * was down, say). Returns those gap lines (in the record's ref order).
 */
export function gapsBefore(known: ReadonlyMap<string, string> | null, lines: readonly RefLine[], zero: string): RefLine[] {
  if (!known) return [];
  const gaps: RefLine[] = [];
  const seen = new Set<string>();
  for (const l of lines) {
    if (seen.has(l.ref)) continue;
    seen.add(l.ref);
    const k = known.get(l.ref) ?? zero.slice(0, l.before.length);
    if (k !== l.before && k !== l.after) gaps.push({ ref: l.ref, before: k, after: l.before });
  }
  return gaps;
}
