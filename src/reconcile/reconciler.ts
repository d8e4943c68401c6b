// Reconciliation: the safety net for ref changes no hook reported (web UI
// merges with the file hook only, a missing wiring, a hook that failed).
// At start, every `reconcile.interval`, and shortly after a file-system
// notice for a repository's ref files (reconcile.watch, ref-watch.ts) it
// compares each repository's refs with the refs the relay last knew (store,
// known-refs.ts):
//   - stat first (ref-files.ts): an unchanged repository costs a few stat
//     calls, no file read, no git process;
//   - first sight records the refs, no history (backfill replays history),
//     many repositories per transaction;
//   - a difference waits `reconcile.grace` for a spool record to explain it
//     (the hook path updates the known refs in its event's transaction, so an
//     explained difference simply disappears), then becomes one event with
//     trigger "reconciled" through `emit`;
//   - a repository with spool records not yet relayed is left alone until
//     they are (their ref lines, not a sweep, say what happened in order).

import { realpathSync } from 'node:fs';
import type { Store } from '../store/store.ts';
import type { RefLine } from '../git/ref-lines.ts';
import { matchesAnyRefGlob } from '../git/ref-lines.ts';
import type { Log } from '../log/logger.ts';
import { readRefFiles, refSignature, usesReftable, type RefSnapshot } from './ref-files.ts';
import { knownRefs, recordFirstSights, recordRefUpdates, type FirstSight } from './known-refs.ts';
import { RefWatch } from './ref-watch.ts';

/** Reconciled events analyzed at once (each runs git; the intake's concurrency is of the same order). */
const EMIT_CONCURRENCY = 4;

/** After a file-system notice, wait this long before looking (git writes a lock file, renames it, maybe packs: one look for the burst). */
const NOTICE_DEBOUNCE_MS = 150;

/** The all-zero object name of a created or deleted ref (SHA-1 width; SHA-256 repositories use 64). */
export function zeroFor(sha: string): string {
  return '0'.repeat(sha.length === 64 ? 64 : 40);
}

/** Repositories with spool records not yet relayed; `unknown` when some records are not read yet. */
export interface IntakeBacklog {
  repos: ReadonlySet<string>;
  unknown: boolean;
}

/** What the reconciler needs from the daemon. */
export interface ReconcilerOptions {
  store: Store;
  /** Repository paths to watch (resolved to real paths here). */
  repositories: () => string[];
  intervalMs: number;
  graceMs: number;
  /** Refs left out of events (analysis.ignoreRefs): their changes only update the known refs. */
  ignoreRefs: () => readonly string[];
  backlog: () => IntakeBacklog;
  /** Relays lines as one reconciled event (recording them in its transaction); rejects to try again next sweep. */
  emit: (repoPath: string, lines: RefLine[]) => Promise<void>;
  log: Pick<Log, 'info' | 'warn' | 'debug' | 'error'>;
  /** Also look at a repository soon after a file-system notice for its ref files (reconcile.watch); the interval stays. */
  watch?: boolean;
  /** Most directories watched (default: see ref-watch.ts). */
  watchLimit?: number;
  now?: () => number;
}

/** One sweep's figures. */
export interface SweepStats {
  at: number;
  durationMs: number;
  repositories: number;
  /** Repositories whose ref files were read (signature changed or differences pending). */
  read: number;
  firstSight: number;
  /** Ref updates relayed as reconciled events. */
  reconciled: number;
  /** Differences still inside the grace period. */
  pending: number;
  skippedBusy: number;
  errors: number;
  /** Repositories whose ref files are watched for file-system notices (0 with reconcile.watch off). */
  watched: number;
}

interface RepoState {
  sig: string | null;
  dirs: string[];
  /** "ref before after" → when first seen. */
  pending: Map<string, number>;
  /** Re-check when the oldest pending difference leaves the grace period. */
  timer: NodeJS.Timeout | null;
  /** Look after a file-system notice (debounced). */
  noticeTimer: NodeJS.Timeout | null;
}

