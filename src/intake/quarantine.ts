// Moves a spool entry the daemon will not process to <spool>/quarantine/,
// with <name>.reason.txt beside it. Never deletes anything on its own; the
// operator lists, moves back (retry) or removes (drop) entries with
// `relay quarantine`.

import { link, lstat, mkdir, open, readdir, readFile, rename, rm, unlink } from 'node:fs/promises';
import path from 'node:path';
import type { SpoolDirs } from './spool-dirs.ts';

/** Suffix of the file that explains why an entry was quarantined. */
export const REASON_SUFFIX = '.reason.txt';

/** Where the entry went, or why it could not be moved. */
export type QuarantineOutcome = { ok: true; path: string; reasonPath: string } | { ok: false; error: string };

/**
 * Renames incoming/<name> (symlinks and directories as themselves) to
 * quarantine/<name> (or <name>.1, .2 … when taken) and writes the reason.
 * `reason` must not contain secrets: it is written to disk and logged.
 */
export async function quarantineEntry(dirs: SpoolDirs, name: string, reason: string, now: Date = new Date(), options: { permanent?: boolean } = {}): Promise<QuarantineOutcome> {
  const from = path.join(dirs.incoming, name);
  // Removed by hand while the daemon runs: put it back (same mode as at start).
  await mkdir(dirs.quarantine, { recursive: true, mode: 0o750 }).catch(() => {
    /* reported below by the write into it */
  });
  let target = '';
  for (let n = 0; n < 1000; n++) {
    const candidate = n === 0 ? name : `${name}.${n}`;
    if (!(await exists(path.join(dirs.quarantine, candidate))) && !(await exists(path.join(dirs.quarantine, candidate + REASON_SUFFIX)))) {
      target = candidate;
      break;
    }
  }
  if (!target) return { ok: false, error: `quarantine: no free name for ${name} in ${dirs.quarantine}; clean up the quarantine directory` };

  const to = path.join(dirs.quarantine, target);
  const reasonPath = to + REASON_SUFFIX;
  const text =
    `${reason}\n\n` +
    `record:      ${name}\n` +
    `quarantined: ${now.toISOString()}\n` +
    (options.permanent
      ? `permanent:   yes\n` +
        `the record's own bytes are the cause: moving it back unchanged fails the same way. The push itself succeeded;\n` +
        `keep this file for inspection or delete it (relay the push's other refs again with \`relay backfill\` if needed)\n`
      : `to retry once the cause is fixed: relay quarantine retry '${target}' (or: mv '${to}' '${path.join(dirs.incoming, name)}')\n`);
  // Reason first: a crash in between leaves the entry in incoming/, to be judged again.
  let created = false;
  try {
    const fh = await open(reasonPath, 'wx', 0o640);
    created = true;
    try {
      await fh.writeFile(text);
      await fh.sync();
    } finally {
      await fh.close();
    }
  } catch (err) {
    // No half-written reason files left behind (e.g. disk full): the next attempt starts clean.
    if (created) await unlink(reasonPath).catch(() => {});
    const code = (err as NodeJS.ErrnoException).code;
    return { ok: false, error: `quarantine: cannot write ${reasonPath} (${code}); ${code === 'ENOSPC' ? 'free space on the spool filesystem' : `check that the daemon can write ${dirs.quarantine}`}` };
  }
  try {
    await rename(from, to);
  } catch (err) {
    await unlink(reasonPath).catch(() => {});
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { ok: false, error: `quarantine: ${from} vanished before it could be moved` };
    return { ok: false, error: `quarantine: cannot move ${from} to ${to} (${code}); check permissions on both directories` };
  }
  await syncDir(dirs.quarantine);
  await syncDir(dirs.incoming);
  return { ok: true, path: to, reasonPath };
}

/** Number of quarantined entries (reason files not counted). */
export async function countQuarantined(quarantineDir: string): Promise<number> {
  const names = await readdir(quarantineDir);
  return names.filter((n) => !n.endsWith(REASON_SUFFIX)).length;
}

async function exists(p: string): Promise<boolean> {
  try {
    await lstat(p);
    return true;
  } catch {
    return false;
  }
}

