// Moves a spool entry the daemon will not process to <spool>/quarantine/,
// with <name>.reason.txt beside it. Never deletes anything.

import { lstat, mkdir, open, readdir, rename, unlink } from 'node:fs/promises';
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
      ? `the record's own bytes are the cause: moving it back unchanged fails the same way. The push itself succeeded;\n` +
        `keep this file for inspection or delete it (relay the push's other refs again with \`relay backfill\` if needed)\n`
      : `to retry once the cause is fixed: mv '${to}' '${path.join(dirs.incoming, name)}'\n`);
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
