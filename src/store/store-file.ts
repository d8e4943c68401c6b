// The store file under the daemon's feet. SQLite keeps writing to open
// handles when the file is deleted or replaced (`rm relay.db*`), so the
// daemon notes the file's device and inode at open and checks them; and a
// marker in the spool directory remembers that a store existed, so a restart
// does not silently begin an empty one while records and deliveries of the
// old one are missing.

import { readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/** A file's identity: the same path may later name another file. */
export interface FileIdentity {
  dev: number;
  ino: number;
}

/** The identity of the file at `file`, or null when there is none. */
export function fileIdentity(file: string): FileIdentity | null {
  try {
    const st = statSync(file);
    return { dev: st.dev, ino: st.ino };
  } catch {
    return null;
  }
}

/** Why the store at `file` is no longer the file opened as `opened` (deleted, replaced), or null when it still is. */
export function storeFileChanged(file: string, opened: FileIdentity): string | null {
  const now = fileIdentity(file);
  if (!now) return `store ${file} was deleted while the daemon ran`;
  if (now.dev !== opened.dev || now.ino !== opened.ino) return `store ${file} was replaced by another file while the daemon ran (inode ${opened.ino} → ${now.ino})`;
  return null;
}

/** What the spool's marker records about the store its records go to. */
export interface StoreMarker {
  /** Absolute store path. */
  path: string;
  /** The store's meta created_at: which store it was. */
  createdAt: string;
  /** When a daemon last opened it. */
  openedAt: string;
}

/** The marker file: beside the spool's incoming/ (a store wipe in the state directory leaves it). */
export function storeMarkerPath(spoolDir: string): string {
  return path.join(spoolDir, 'store.marker');
}

/** The marker, or null when there is none (or it is unreadable). */
export function readStoreMarker(spoolDir: string): StoreMarker | null {
  try {
    const m = JSON.parse(readFileSync(storeMarkerPath(spoolDir), 'utf8')) as Partial<StoreMarker>;
    return typeof m.path === 'string' ? { path: m.path, createdAt: String(m.createdAt ?? ''), openedAt: String(m.openedAt ?? '') } : null;
  } catch {
    return null;
  }
}

/** Record the store in use (atomic replace). */
export function writeStoreMarker(spoolDir: string, marker: StoreMarker): void {
  const file = storeMarkerPath(spoolDir);
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(marker) + '\n', { mode: 0o640 });
  renameSync(tmp, file);
}

/**
 * Why the daemon must not create a new store at `storePath` (a store existed
 * there, the marker says so), or null when it may. `--new-store` overrides.
 */
export function freshStoreRefusal(storePath: string, spoolDir: string): string | null {
  const abs = path.resolve(storePath);
  if (fileIdentity(abs)) return null;
  const marker = readStoreMarker(spoolDir);
  if (!marker || path.resolve(marker.path) !== abs) return null;
  return `store ${abs} is missing, but a store existed there (created ${marker.createdAt || 'at an unknown time'}, last opened ${marker.openedAt || 'at an unknown time'}; see ${storeMarkerPath(spoolDir)}): ` +
    `its queued deliveries are not in a new one. Restore the store file (with its -wal file) from backup, ` +
    `or start once with \`relay daemon --new-store\` to begin an empty store (the spool's records are then relayed into it)`;
}
