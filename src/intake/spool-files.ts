// What is in <spool>/incoming and how to read it safely: never follow a
// symlink, never open a FIFO or device, read each file once.

import { constants, type BigIntStats } from 'node:fs';
import { lstat, open, readdir } from 'node:fs/promises';
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

/** lstat of one name in `dir`; null when it vanished. */
export async function lstatEntry(dir: string, name: string): Promise<SpoolDirEntry | null> {
  try {
    const st = await lstat(path.join(dir, name), { bigint: true });
    return { name, kind: spoolNameKind(name), mtimeNs: st.mtimeNs, regular: st.isFile(), stats: st };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

/** All entries of `dir`, lstat'ed (a few at a time), in processing order. */
export async function scanSpoolDir(dir: string): Promise<SpoolDirEntry[]> {
  const names = await readdir(dir);
  const out: SpoolDirEntry[] = [];
  const batch = 64;
  for (let i = 0; i < names.length; i += batch) {
    const got = await Promise.all(names.slice(i, i + batch).map((n) => lstatEntry(dir, n)));
    for (const e of got) if (e) out.push(e);
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
 * FIFOs, devices before opening), open O_NOFOLLOW, fstat (same inode?),
 * read, and the mtime as of after the read.
 */
export async function readSpoolFile(file: string, maxBytes: number): Promise<SpoolFileRead> {
  let before: BigIntStats;
  try {
    before = await lstat(file, { bigint: true });
  } catch (err) {
    return errnoOutcome(err);
  }
  if (!before.isFile()) return { kind: 'not-regular', what: fileTypeName(before) };
  if (before.size > BigInt(maxBytes)) return { kind: 'too-large', size: before.size };
  let fh;
  try {
    fh = await open(file, OPEN_FLAGS);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ELOOP') return { kind: 'not-regular', what: 'a symbolic link (never followed)' };
    return errnoOutcome(err);
  }
  try {
    const bytes = await fh.readFile();
    const after = await fh.stat({ bigint: true });
    if (!after.isFile() || after.ino !== before.ino || after.dev !== before.dev) {
      return { kind: 'not-regular', what: 'replaced while being read' };
    }
    if (bytes.length > maxBytes) return { kind: 'too-large', size: BigInt(bytes.length) };
    return { kind: 'bytes', bytes, mtimeNs: after.mtimeNs, size: after.size };
  } catch (err) {
    return errnoOutcome(err);
  } finally {
    await fh.close().catch(() => {});
  }
}

function errnoOutcome(err: unknown): SpoolFileRead {
  const code = (err as NodeJS.ErrnoException).code ?? 'EUNKNOWN';
  return code === 'ENOENT' ? { kind: 'gone' } : { kind: 'error', code };
}
