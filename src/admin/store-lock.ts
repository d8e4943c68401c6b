// Who may write the store. The daemon is the only writer while it runs (its
// FIFO sequence counter lives in memory); when it is down, a `relay` command
// may write instead. A lock file beside the store (`<store>.lock`, holding the
// owner's pid) makes that safe both ways: the CLI refuses while a live daemon
// holds it, and a daemon refuses to start while a CLI command is writing. A
// lock whose process is gone (SIGKILL, crash) is stale and taken over.

import { closeSync, mkdirSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
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
  /** Remove the lock file (only if it is still ours). */
  release(): void;
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

/** The lock file of the store at `storePath`. */
export function lockPathFor(storePath: string): string {
  return `${storePath}.lock`;
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

/** The live holder of the store's lock, or null when free or stale. */
export function storeLockHolder(storePath: string): LockHolder | null {
  const holder = readHolder(lockPathFor(storePath));
  return holder && processAlive(holder.pid) ? holder : null;
}

/** Take the store's lock for this process; throws StoreLockedError when a live process holds it. */
export function claimStoreLock(storePath: string, role: string): StoreLock {
  const lockPath = lockPathFor(storePath);
  const holder: LockHolder = { pid: process.pid, role, since: new Date().toISOString() };
  mkdirSync(dirname(lockPath), { recursive: true, mode: 0o700 });
  for (let tries = 0; ; tries++) {
    let fd: number;
    try {
      fd = openSync(lockPath, 'wx', 0o600);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'EEXIST') {
        throw new Error(`cannot create the store lock ${lockPath} (${code}); check that this user may write ${dirname(lockPath)} (store.path)`);
      }
      const current = readHolder(lockPath);
      if (current && current.pid !== process.pid && processAlive(current.pid)) {
        const who = current.role === 'daemon' ? 'the relay daemon' : `\`${current.role}\``;
        throw new StoreLockedError(lockPath, current, `store ${storePath} is in use by ${who} (pid ${current.pid}, since ${current.since}); wait for it to finish, or if no such process is a relay, remove ${lockPath}`);
      }
      // Stale (holder gone) or unreadable: take it over, once.
      if (tries > 0) throw new Error(`cannot take over the stale store lock ${lockPath}; remove it by hand`);
      try {
        unlinkSync(lockPath);
      } catch {
        /* another process took it over first; the next open tells */
      }
      continue;
    }
    try {
      writeSync(fd, JSON.stringify(holder) + '\n');
    } finally {
      closeSync(fd);
    }
    return {
      path: lockPath,
      holder,
      release() {
        const now = readHolder(lockPath);
        if (now && now.pid === holder.pid && now.since === holder.since) {
          try {
            unlinkSync(lockPath);
          } catch {
            /* already gone */
          }
        }
      },
    };
  }
}
