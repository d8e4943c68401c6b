// Spool counts for `relay status`, read straight from the directories so they
// work whether or not the daemon runs.

import { countQuarantined } from './quarantine.ts';
import { spoolDirs } from './spool-dirs.ts';
import { scanSpoolDir } from './spool-files.ts';

/** What is waiting in a spool. */
export interface SpoolStats {
  /** Entries in incoming/ still to be processed (records, and anything not yet judged). */
  backlog: number;
  /** Age of the oldest of them by mtime, ms; null when the backlog is empty. */
  oldestAgeMs: number | null;
  /** Entries in quarantine/ (reason files not counted). */
  quarantined: number;
  /** Writers' temporary files (leading dot) in incoming/, not counted in backlog. */
  temporary: number;
  incoming: string;
  quarantine: string;
}

/** Spool counts, or an operator-readable error when the spool cannot be read. */
export type SpoolStatsResult = { ok: true; stats: SpoolStats } | { ok: false; error: string };

/** Reads the spool at `dir` (no daemon needed). */
export async function spoolStats(dir: string, now: number = Date.now()): Promise<SpoolStatsResult> {
  const dirs = spoolDirs(dir);
  let entries;
  try {
    entries = await scanSpoolDir(dirs.incoming);
  } catch (err) {
    return { ok: false, error: `spool: cannot read ${dirs.incoming} (${(err as NodeJS.ErrnoException).code}); check spool.dir and permissions` };
  }
  let quarantined = 0;
  try {
    quarantined = await countQuarantined(dirs.quarantine);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    // A spool whose quarantine was never created simply has nothing quarantined.
    if (code !== 'ENOENT') return { ok: false, error: `spool: cannot read ${dirs.quarantine} (${code}); check permissions` };
  }
  const waiting = entries.filter((e) => e.kind !== 'temp');
  const oldest = waiting.length ? waiting.reduce((m, e) => (e.mtimeNs < m ? e.mtimeNs : m), waiting[0].mtimeNs) : null;
  return {
    ok: true,
    stats: {
      backlog: waiting.length,
      oldestAgeMs: oldest === null ? null : Math.max(0, now - Number(oldest / 1_000_000n)),
      quarantined,
      temporary: entries.length - waiting.length,
      incoming: dirs.incoming,
      quarantine: dirs.quarantine,
    },
  };
}