async function syncDir(dir: string): Promise<void> {
  try {
    const fh = await open(dir, 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  } catch {
    // Best effort: the rename itself has happened; fsync only narrows the crash window.
  }
}

/** One quarantined entry, as `relay quarantine list` shows it. */
export interface QuarantinedEntry {
  /** Its name in quarantine/ (what retry and drop take). */
  id: string;
  /** Its name in incoming/ before it was quarantined (where retry puts it back). */
  record: string;
  /** Why, from the reason file (its first paragraph); null when there is none. */
  reason: string | null;
  /** When it was quarantined (ms): from the reason file, else the reason file's or entry's mtime. */
  quarantinedAt: number;
  /** What it is: only a file can be a record. */
  type: 'file' | 'symlink' | 'directory' | 'other';
  bytes: number;
  /** The record's own bytes are the cause: moving it back unchanged fails the same way. */
  permanent: boolean;
  /** The entry's mtime in ns (a record keeps its push time: the spool order). */
  mtimeNs: bigint;
}

/** Quarantined entries, oldest quarantine first. Throws (with the path) when quarantine/ cannot be read; none when it does not exist. */
export async function listQuarantined(dirs: SpoolDirs): Promise<QuarantinedEntry[]> {
  let names: string[];
  try {
    names = await readdir(dirs.quarantine);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new Error(`cannot read ${dirs.quarantine} (${(err as NodeJS.ErrnoException).code}); run as the relay user or root`);
  }
  const have = new Set(names);
  const out: QuarantinedEntry[] = [];
  for (const id of names) {
    if (id.endsWith(REASON_SUFFIX) && have.has(id.slice(0, -REASON_SUFFIX.length))) continue;
    let st;
    try {
      st = await lstat(path.join(dirs.quarantine, id), { bigint: true });
    } catch {
      continue; // removed meanwhile
    }
    const reasonPath = path.join(dirs.quarantine, id + REASON_SUFFIX);
    const text = await readFile(reasonPath, 'utf8').catch(() => null);
    const reasonMtime = text === null ? null : await lstat(reasonPath).then((r) => r.mtimeMs, () => null);
    const field = (key: string): string | null => (text === null ? null : (new RegExp(`^${key}:[ \\t]*(.+)$`, 'm').exec(text)?.[1]?.trim() ?? null));
    const at = Date.parse(field('quarantined') ?? '');
    out.push({
      id,
      record: field('record') ?? id,
      reason: text === null ? null : text.split(/\n\s*\n/)[0].trim(),
      quarantinedAt: Number.isFinite(at) ? at : (reasonMtime ?? Number(st.mtimeMs)),
      type: st.isFile() ? 'file' : st.isSymbolicLink() ? 'symlink' : st.isDirectory() ? 'directory' : 'other',
      bytes: Number(st.size),
      permanent: field('permanent') === 'yes' || (text?.includes("the record's own bytes are the cause") ?? false),
      mtimeNs: st.mtimeNs,
    });
  }
  return out.sort((a, b) => a.quarantinedAt - b.quarantinedAt || (a.id < b.id ? -1 : 1));
}

/** What became of one entry. */
export type QuarantineActionOutcome = { ok: true; path: string } | { ok: false; error: string };

/**
 * Put a quarantined record back into incoming/ under its original name, for
 * the daemon (running or not) to process again. A hard link then an unlink:
 * the record appears whole and never replaces a record of the same name.
 * Its mtime (the push time) is kept, so it takes its place in the spool order.
 */
export async function requeueQuarantined(dirs: SpoolDirs, entry: QuarantinedEntry): Promise<QuarantineActionOutcome> {
  const from = path.join(dirs.quarantine, entry.id);
  const to = path.join(dirs.incoming, entry.record);
  if (entry.type !== 'file') return { ok: false, error: `${entry.id} is a ${entry.type}, not a file: it can never be a record (drop it with \`relay quarantine drop ${entry.id}\`)` };
  if (entry.record.includes('/') || entry.record.startsWith('..')) return { ok: false, error: `${entry.id}: its reason file names "${entry.record}", not a file name in incoming/` };
  try {
    await link(from, to);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return { ok: false, error: `${to} exists: a record of that name waits in the spool already; retry ${entry.id} once it is gone` };
    if (code === 'EPERM' || code === 'ENOTSUP' || code === 'EXDEV') {
      // No hard links here (file system, or protected_hardlinks): a rename, after checking the name is free.
      if (await exists(to)) return { ok: false, error: `${to} exists: a record of that name waits in the spool already; retry ${entry.id} once it is gone` };
      try {
        await rename(from, to);
      } catch (err2) {
        return { ok: false, error: `cannot move ${from} to ${to} (${(err2 as NodeJS.ErrnoException).code}); run as the relay user or root` };
      }
    } else {
      return { ok: false, error: `cannot move ${from} to ${to} (${code}); ${code === 'ENOENT' ? 'it was removed meanwhile' : 'run as the relay user or root'}` };
    }
  }
  await unlink(from).catch(() => {});
  await unlink(from + REASON_SUFFIX).catch(() => {});
  await syncDir(dirs.incoming);
  await syncDir(dirs.quarantine);
  return { ok: true, path: to };
}

/** Remove a quarantined entry and its reason file for good. */
export async function dropQuarantined(dirs: SpoolDirs, entry: QuarantinedEntry): Promise<QuarantineActionOutcome> {
  const p = path.join(dirs.quarantine, entry.id);
  try {
    // A directory entry goes as a whole; a symlink is removed, never followed.
    await rm(p, { recursive: entry.type === 'directory', force: false });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT') return { ok: false, error: `cannot remove ${p} (${code}); run as the relay user or root` };
  }
  await unlink(p + REASON_SUFFIX).catch(() => {});
  await syncDir(dirs.quarantine);
  return { ok: true, path: p };
}
