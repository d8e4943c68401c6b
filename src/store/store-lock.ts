// Who may write the store. The daemon is the only writer while it runs (its
// FIFO sequence counter lives in memory); when it is down, a `relay` command
// may write instead.
//
// The lock is a kernel lock, not a file's existence: SQLite's RESERVED lock
// (fcntl) on `<store>.lock.db`, held by an open connection for as long as the
// holder runs. Taking it is one atomic step, and the kernel drops it when the
// holder exits or is SIGKILLed, so there is no "stale lock" to take over and
// no check-then-act race between two claimants. `<store>.lock` beside it
// (JSON: pid, role, since) only says who holds it, for messages and `relay
// status`; it is written after the kernel lock is taken.
//
// The lock database is never deleted: unlinking it while another process has
// it open would let two processes lock two different files.

import { DatabaseSync } from 'node:sqlite';
import { closeSync, mkdirSync, openSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/** What a lock file records about its holder. */
export interface LockHolder {
  pid: number;
  /** 'daemon' or the CLI command, e.g. 'relay backfill'. */
  role: string;
  /** ISO time the lock was taken. */
  since: string;
}

/** A held lock. */
export interface StoreLock {
  readonly path: string;
  readonly holder: LockHolder;
  /** Drop the kernel lock and remove the holder file (only if it is still ours). */
  release(): void;
  /**
   * The lock file deleted or replaced by hand (`rm relay.db*`) would let the
   * next claimant lock a new file beside us: lock the file now at the path
   * too. Returns null when the lock still holds (or was re-taken), else why not.
   */
  verify(): string | null;
}

/** The store is locked by another live process; the message says who and what to do. */
export class StoreLockedError extends Error {
  override name = 'StoreLockedError';
  readonly holder: LockHolder;
  readonly lockPath: string;
  constructor(lockPath: string, holder: LockHolder, message: string) {
    super(message);
    this.lockPath = lockPath;
    this.holder = holder;
  }
}

/** The holder file of the store at `storePath` (who holds the lock). */
export function lockPathFor(storePath: string): string {
  return `${storePath}.lock`;
}

/** The file whose kernel lock is the store's lock. */
export function lockDatabasePathFor(storePath: string): string {
  return `${storePath}.lock.db`;
}

/** True when a process with this pid exists (EPERM: exists, owned by someone else). */
export function processAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readHolder(lockPath: string): LockHolder | null {
  try {
    const h = JSON.parse(readFileSync(lockPath, 'utf8')) as Partial<LockHolder>;
    if (typeof h.pid !== 'number') return null;
    return { pid: h.pid, role: String(h.role ?? 'unknown'), since: String(h.since ?? '') };
  } catch {
    return null;
  }
}

/** Held kernel locks of this process, by lock database path (a second claim in-process is refused too). */
const heldHere = new Map<string, DatabaseSync>();

/**
 * Try to take the kernel lock; returns the connection holding it, or null
 * when another connection (any process, this one included) holds it.
 */
function tryKernelLock(dbPath: string): DatabaseSync | null {
  if (heldHere.has(dbPath)) return null;
  try {
    closeSync(openSync(dbPath, 'a', 0o600)); // SQLite would create it world-readable
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new Error(`cannot create the store lock ${dbPath} (${code}); check that this user may write ${dirname(dbPath)} (store.path)`);
  }
  const db = new DatabaseSync(dbPath, { timeout: 0 });
  try {
    // Never written: the RESERVED lock of an open write transaction is all we
    // want. Only one connection can hold it, and it is taken in one step
    // (BEGIN EXCLUSIVE would go through SHARED first, and two claimants each
    // holding SHARED would both give up).
    db.exec('BEGIN IMMEDIATE');
    return db;
  } catch (err) {
    db.close();
    if ((err as { errcode?: number }).errcode === 5 /* SQLITE_BUSY */) return null;
    throw new Error(`cannot lock ${dbPath}: ${(err as Error).message}`);
  }
}

/** The live holder of the store's lock, or null when free (judged by the holder file; informative only). */
export function storeLockHolder(storePath: string): LockHolder | null {
  const holder = readHolder(lockPathFor(storePath));
  return holder && processAlive(holder.pid) ? holder : null;
}

/** Take the store's lock for this process; throws StoreLockedError when another process (or claim) holds it. */
export function claimStoreLock(storePath: string, role: string): StoreLock {
  const lockPath = lockPathFor(storePath);
  const dbPath = lockDatabasePathFor(storePath);
  const holder: LockHolder = { pid: process.pid, role, since: new Date().toISOString() };
  mkdirSync(dirname(lockPath), { recursive: true, mode: 0o700 });
  const db = tryKernelLock(dbPath);
  if (!db) {
    // The holder writes its file right after locking: give it a moment.
    let current = readHolder(lockPath);
    for (let i = 0; !current && i < 20; i++) {
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
      current = readHolder(lockPath);
    }
    const known = current ?? { pid: 0, role: 'unknown', since: '' };
    const who = !current ? 'another process' : current.role === 'daemon' ? 'the relay daemon' : `\`${current.role}\``;
    const pid = current ? ` (pid ${current.pid}, since ${current.since})` : '';
    throw new StoreLockedError(lockPath, known, `store ${storePath} is in use by ${who}${pid}; wait for it to finish (the lock is held by a running process and ends with it)`);
  }
  heldHere.set(dbPath, db);
  try {
    const tmp = `${lockPath}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(holder) + '\n', { mode: 0o600 });
    renameSync(tmp, lockPath);
  } catch (err) {
    heldHere.delete(dbPath);
    db.close();
    throw new Error(`cannot write the store lock ${lockPath} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); check that this user may write ${dirname(lockPath)} (store.path)`);
  }
  let released = false;
  const held = [db];
  const inode = (): string | null => {
    try {
      const st = statSync(dbPath);
      return `${st.dev}:${st.ino}`;
    } catch {
      return null;
    }
  };
  let lockedInode = inode();
  return {
    path: lockPath,
    holder,
    verify() {
      if (released) return null;
      const now = inode();
      if (now !== null && now === lockedInode) return null;
      heldHere.delete(dbPath);
      const again = tryKernelLock(dbPath);
      if (!again) {
        heldHere.set(dbPath, held[0]);
        const other = readHolder(lockPath);
        return `the store lock ${dbPath} was deleted or replaced while this process held it, and another process${other ? ` (pid ${other.pid}, ${other.role})` : ''} has locked the new file: two writers on one store`;
      }
      held.push(again);
      heldHere.set(dbPath, again);
      lockedInode = inode();
      try {
        writeFileSync(lockPath, JSON.stringify(holder) + '\n', { mode: 0o600 });
      } catch {
        /* the holder file only names us */
      }
      return null;
    },
    release() {
      if (released) return;
      released = true;
      const now = readHolder(lockPath);
      if (now && now.pid === holder.pid && now.since === holder.since) {
        try {
          unlinkSync(lockPath);
        } catch {
          /* already gone */
        }
      }
      heldHere.delete(dbPath);
      for (const d of held) if (d.isOpen) d.close(); // drops the kernel lock(s)
    },
  };
}
