// What is in <spool>/incoming and how to read it safely: never follow a
// symlink, never open a FIFO or device, read each file once.
//
// The hot path uses synchronous calls on purpose: records are small files on
// node-local disk, just written and in the page cache, so lstat/open/read take
// microseconds, while each async call waits for an event-loop turn (slow when
// the daemon is busy spawning git). Long scans yield to the loop.

import { closeSync, constants, fstatSync, lstatSync, openSync, readSync, type BigIntStats } from 'node:fs';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { SPOOL_RECORD_SUFFIX } from './spool-record.ts';

/**
 * What a name in incoming/ is: a record (`<id>.push`), a writer's temporary
 * file (leading dot: in progress, e.g. temp-then-rename writers), or foreign.
 */
export type SpoolNameKind = 'record' | 'temp' | 'foreign';

/** Classifies a file name in incoming/. */
export function spoolNameKind(name: string): SpoolNameKind {
  if (name.startsWith('.')) return 'temp';
  if (name.endsWith(SPOOL_RECORD_SUFFIX) && name.length > SPOOL_RECORD_SUFFIX.length) return 'record';
  return 'foreign';
}

/** Processing order: oldest mtime first, then name (the hook's names sort by start time). */
export function compareSpoolOrder(a: { mtimeNs: bigint; name: string }, b: { mtimeNs: bigint; name: string }): number {
  if (a.mtimeNs !== b.mtimeNs) return a.mtimeNs < b.mtimeNs ? -1 : 1;
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

/** Human name of a non-regular file type, for quarantine reasons. */
export function fileTypeName(st: BigIntStats): string {
  if (st.isSymbolicLink()) return 'a symbolic link (never followed)';
  if (st.isDirectory()) return 'a directory';
  if (st.isFIFO()) return 'a FIFO';
  if (st.isSocket()) return 'a socket';
  if (st.isBlockDevice() || st.isCharacterDevice()) return 'a device node';
  return 'not a regular file';
}

/** One entry of incoming/ as lstat sees it. */
export interface SpoolDirEntry {
  name: string;
  kind: SpoolNameKind;
  mtimeNs: bigint;
  /** Regular file (false: symlink, directory, FIFO, ...). */
  regular: boolean;
  stats: BigIntStats;
}

/** lstat of one name in `dir`; null when it vanished or cannot be inspected. */
export function lstatEntry(dir: string, name: string): SpoolDirEntry | null {
  const st = lstatSync(path.join(dir, name), { bigint: true, throwIfNoEntry: false });
  if (!st) return null;
  return { name, kind: spoolNameKind(name), mtimeNs: st.mtimeNs, regular: st.isFile(), stats: st };
}

/** Yields to the event loop (between chunks of synchronous work). */
export function yieldToLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** All entries of `dir`, lstat'ed, in processing order. Rejects if `dir` cannot be read. */
export async function scanSpoolDir(dir: string): Promise<SpoolDirEntry[]> {
  const names = await readdir(dir);
  const out: SpoolDirEntry[] = [];
  for (let i = 0; i < names.length; i++) {
    if (i % 512 === 511) await yieldToLoop();
    let e: SpoolDirEntry | null = null;
    try {
      e = lstatEntry(dir, names[i]);
    } catch {
      // unreadable entry: counted by nobody, judged by the intake
    }
    if (e) out.push(e);
  }
  return out.sort(compareSpoolOrder);
}

/** Outcome of reading one spool file. */
export type SpoolFileRead =
  | { kind: 'bytes'; bytes: Buffer; mtimeNs: bigint; size: bigint }
  | { kind: 'gone' }
  | { kind: 'not-regular'; what: string }
  | { kind: 'too-large'; size: bigint }
  | { kind: 'error'; code: string };

// O_NONBLOCK: opening a FIFO planted in the spool must not hang the daemon.
const OPEN_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;

/**
 * Reads a regular file without following symlinks: lstat (refuses links,
 * FIFOs, devices before opening), open O_NOFOLLOW|O_NONBLOCK, fstat (same
 * inode?), read to EOF, and the mtime as of after the read. Synchronous (see
 * the file comment); never throws.
 */
export function readSpoolFile(file: string, maxBytes: number): SpoolFileRead {
  let before: BigIntStats;
  try {
    before = lstatSync(file, { bigint: true });
  } catch (err) {
    return errnoOutcome(err);
  }
  if (!before.isFile()) return { kind: 'not-regular', what: fileTypeName(before) };
  if (before.size > BigInt(maxBytes)) return { kind: 'too-large', size: before.size };
  let fd: number;
  try {
    fd = openSync(file, OPEN_FLAGS);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ELOOP') return { kind: 'not-regular', what: 'a symbolic link (never followed)' };
    return errnoOutcome(err);
  }
  try {
    const chunks: Buffer[] = [];
    let total = 0;
    // Usually one read: the buffer is sized from lstat; the loop covers a writer still appending.
    let chunk = Buffer.allocUnsafe(Math.max(4096, Number(before.size) + 1));
    for (;;) {
      const n = readSync(fd, chunk, 0, chunk.length, null);
      if (n === 0) break;
      chunks.push(chunk.subarray(0, n));
      total += n;
      if (total > maxBytes) return { kind: 'too-large', size: BigInt(total) };
      if (n === chunk.length) chunk = Buffer.allocUnsafe(chunk.length * 2);
      else chunk = chunk.subarray(n);
    }
    const after = fstatSync(fd, { bigint: true });
    if (!after.isFile() || after.ino !== before.ino || after.dev !== before.dev) {
      return { kind: 'not-regular', what: 'replaced while being read' };
    }
    const bytes = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, total);
    return { kind: 'bytes', bytes, mtimeNs: after.mtimeNs, size: after.size };
  } catch (err) {
    return errnoOutcome(err);
  } finally {
    try {
      closeSync(fd);
    } catch {
      // nothing to do: the descriptor is gone either way
    }
  }
}

function errnoOutcome(err: unknown): SpoolFileRead {
  const code = (err as NodeJS.ErrnoException).code ?? 'EUNKNOWN';
  return code === 'ENOENT' ? { kind: 'gone' } : { kind: 'error', code };
}
