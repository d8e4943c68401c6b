// Reconciliation: the safety net for ref changes no hook reported (web UI
// merges with the file hook only, a missing wiring, a hook that failed).
// At start and every `reconcile.interval` it compares each repository's refs
// with the refs the relay last knew (store, known-refs.ts):
//   - stat first (ref-files.ts): an unchanged repository costs a few stat
//     calls, no file read, no git process;
//   - first sight records the refs, no history (backfill replays history);
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
import { readRefFiles, refSignature, usesReftable } from './ref-files.ts';
import { knownRefs, recordFirstSight, recordRefUpdates } from './known-refs.ts';

/** Reconciled events analyzed at once (each runs git; the intake's concurrency is of the same order). */
const EMIT_CONCURRENCY = 4;

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
}

interface RepoState {
  sig: string | null;
  dirs: string[];
  /** "ref before after" → when first seen. */
  pending: Map<string, number>;
  timer: NodeJS.Timeout | null;
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

  constructor(options: ReconcilerOptions) {
    this.o = options;
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
    for (const s of this.states.values()) if (s.timer) clearTimeout(s.timer);
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
    const started = performance.now();
    const stats: SweepStats = { at: this.now(), durationMs: 0, repositories: 0, read: 0, firstSight: 0, reconciled: 0, pending: 0, skippedBusy: 0, errors: 0 };
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
      if (stats.repositories % 256 === 0) await new Promise<void>((r) => setImmediate(r));
      try {
        await this.checkRepo(repo, stats);
      } catch (err) {
        stats.errors++;
        this.o.log.warn('reconciliation: cannot read a repository\'s refs; trying again at the next sweep', { repo, error: (err as Error).message });
      }
    }
    // Changed repositories are analyzed side by side (git runs for each); the sweep ends when all are durable.
    const emits = this.emits;
    this.emits = [];
    for (const r of await Promise.allSettled(emits)) if (r.status === 'rejected') stats.errors++;
    // Repositories that disappeared: forget their state (their known refs stay for a later return).
    for (const [repo, s] of this.states) {
      if (!seen.has(repo)) {
        if (s.timer) clearTimeout(s.timer);
        this.states.delete(repo);
      }
    }
    stats.durationMs = performance.now() - started;
    this.last = stats;
    this.o.log.debug('reconciliation sweep', { ...stats });
    return stats;
  }

  /** Looks at one repository: stat, and only if needed read, diff, wait or emit. */
  private async checkRepo(repo: string, stats: SweepStats): Promise<void> {
    let state = this.states.get(repo);
    if (state && state.sig !== null && state.pending.size === 0 && refSignature(repo, state.dirs) === state.sig) return;
    if (usesReftable(repo)) {
      if (!this.warnedReftable.has(repo)) this.o.log.warn('reconciliation skips a repository on the reftable ref backend (its refs are not files)', { repo });
      this.warnedReftable.add(repo);
      return;
    }
    stats.read++;
    const sigBefore = state ? refSignature(repo, state.dirs) : null;
    let snap = readRefFiles(repo);
    let sig = refSignature(repo, snap.dirs);
    if (!state || sigBefore === null) {
      // No earlier signature to bracket the read: read again until the files hold still.
      for (let i = 0; i < 3; i++) {
        const again = readRefFiles(repo);
        const sig2 = refSignature(repo, again.dirs);
        const same = sig2 === sig && again.refs.size === snap.refs.size && [...again.refs].every(([r, s]) => snap.refs.get(r) === s);
        snap = again;
        sig = sig2;
        if (same) break;
      }
      state = { sig: null, dirs: snap.dirs, pending: new Map(), timer: null };
      this.states.set(repo, state);
    }
    state.dirs = snap.dirs;

    const known = knownRefs(this.o.store, repo);
    if (known === null) {
      recordFirstSight(this.o.store, repo, snap.refs, this.now());
      stats.firstSight++;
      state.sig = sig;
      return;
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
    if (ready.length) {
      for (const l of ready) pending.delete(`${l.ref} ${l.before} ${l.after}`);
      const done = this.limited(() => this.o.emit(repo, ready)).then(
        () => {
          stats.reconciled += ready.length;
          this.reconciledTotal += ready.length;
          this.o.log.info('reconciliation relayed ref changes no hook reported', { repo, refs: ready.map((l) => `${l.ref} ${l.before.slice(0, 12)}..${l.after.slice(0, 12)}`) });
        },
        (err: unknown) => {
          state!.sig = null; // not relayed: look again next sweep
          this.o.log.warn('reconciliation: cannot relay a repository\'s ref changes; trying again at the next sweep', { repo, error: (err as Error).message });
          throw err;
        },
      );
      this.emits.push(done);
      if (!this.running) await done.catch(() => undefined); // a re-check outside a sweep
    }
    stats.pending += pending.size;
    state.sig = pending.size || ready.length ? null : sig;
    if (pending.size) this.recheckLater(repo, state, Math.min(...pending.values()) + this.o.graceMs - now);
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
      if (this.stopped) return;
      const backlog = this.o.backlog();
      if (backlog.unknown || backlog.repos.has(repo)) {
        this.recheckLater(repo, state, Math.min(this.o.graceMs, 1000));
        return;
      }
      const stats: SweepStats = { at: this.now(), durationMs: 0, repositories: 1, read: 0, firstSight: 0, reconciled: 0, pending: 0, skippedBusy: 0, errors: 0 };
      this.checkRepo(repo, stats).catch((err) => this.o.log.warn('reconciliation: cannot read a repository\'s refs; trying again at the next sweep', { repo, error: (err as Error).message }));
    }, Math.max(0, delayMs) + 5);
    state.timer.unref?.();
  }
}

/** The repositories under a Bitbucket home plus those named in config (paths as configured). */
export { listRepositories } from './repositories.ts';