/** The reconciliation loop (see the module comment). */
export class Reconciler {
  private readonly o: ReconcilerOptions;
  private readonly states = new Map<string, RepoState>();
  private readonly real = new Map<string, string>();
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<SweepStats> | null = null;
  private stopped = false;
  private warnedReftable = new Set<string>();
  /** The last finished sweep, or null before the first. */
  last: SweepStats | null = null;
  /** Ref updates relayed as reconciled events since start. */
  reconciledTotal = 0;
  /** Emits of the sweep in progress (run side by side, at most EMIT_CONCURRENCY at once). */
  private emits: Promise<void>[] = [];
  private emitSlots = EMIT_CONCURRENCY;
  private readonly emitQueue: (() => void)[] = [];
  private inSweep = false;
  /** First sights read but not yet written (see flushFirstSights). */
  private firstSights: FirstSight[] = [];
  /** File-system notices (reconcile.watch), or null. */
  private readonly watch: RefWatch | null;
  /** File-system notices acted on since start. */
  notices = 0;

  constructor(options: ReconcilerOptions) {
    this.o = options;
    this.watch = options.watch
      ? new RefWatch({ onNotice: (repo) => this.notice(repo), ignoreRefs: options.ignoreRefs, limit: options.watchLimit, log: options.log })
      : null;
  }

  private now(): number {
    return this.o.now?.() ?? Date.now();
  }

  /** First sweep now, then every interval. */
  start(): void {
    const tick = (): void => {
      if (this.stopped) return;
      void this.sweep()
        .catch((err) => this.o.log.error('reconciliation sweep failed; trying again at the next interval', { error: (err as Error).message }))
        .finally(() => {
          if (!this.stopped) this.timer = setTimeout(tick, this.o.intervalMs);
        });
    };
    tick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.watch?.close();
    for (const s of this.states.values()) {
      if (s.timer) clearTimeout(s.timer);
      if (s.noticeTimer) clearTimeout(s.noticeTimer);
    }
    await this.running?.catch(() => undefined);
  }

