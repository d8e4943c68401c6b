// What a new name in incoming/ is: a record file to load, a writer's
// temporary file to leave alone for a while, or something to quarantine
// (not a regular file, not a record name, a temporary file never finished).
// Pure: the intake lstats the entry and acts on the answer.

import type { SpoolDirEntry } from './spool-files.ts';

/** The verdict on a newly seen directory entry. */
export type NewEntryVerdict =
  | { kind: 'record' }
  /** A writer's temporary file within its grace period: judge it again at `recheckAt`. */
  | { kind: 'temp'; recheckAt: number }
  | { kind: 'quarantine'; reason: string };

/** Judge a newly seen entry of incoming/ (`graceMs`: how long a writer may take). */
export function judgeNewEntry(st: SpoolDirEntry, now: number, graceMs: number): NewEntryVerdict {
  if (!st.regular) {
    const what = st.stats.isSymbolicLink() ? 'a symbolic link (never followed)' : st.stats.isDirectory() ? 'a directory' : 'not a regular file';
    return { kind: 'quarantine', reason: `${st.name} in incoming/ is ${what}; only regular files written by the hook are records` };
  }
  if (st.kind === 'temp') {
    // A writer's temporary file (leading dot): left alone within the grace period.
    const deadline = Number(st.mtimeNs / 1_000_000n) + graceMs;
    if (now > deadline) return { kind: 'quarantine', reason: `temporary file ${st.name} was not completed within ${graceMs} ms (an interrupted writer)` };
    return { kind: 'temp', recheckAt: deadline + 1 };
  }
  if (st.kind === 'foreign') {
    return { kind: 'quarantine', reason: `${st.name} is not a spool record name (records are <id>.push, written by hooks/post-receive)` };
  }
  return { kind: 'record' };
}
