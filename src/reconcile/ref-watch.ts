// File-system notices for ref changes (reconcile.watch): per repository, one
// fs.watch on the repository directory (packed-refs is replaced there) and
// one on each directory under refs/ (git writes a loose ref as `<ref>.lock`
// and renames it into place, which the directory's watch reports). These are
// the same files and directories the stat-first sweep signs, so a notice
// means "this repository's signature may have changed": the reconciler looks
// at it soon instead of at the next interval.
// On Linux every watched directory costs one inotify watch, a per-user budget
// (fs.inotify.max_user_watches) shared with every other program of the user,
// Bitbucket included: at most `limit` directories are watched (half the
// budget by default). Directories beyond it, or refused by the platform, are
// left to the interval sweep, and one warning says so.
// Directories only holding refs left out of events (analysis.ignoreRefs,
// e.g. refs/pull-requests/**) are not watched: their changes wait for the sweep.

import { watch, readFileSync, type FSWatcher } from 'node:fs';
import { join } from 'node:path';
import type { Log } from '../log/logger.ts';

/** What the watch needs. */
export interface RefWatchOptions {
  /** Called for each notice that may mean a ref moved in `repo` (often several per change: debounce). */
  onNotice: (repo: string) => void;
  /** Ref globs left out of events; directories wholly under a `prefix/**` glob are not watched. */
  ignoreRefs: () => readonly string[];
  /** Most directories watched at once (default defaultWatchLimit()). */
  limit?: number;
  log: Pick<Log, 'warn' | 'info'>;
}

/** Half of Linux's per-user inotify watch budget; 1,024 elsewhere (kqueue costs a file descriptor per directory). */
export function defaultWatchLimit(): number {
  try {
    const max = Number(readFileSync('/proc/sys/fs/inotify/max_user_watches', 'utf8').trim());
    if (Number.isFinite(max) && max > 0) return Math.floor(max / 2);
  } catch {
    /* not Linux */
  }
  return 1024;
}

/** The directory prefixes every ref under which is ignored (`refs/pull-requests/**` → refs/pull-requests). */
function ignoredPrefixes(globs: readonly string[]): string[] {
  return globs.filter((g) => g.endsWith('/**') && !/[*?[\]{}!]/.test(g.slice(0, -3))).map((g) => g.slice(0, -3));
}

/** The repository directory itself is keyed '' (its packed-refs). */
const ROOT = '';

/** Watches repositories' ref files within a budget (see the module comment). */
export class RefWatch {
  private readonly o: RefWatchOptions;
  private readonly limit: number;
  private readonly repos = new Map<string, Map<string, FSWatcher>>();
  /** Repositories some of whose directories are not watched (budget or platform refusal). */
  private readonly partial = new Set<string>();
  private count = 0;
  private warned = false;
  private closed = false;

  constructor(options: RefWatchOptions) {
    this.o = options;
    this.limit = options.limit ?? defaultWatchLimit();
  }

  /** Directories watched now. */
  get directories(): number {
    return this.count;
  }

  /** Repositories whose every ref directory is watched. */
  get repositories(): number {
    return this.repos.size - this.partial.size;
  }

  /** Watches `repo` and its ref directories `dirs` (relative, as read), and no others. */
  sync(repo: string, dirs: readonly string[]): void {
    if (this.closed) return;
    const prefixes = ignoredPrefixes(this.o.ignoreRefs());
    const wanted = [ROOT, ...dirs.filter((d) => !prefixes.some((p) => d === p || d.startsWith(`${p}/`)))];
    let watchers = this.repos.get(repo);
    if (!watchers) {
      watchers = new Map();
      this.repos.set(repo, watchers);
    }
    const want = new Set(wanted);
    for (const [dir, w] of watchers) {
      if (!want.has(dir)) {
        w.close();
        watchers.delete(dir);
        this.count--;
      }
    }
    let complete = true;
    for (const dir of wanted) {
      if (watchers.has(dir)) continue;
      const w = this.count < this.limit ? this.open(repo, dir) : null;
      if (w) {
        watchers.set(dir, w);
        this.count++;
      } else {
        complete = false;
        this.budgetReached();
      }
    }
    if (complete) this.partial.delete(repo);
    else this.partial.add(repo);
  }

  private open(repo: string, dir: string): FSWatcher | null {
    let w: FSWatcher;
    try {
      w = watch(join(repo, dir), { persistent: false }, (_kind, name) => {
        const file = name?.toString() ?? null;
        // In the repository directory only packed-refs (and refs/ itself) matter; elsewhere every ref but lock files.
        if (dir === ROOT ? file === null || file === 'packed-refs' || file === 'refs' : !file?.endsWith('.lock')) this.o.onNotice(repo);
      });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return null; // gone meanwhile: the next look re-syncs
      if (!this.warned) this.o.log.warn('reconciliation: the platform refused a file-system watch; repositories not watched are compared at every interval only', { repo, error: (err as Error).message });
      this.warned = true;
      return null;
    }
    w.on('error', () => {
      // The directory went away (a ref namespace emptied, the repository deleted): the next look re-syncs.
      const watchers = this.repos.get(repo);
      if (watchers?.get(dir) === w) {
        watchers.delete(dir);
        this.count--;
        this.partial.add(repo);
      }
      w.close();
      this.o.onNotice(repo);
    });
    return w;
  }

  private budgetReached(): void {
    if (this.warned || this.count < this.limit) return;
    this.warned = true;
    this.o.log.warn(
      `reconciliation watches at most ${this.limit} directories (half of fs.inotify.max_user_watches); repositories beyond that are compared at every interval only. Raise fs.inotify.max_user_watches (sysctl) to watch them all`,
      { limit: this.limit },
    );
  }

  /** Stops watching `repo`. */
  drop(repo: string): void {
    const watchers = this.repos.get(repo);
    if (!watchers) return;
    for (const w of watchers.values()) w.close();
    this.count -= watchers.size;
    this.repos.delete(repo);
    this.partial.delete(repo);
  }

  /** Stops every watch. */
  close(): void {
    this.closed = true;
    for (const repo of [...this.repos.keys()]) this.drop(repo);
  }
}