  /** One pass over every repository (sweeps never overlap). */
  sweep(): Promise<SweepStats> {
    this.running ??= this.runSweep().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  private realPath(p: string): string {
    let r = this.real.get(p);
    if (r === undefined) {
      try {
        r = realpathSync(p);
      } catch {
        r = p;
      }
      this.real.set(p, r);
    }
    return r;
  }

  private async runSweep(): Promise<SweepStats> {
    this.inSweep = true;
    try {
      return await this.sweepAll();
    } finally {
      this.inSweep = false;
    }
  }

  private async sweepAll(): Promise<SweepStats> {
    const started = performance.now();
    const stats: SweepStats = { at: this.now(), durationMs: 0, repositories: 0, read: 0, firstSight: 0, reconciled: 0, pending: 0, skippedBusy: 0, errors: 0, watched: 0 };
    const backlog = this.o.backlog();
    const seen = new Set<string>();
    for (const listed of this.o.repositories()) {
      if (this.stopped) break;
      const repo = this.realPath(listed);
      if (seen.has(repo)) continue;
      seen.add(repo);
      stats.repositories++;
      if (backlog.unknown || backlog.repos.has(repo)) {
        stats.skippedBusy++;
        const s = this.states.get(repo);
        if (s) s.sig = null; // look again once its records are relayed
        continue;
      }
      // Unchanged repositories cost only stat calls, all synchronous: let other work in every few hundred.
      // First sights are written before every await (one transaction for up to 256 repositories).
      if (stats.repositories % 256 === 0) {
        this.flushFirstSights();
        await new Promise<void>((r) => setImmediate(r));
      }
      try {
        const done = this.checkRepo(repo, stats);
        if (done) this.emits.push(done);
      } catch (err) {
        stats.errors++;
        this.o.log.warn('reconciliation: cannot read a repository\'s refs; trying again at the next sweep', { repo, error: (err as Error).message });
      }
    }
    this.flushFirstSights();
    // Changed repositories are analyzed side by side (git runs for each); the sweep ends when all are durable.
    const emits = this.emits;
    this.emits = [];
    for (const r of await Promise.allSettled(emits)) if (r.status === 'rejected') stats.errors++;
    // Repositories that disappeared: forget their state (their known refs stay for a later return).
    for (const [repo, s] of this.states) {
      if (!seen.has(repo)) {
        if (s.timer) clearTimeout(s.timer);
        if (s.noticeTimer) clearTimeout(s.noticeTimer);
        this.states.delete(repo);
        this.watch?.drop(repo);
      }
    }
    stats.durationMs = performance.now() - started;
    stats.watched = this.watch?.repositories ?? 0;
    this.last = stats;
    this.o.log.debug('reconciliation sweep', { ...stats });
    return stats;
  }

  /** Reads a repository's ref files until a read is bracketed by equal signatures (nothing moved meanwhile); sig null if it kept moving. */
  private readStable(repo: string): { snap: RefSnapshot; sig: string | null } {
    let snap = readRefFiles(repo);
    for (let i = 0; ; i++) {
      const sig = refSignature(repo, snap.dirs);
      if (sig === snap.sigBefore) return { snap, sig };
      if (i === 3) return { snap, sig: null }; // still moving: use this read, look again next time
      snap = readRefFiles(repo);
    }
  }

  /** Writes the first sights collected since the last flush in one transaction (one fsync for many repositories). */
  private flushFirstSights(): void {
    if (this.firstSights.length === 0) return;
    const batch = this.firstSights;
    this.firstSights = [];
    try {
      recordFirstSights(this.o.store, batch, this.now());
    } catch (err) {
      for (const f of batch) {
        const s = this.states.get(f.repoPath);
        if (s) s.sig = null; // not recorded: read again next time
      }
      throw err;
    }
  }

  /**
   * Looks at one repository: stat, and only if needed read, diff, wait or
   * emit. Synchronous up to the emit (returned, or null): a first sight is
   * queued for flushFirstSights, which callers run before they next await,
   * so no hook event can land between the read and its recording.
   */
  private checkRepo(repo: string, stats: SweepStats): Promise<void> | null {
    let state = this.states.get(repo);
    if (state && state.sig !== null && state.pending.size === 0 && refSignature(repo, state.dirs) === state.sig) return null;
    if (!state) {
      if (usesReftable(repo)) {
        if (!this.warnedReftable.has(repo)) this.o.log.warn('reconciliation skips a repository on the reftable ref backend (its refs are not files)', { repo });
        this.warnedReftable.add(repo);
        return null;
      }
    }
    stats.read++;
    const { snap, sig } = this.readStable(repo);
    if (!state) {
      state = { sig: null, dirs: snap.dirs, pending: new Map(), timer: null, noticeTimer: null };
      this.states.set(repo, state);
    }
    state.dirs = snap.dirs;
    this.watch?.sync(repo, snap.dirs);

    const known = knownRefs(this.o.store, repo);
    if (known === null) {
      this.firstSights.push({ repoPath: repo, refs: snap.refs });
      stats.firstSight++;
      state.sig = sig;
      return null;
    }

    const ignore = this.o.ignoreRefs();
    const diff: RefLine[] = [];
    for (const [ref, sha] of snap.refs) {
      const k = known.get(ref);
      if (k !== sha) diff.push({ ref, before: k ?? zeroFor(sha), after: sha });
    }
    for (const [ref, k] of known) if (!snap.refs.has(ref)) diff.push({ ref, before: k, after: zeroFor(k) });
    diff.sort((a, b) => (a.ref < b.ref ? -1 : a.ref > b.ref ? 1 : 0));

    const ignored = diff.filter((l) => matchesAnyRefGlob(l.ref, ignore));
    if (ignored.length) recordRefUpdates(this.o.store, { repoPath: repo, lines: ignored, eventId: null, source: 'reconciled', relayed: false }, this.now());
    const relevant = diff.filter((l) => !matchesAnyRefGlob(l.ref, ignore));

    const now = this.now();
    const pending = new Map<string, number>();
    for (const l of relevant) {
      const key = `${l.ref} ${l.before} ${l.after}`;
      pending.set(key, state.pending.get(key) ?? now);
    }
    state.pending = pending;
    const ready = relevant.filter((l) => pending.get(`${l.ref} ${l.before} ${l.after}`)! + this.o.graceMs <= now);
    let done: Promise<void> | null = null;
    if (ready.length) {
      for (const l of ready) pending.delete(`${l.ref} ${l.before} ${l.after}`);
      const st = state;
      done = this.limited(() => this.o.emit(repo, ready)).then(
        () => {
          stats.reconciled += ready.length;
          this.reconciledTotal += ready.length;
          this.o.log.info('reconciliation relayed ref changes no hook reported', { repo, refs: ready.map((l) => `${l.ref} ${l.before.slice(0, 12)}..${l.after.slice(0, 12)}`) });
        },
        (err: unknown) => {
          st.sig = null; // not relayed: look again next sweep
          this.o.log.warn('reconciliation: cannot relay a repository\'s ref changes; trying again at the next sweep', { repo, error: (err as Error).message });
          throw err;
        },
      );
    }
    stats.pending += pending.size;
    state.sig = pending.size || ready.length ? null : sig;
    if (pending.size) this.recheckLater(repo, state, Math.min(...pending.values()) + this.o.graceMs - now);
    return done;
  }

  /** Runs fn when one of EMIT_CONCURRENCY slots is free. */
  private async limited(fn: () => Promise<void>): Promise<void> {
    if (this.emitSlots === 0) await new Promise<void>((r) => this.emitQueue.push(r));
    this.emitSlots--;
    try {
      await fn();
    } finally {
      this.emitSlots++;
      this.emitQueue.shift()?.();
    }
  }

  /** Looks at one repository again when its oldest difference leaves the grace period (not a whole sweep). */
  private recheckLater(repo: string, state: RepoState, delayMs: number): void {
    if (state.timer || this.stopped) return;
    state.timer = setTimeout(() => {
      state.timer = null;
      this.checkNow(repo, state, 'grace');
    }, Math.max(0, delayMs) + 5);
    state.timer.unref?.();
  }

  /** A file-system notice for a repository's ref files: look at it shortly (a push's burst of notices makes one look). */
  private notice(repo: string): void {
    const state = this.states.get(repo);
    if (!state || state.noticeTimer || this.stopped) return;
    this.notices++;
    state.noticeTimer = setTimeout(() => {
      state.noticeTimer = null;
      this.checkNow(repo, state, 'notice');
    }, NOTICE_DEBOUNCE_MS);
    state.noticeTimer.unref?.();
  }

  /** One repository now, outside a sweep (a grace period ended, or a notice); waits while its spool records are not relayed. */
  private checkNow(repo: string, state: RepoState, reason: 'grace' | 'notice'): void {
    if (this.stopped || this.states.get(repo) !== state) return;
    const backlog = this.o.backlog();
    if (backlog.unknown || backlog.repos.has(repo)) {
      state.sig = null; // look again once its records are relayed
      this.recheckLater(repo, state, Math.min(this.o.graceMs, 1000));
      return;
    }
    const stats: SweepStats = { at: this.now(), durationMs: 0, repositories: 1, read: 0, firstSight: 0, reconciled: 0, pending: 0, skippedBusy: 0, errors: 0, watched: 0 };
    let done: Promise<void> | null = null;
    try {
      done = this.checkRepo(repo, stats);
      this.flushFirstSights();
    } catch (err) {
      this.firstSights = [];
      this.o.log.warn('reconciliation: cannot read a repository\'s refs; trying again at the next sweep', { repo, error: (err as Error).message });
      return;
    }
    this.o.log.debug('reconciliation looked at a repository', { repo, reason, read: stats.read, pending: state.pending.size, relaying: done !== null });
    if (done) {
      if (this.inSweep) this.emits.push(done);
      else void done.catch(() => undefined); // logged where it failed; the next sweep looks again
    }
  }
}

/** The repositories under a Bitbucket home plus those named in config (paths as configured). */
export { listRepositories } from './repositories.ts';
