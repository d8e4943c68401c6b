// Reading one spool record file and deciding what it is: a whole record
// ready to process, one still being written, something to quarantine, an
// entry that cannot be read (left in place), or gone. Pure apart from the
// read itself; the intake acts on the answer.

import { realpathSync } from 'node:fs';
import path from 'node:path';
import { readSpoolFile } from './spool-files.ts';
import { parseSpoolRecord, type SpoolRecord } from './spool-record.ts';

/** What loading a record file found. */
export type LoadOutcome =
  | { kind: 'gone' }
  /** Not a record: move it to quarantine/ with this reason (permanent: moving it back cannot help). */
  | { kind: 'quarantine'; reason: string; permanent?: boolean }
  /** Cannot be read: leave it in incoming/ and look again later. */
  | { kind: 'unreadable'; why: string }
  | { kind: 'ready'; record: SpoolRecord; mtimeNs: bigint }
  /** No end marker yet, within the grace period. */
  | { kind: 'incomplete'; mtimeNs: bigint; size: bigint; bytes: number };

/** What loading needs to know. */
export interface LoadOptions {
  maxRecordBytes: number;
  /** How long a record without end marker counts as being written (by mtime). */
  graceMs: number;
  /** Allowed repository roots (resolved), or null for any. */
  repoRoots: readonly string[] | null;
  now: number;
}

/** Read and judge the record file `name` in `incoming`. */
export function loadRecordFile(incoming: string, name: string, o: LoadOptions): LoadOutcome {
  const file = path.join(incoming, name);
  const r = readSpoolFile(file, o.maxRecordBytes);
  switch (r.kind) {
    case 'gone':
      return { kind: 'gone' };
    case 'not-regular':
      return { kind: 'quarantine', reason: `${name} is ${r.what}; only regular files written by the hook are records` };
    case 'too-large':
      return { kind: 'quarantine', reason: `${name} is ${r.size} bytes, over the ${o.maxRecordBytes}-byte limit for a spool record` };
    case 'error':
      return { kind: 'unreadable', why: `cannot read ${file} (${r.code}); make it readable by the daemon user` };
  }
  const parsed = parseSpoolRecord(r.bytes, { name, mtimeNs: r.mtimeNs });
  if (parsed.ok) {
    const outside = outsideRepoRoots(o.repoRoots, parsed.record.repoPath);
    return outside ? { kind: 'quarantine', reason: outside } : { kind: 'ready', record: parsed.record, mtimeNs: r.mtimeNs };
  }
  if (parsed.incomplete) {
    const ageMs = o.now - Number(r.mtimeNs / 1_000_000n);
    if (ageMs > o.graceMs) {
      return { kind: 'quarantine', reason: `${parsed.reason}; still without end marker ${Math.round(ageMs / 1000)} s after its last write (grace period ${o.graceMs} ms)` };
    }
    return { kind: 'incomplete', mtimeNs: r.mtimeNs, size: r.size, bytes: r.bytes.length };
  }
  return { kind: 'quarantine', reason: `cannot parse ${name}: ${parsed.reason}`, permanent: parsed.permanent };
}

/** Why `repoPath` is refused (outside every configured root), or null. */
function outsideRepoRoots(repoRoots: readonly string[] | null, repoPath: string): string | null {
  if (!repoRoots) return null;
  // Judged by where it really points: a crafted "/home/../etc", or a symlink inside a root that leads out.
  let p = path.resolve(repoPath);
  try {
    p = realpathSync(p);
  } catch {
    /* missing: judged by its name (analysis reports it) */
  }
  if (repoRoots.some((root) => p === root || p.startsWith(root.endsWith('/') ? root : root + '/'))) return null;
  return `repository path ${p} is outside the configured repository roots (${repoRoots.join(', ')}); not processed`;
}
