// The spool's directory layout and its start-up check: <spool>/incoming (the
// hook writes there) and <spool>/quarantine (records the daemon refused).

import { constants } from 'node:fs';
import { access, lstat, mkdir, stat } from 'node:fs/promises';
import path from 'node:path';

/** Paths of one spool. */
export interface SpoolDirs {
  root: string;
  incoming: string;
  quarantine: string;
}

/** Outcome of preparing the spool: the dirs, or what an operator must fix. */
export type SpoolDirsResult = { ok: true; dirs: SpoolDirs } | { ok: false; error: string };

/** The incoming/quarantine paths under a spool root (no I/O). */
export function spoolDirs(root: string): SpoolDirs {
  const abs = path.resolve(root);
  return { root: abs, incoming: path.join(abs, 'incoming'), quarantine: path.join(abs, 'quarantine') };
}

/**
 * Creates missing spool directories (requested modes: root 0750, incoming
 * 0770, quarantine 0750, less the process umask; the installer sets the real
 * owners and modes) and checks the daemon can read, write and rename between them.
 */
export async function prepareSpoolDirs(root: string, options: { create?: boolean } = {}): Promise<SpoolDirsResult> {
  const dirs = spoolDirs(root);
  const create = options.create ?? true;
  for (const [dir, mode] of [[dirs.root, 0o750], [dirs.incoming, 0o770], [dirs.quarantine, 0o750]] as const) {
    const problem = await ensureDir(dir, mode, create);
    if (problem) return { ok: false, error: problem };
  }
  // Quarantine is a rename: both directories must be on one filesystem.
  const [a, b] = await Promise.all([stat(dirs.incoming), stat(dirs.quarantine)]);
  if (a.dev !== b.dev) {
    return {
      ok: false,
      error: `spool: ${dirs.incoming} and ${dirs.quarantine} are on different filesystems; put both under one spool directory on local disk`,
    };
  }
  return { ok: true, dirs };
}

async function ensureDir(dir: string, mode: number, create: boolean): Promise<string | null> {
  let st;
  try {
    st = await lstat(dir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT') return `spool: cannot inspect ${dir} (${code}); check the permissions of its parent directories`;
    if (!create) return `spool: ${dir} does not exist; create it or run the daemon once to create it`;
    try {
      await mkdir(dir, { recursive: true, mode });
      st = await lstat(dir);
    } catch (e) {
      const c = (e as NodeJS.ErrnoException).code;
      return `spool: cannot create ${dir} (${c}); create it by hand (owner: the daemon user, group: the Bitbucket user's group) or set spool.dir`;
    }
  }
  if (st.isSymbolicLink()) return `spool: ${dir} is a symbolic link; point spool.dir at the real directory`;
  if (!st.isDirectory()) return `spool: ${dir} is not a directory; move it away or set spool.dir elsewhere`;
  try {
    await access(dir, constants.R_OK | constants.W_OK | constants.X_OK);
  } catch {
    return `spool: the daemon user cannot read and write ${dir}; fix its owner/mode (e.g. chown the daemon user, chmod 0770)`;
  }
  return null;
}
