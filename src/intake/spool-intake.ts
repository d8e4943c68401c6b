// Feeds spool records to the daemon: start-up scan (oldest first), chokidar
// watch, and a cheap periodic rescan in case a watch event is lost.
//
// Guarantees:
// - a record reaches onRecord only once it is whole (end marker present);
// - records of one repository go one at a time, in order (mtime, then name);
//   different repositories run concurrently up to `concurrency`;
// - the file is removed only after onRecord resolves (then the directory is
//   fsync'd); a rejection keeps it and retries later with backoff;
// - anything unparseable, non-regular (symlinks are never followed), or still
//   without end marker after the grace period goes to quarantine/ with a
//   reason, and intake carries on;
// - pause() stops handing out records (they wait on disk), stop() finishes the
//   records in hand and takes no new ones.
//
// This class holds the state and the pump; what a new name is lives in
// discovery.ts, reading and judging a record file in record-loading.ts, and
// which record may run next in scheduler.ts.

import { watch, type FSWatcher } from 'chokidar';
import { unlinkSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import type { Log } from '../log/logger.ts';
import { DirSync } from './dir-sync.ts';
import { judgeNewEntry } from './discovery.ts';
import { countQuarantined, quarantineEntry } from './quarantine.ts';
import { loadRecordFile } from './record-loading.ts';
import { insertOrdered, laterRecordsOf, newEntry, retryDelayMs, runnableEntries, type Entry, type EntryState } from './scheduler.ts';
import { prepareSpoolDirs, type SpoolDirs } from './spool-dirs.ts';
import { compareSpoolOrder, lstatEntry, yieldToLoop, type SpoolDirEntry } from './spool-files.ts';
import type { SpoolRecord } from './spool-record.ts';

/** The logging the intake needs (the daemon's Log fits). */
export type IntakeLog = Pick<Log, 'error' | 'warn' | 'info' | 'debug'>;

/** Settings of a spool intake. */
export interface SpoolIntakeOptions {
  /** Spool root; incoming/ and quarantine/ live under it. */
  dir: string;
  /**
   * Makes the record durable downstream; the record file is removed once it
   * resolves. `later` lists the records of the same repository already known
   * to come after it (oldest first): analysis runs after those pushes moved
   * refs, and uses them to see the refs as they stood at this push. The
   * first `contiguous` of them follow it with no record being written in
   * between (one could be this repository's): pushes in a known order.
   */
  onRecord: (record: SpoolRecord, later: readonly SpoolRecord[], contiguous: number) => Promise<void>;
  /** Records in onRecord at once (different repositories only). Default 4. */
  concurrency?: number;
  /** How long a record without end marker counts as "being written" (by mtime). Default 60 s. */
  graceMs?: number;
  log?: IntakeLog;
  /** Full directory rescan period, the safety net under chokidar; 0 disables. Default 2 s. */
  rescanMs?: number;
  /** Retry backoff after onRecord rejects: base doubling up to max. Defaults 1 s, 60 s. */
  retryBaseMs?: number;
  retryMaxMs?: number;
  /** Larger files are quarantined unread. Default 64 MiB. */
  maxRecordBytes?: number;
  /** Records parsed ahead of dispatch (bounds memory with a large backlog). Default 256. */
  window?: number;
  /** Use chokidar (default true); false relies on rescans only. */
  watch?: boolean;
  /** Create missing spool directories (default true). */
  createDirs?: boolean;
  /**
   * When set, a record whose repository path is not inside one of these
   * directories (e.g. the Bitbucket home) is quarantined, not processed.
   */
  repoRoots?: string[];
  /** How long an entry that could be neither read nor quarantined waits before another try. Default 60 s. */
  stuckRetryMs?: number;
}

/** Live counts for status. */
export interface IntakeStats {
  /** Entries in incoming/ the intake knows of, not yet finished (incl. running, retrying, being written). */
  backlog: number;
  /** Age of the oldest of them by mtime, ms; null when none. */
  oldestAgeMs: number | null;
  /** Entries in quarantine/ (counted at start, plus what this intake moved there). */
  quarantined: number;
  running: number;
  retrying: number;
  /** Records seen without end marker, within their grace period. */
  beingWritten: number;
  /** Entries that can be neither processed nor moved (see the log). */
  stuck: number;
  paused: boolean;
  /** Records handed to onRecord successfully since start. */
  processed: number;
}

/**
 * Thrown by onRecord for a record that can never be processed (e.g. its
 * repository no longer exists): the intake quarantines it with this message
 * instead of retrying it forever.
 */
export class UnprocessableRecordError extends Error {
  override name = 'UnprocessableRecordError';
}

/** A start-up problem an operator must fix (message says what and where). */
export class SpoolIntakeError extends Error {
  override name = 'SpoolIntakeError';
}

const noopLog: IntakeLog = { error() {}, warn() {}, info() {}, debug() {} };

/** Reads the spool and hands records to onRecord (see the file comment for the guarantees). */
export class SpoolIntake {
  private readonly opts: Required<Omit<SpoolIntakeOptions, 'log' | 'repoRoots'>>;
  private readonly repoRoots: string[] | null;
  private readonly log: IntakeLog;
  private dirs: SpoolDirs | null = null;
  private dirSync: DirSync | null = null;
  private watcher: FSWatcher | null = null;

  private readonly entries = new Map<string, Entry>();
  /** Entries in processing order (mtime, name). */
  private order: Entry[] = [];
  /** Names reported by the watcher or a rescan, not yet looked at. */
  private readonly pendingNames = new Set<string>();
  /** Temporary (dot) files: name → when to judge them again. */
  private readonly temps = new Map<string, number>();
  /** Names that could be neither processed nor moved (logged once): looked at again after `retryAt`. */
  private readonly stuck = new Map<string, { why: string; retryAt: number }>();
  /** Entries without end marker yet, and entries waiting to retry (kept apart to stay O(1) per pump). */
  private readonly beingWritten = new Set<Entry>();
  private readonly retrying = new Set<Entry>();
  private readonly inflight = new Set<Promise<void>>();
  /**
   * Paths this intake just removed or moved away → expiry (ms). chokidar is
   * told to ignore them: reconciling each unlink costs it ~0.3 ms, and after
   * a large backlog drains new records would queue behind thousands of them.
   */
  private readonly removed = new Map<string, number>();

  private active = 0;
  private processed = 0;
  private quarantined = 0;
  private paused = false;
  private started = false;
  private stopping = false;
  private stopPromise: Promise<void> | null = null;
  private pumpAgain = false;
  private pumpRunning: Promise<void> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private timerAt = Infinity;
  private rescanTimer: NodeJS.Timeout | null = null;

  /** Creates an intake; nothing happens until start(). */
  constructor(options: SpoolIntakeOptions) {
    this.log = options.log ?? noopLog;
    this.opts = {
      dir: options.dir,
      onRecord: options.onRecord,
      concurrency: Math.max(1, Math.floor(options.concurrency ?? 4)),
      graceMs: options.graceMs ?? 60_000,
      rescanMs: options.rescanMs ?? 2_000,
      retryBaseMs: options.retryBaseMs ?? 1_000,
      retryMaxMs: options.retryMaxMs ?? 60_000,
      maxRecordBytes: options.maxRecordBytes ?? 64 * 1024 * 1024,
      window: Math.max(1, options.window ?? 256),
      watch: options.watch ?? true,
      createDirs: options.createDirs ?? true,
      stuckRetryMs: options.stuckRetryMs ?? 60_000,
    };
    this.repoRoots = options.repoRoots?.length ? options.repoRoots.map((r) => path.resolve(r)) : null;
  }

  /** Prepares the directories, starts watching, scans the backlog. Rejects with SpoolIntakeError. */
  async start(): Promise<void> {
    if (this.started) throw new SpoolIntakeError('spool intake: already started');
    this.started = true;
    const prepared = await prepareSpoolDirs(this.opts.dir, { create: this.opts.createDirs });
    if (!prepared.ok) throw new SpoolIntakeError(prepared.error);
    const dirs = prepared.dirs;
    this.dirs = dirs;
    this.dirSync = new DirSync(dirs.incoming);
    this.quarantined = await countQuarantined(dirs.quarantine);

    if (this.opts.watch) {
      // Watch before scanning: a record landing in between is seen by one or the other.
      const watcher = watch(dirs.incoming, {
        ignored: (p: string) => this.removed.has(p),
        depth: 0,
        ignoreInitial: true,
        followSymlinks: false,
        atomic: false,
        awaitWriteFinish: false,
        persistent: true,
      });
      this.watcher = watcher;
      watcher.on('all', (event, p) => {
        if (event === 'unlink' || event === 'unlinkDir') return;
        if (path.dirname(p) !== dirs.incoming) return;
        this.noteName(path.basename(p));
      });
      watcher.on('error', (err) => {
        this.log.warn('spool intake: watcher error; the periodic rescan covers for it', { error: String(err) });
      });
      await new Promise<void>((resolve) => watcher.once('ready', () => resolve()));
    }
    const found = await this.rescan();
    if (this.opts.rescanMs > 0) {
      this.rescanTimer = setInterval(() => {
        this.rescan().catch((err) => this.log.warn('spool intake: rescan failed', { error: String(err) }));
      }, this.opts.rescanMs);
    }
    this.log.info('spool intake started', { incoming: dirs.incoming, entries: found });
  }

  /** Stop handing out records (in-flight ones finish); they wait in the spool. */
  pause(): void {
    if (!this.paused) this.log.info('spool intake paused');
    this.paused = true;
  }

  /** Hand out records again. */
  resume(): void {
    if (this.paused) this.log.info('spool intake resumed');
    this.paused = false;
    this.kick();
  }

  /** Takes no new records; resolves once the records in hand are finished and removed. */
  stop(): Promise<void> {
    this.stopPromise ??= (async () => {
      this.stopping = true;
      if (this.rescanTimer) clearInterval(this.rescanTimer);
      if (this.timer) clearTimeout(this.timer);
      this.rescanTimer = this.timer = null;
      await this.watcher?.close();
      await this.pumpRunning;
      while (this.inflight.size) await Promise.all([...this.inflight]);
      await this.dirSync?.close();
      this.log.info('spool intake stopped', { processed: this.processed });
    })();
    return this.stopPromise;
  }

  /** Live counts for status. */
  stats(now: number = Date.now()): IntakeStats {
    const oldest = this.order.length ? this.order[0].mtimeNs : null; // sorted by mtime first
    return {
      backlog: this.order.length,
      oldestAgeMs: oldest === null ? null : Math.max(0, now - Number(oldest / 1_000_000n)),
      quarantined: this.quarantined,
      running: this.active,
      retrying: this.retrying.size,
      beingWritten: this.beingWritten.size,
      stuck: this.stuck.size,
      paused: this.paused,
      processed: this.processed,
    };
  }

  /**
   * Repositories with records in the spool not yet relayed; `unknown` when
   * some records are not read yet (their repository is not known). Reconciliation
   * leaves these alone: their ref lines say what happened, in order.
   */
  backlog(): { repos: Set<string>; unknown: boolean } {
    const repos = new Set<string>();
    let unknown = this.pendingNames.size > 0;
    for (const e of this.order) {
      if (e.record) repos.add(e.record.repoPath);
      else unknown = true;
    }
    return { repos, unknown };
  }

  // --- discovery ----------------------------------------------------------

  private noteName(name: string): void {
    if (this.stopping || this.stuck.has(name)) return;
    const e = this.entries.get(name);
    if (e && e.state !== 'incomplete') return; // already known; a change event means nothing new
    this.pendingNames.add(name);
    this.kick();
  }

  /** Reads incoming/ and queues unknown names; returns how many entries it holds. */
  private async rescan(): Promise<number> {
    if (this.stopping || !this.dirs) return 0;
    const names = await readdir(this.dirs.incoming);
    // What is in quarantine/ now: `relay quarantine retry|drop` (or a hand) moves entries out while we run.
    this.quarantined = await countQuarantined(this.dirs.quarantine).catch(() => this.quarantined);
    const now = Date.now();
    this.expireRemoved(now);
    for (const name of names) {
      if (this.entries.has(name)) continue;
      const stuck = this.stuck.get(name);
      if (stuck && stuck.retryAt > now) continue;
      this.pendingNames.add(name);
    }
    this.kick();
    return names.length;
  }

  // --- the pump: discover → re-read records being written → parse ahead → dispatch

  private kick(): void {
    if (this.stopping || !this.dirs) return;
    this.pumpAgain = true;
    if (this.pumpRunning) return;
    this.pumpRunning = this.pump()
      .catch((err) => this.log.error('spool intake: internal error; retrying on the next event', { error: String(err) }))
      .finally(() => {
        this.pumpRunning = null;
        if (this.pumpAgain && !this.stopping) this.kick();
      });
  }

  private async pump(): Promise<void> {
    while (this.pumpAgain && !this.stopping) {
      this.pumpAgain = false;
      await this.discover();
      await this.recheckBeingWritten();
      await this.parseAhead();
      this.dispatch();
      this.armTimer();
    }
  }

  private async discover(): Promise<void> {
    const dirs = this.dirs!;
    const now = Date.now();
    const added: Entry[] = [];
    let count = 0;
    while (this.pendingNames.size && !this.stopping) {
      const name: string = this.pendingNames.values().next().value!;
      this.pendingNames.delete(name);
      if (++count % 512 === 0) await yieldToLoop(); // a big start-up backlog must not starve the loop
      let st: SpoolDirEntry | null = null;
      try {
        st = lstatEntry(dirs.incoming, name);
      } catch {
        st = null; // cannot even lstat it: the periodic rescan tries again
      }
      if (!st) continue;
      const known = this.entries.get(st.name);
      if (known) {
        if (known.state === 'incomplete') known.dueAt = 0; // changed: look now
        continue;
      }
      const e = await this.judgeNew(st, now);
      if (e) added.push(e);
    }
    // A big start-up backlog is sorted once; a few new records are inserted in place.
    if (added.length > 32) {
      this.order.push(...added);
      this.order.sort(compareSpoolOrder);
    } else {
      for (const e of added) insertOrdered(this.order, e);
    }
  }

  /** Quarantines what is not a record (discovery.ts); returns a new entry for a record file. */
  private async judgeNew(st: SpoolDirEntry, now: number): Promise<Entry | null> {
    const verdict = judgeNewEntry(st, now, this.opts.graceMs);
    if (verdict.kind === 'quarantine') {
      this.temps.delete(st.name);
      await this.quarantine(st.name, verdict.reason);
      return null;
    }
    if (verdict.kind === 'temp') {
      this.temps.set(st.name, verdict.recheckAt);
      return null;
    }
    const e = newEntry(st.name, st.mtimeNs);
    this.entries.set(e.name, e);
    return e;
  }

  // Records without end marker are re-read whenever their size or mtime moved
  // (before anything is dispatched: a record finished earlier must not lose
  // its place to one seen complete first), else on a backoff.
  private async recheckBeingWritten(): Promise<void> {
    const dirs = this.dirs!;
    const now = Date.now();
    for (const e of [...this.beingWritten]) {
      if (e.state !== 'incomplete' || this.stopping) continue;
      let due = e.dueAt <= now;
      if (!due) {
        let st: SpoolDirEntry | null = null;
        try {
          st = lstatEntry(dirs.incoming, e.name);
        } catch {
          st = null;
        }
        due = !st || `${st.stats.size}:${st.mtimeNs}` !== e.seen;
      }
      if (due) await this.load(e);
    }
  }

  // Parses the oldest unread entry while fewer than `window` records are parsed
  // ahead of it. Dispatch stops at the first unread entry, so parsed entries
  // always form a prefix of the order; each walk is O(window), not O(backlog).
  private async parseAhead(): Promise<void> {
    while (!this.stopping) {
      let loaded = 0;
      let next: Entry | null = null;
      for (const e of this.order) {
        if (e.state === 'unread') {
          if (loaded < this.opts.window) next = e;
          break;
        }
        if (e.state !== 'incomplete') loaded++;
      }
      if (!next) return;
      await this.load(next);
    }
  }

  /** Reads and parses one entry (record-loading.ts); moves it to ready / incomplete / quarantine / gone. */
  private async load(e: Entry): Promise<void> {
    const now = Date.now();
    const r = loadRecordFile(this.dirs!.incoming, e.name, { maxRecordBytes: this.opts.maxRecordBytes, graceMs: this.opts.graceMs, repoRoots: this.repoRoots, now });
    switch (r.kind) {
      case 'gone':
        this.forget(e);
        return;
      case 'quarantine':
        this.forget(e);
        await this.quarantine(e.name, r.reason, r.permanent);
        return;
      case 'unreadable':
        this.forget(e);
        this.markStuck(e.name, r.why, now + this.opts.stuckRetryMs);
        return;
      case 'ready':
        this.reorder(e, r.mtimeNs);
        e.record = r.record;
        this.stuck.delete(e.name); // progress: a later failure is news again
        this.setState(e, 'ready');
        return;
      case 'incomplete':
        this.reorder(e, r.mtimeNs);
        this.stuck.delete(e.name);
        this.setState(e, 'incomplete');
        this.log.debug('spool record still being written', { record: e.name, bytes: r.bytes, recheckInMs: e.checkDelayMs });
        e.seen = `${r.size}:${r.mtimeNs}`;
        e.dueAt = Math.min(now + e.checkDelayMs, Number(r.mtimeNs / 1_000_000n) + this.opts.graceMs + 1);
        e.checkDelayMs = Math.min(e.checkDelayMs * 2, 1_000);
        return;
    }
  }

  private dispatch(): void {
    if (this.paused || this.stopping) return;
    for (const e of runnableEntries(this.order, Date.now(), this.active, this.opts.concurrency)) this.run(e);
  }

  private run(e: Entry): void {
    this.setState(e, 'running');
    this.active++;
    const record = e.record!;
    const done = (async () => {
      let failure: unknown = null;
      try {
        const later = laterRecordsOf(this.order, e);
        await this.opts.onRecord(record, later.records, later.contiguous);
      } catch (err) {
        failure = err ?? new Error('onRecord rejected');
      }
      if (failure === null) await this.finish(e);
      else if (failure instanceof UnprocessableRecordError) await this.giveUp(e, failure.message);
      else this.scheduleRetry(e, failure);
    })().finally(() => {
      this.inflight.delete(done);
    });
    this.inflight.add(done);
  }

  private async finish(e: Entry): Promise<void> {
    const dirs = this.dirs!;
    try {
      // Synchronous: the next record of this repository waits for it (see spool-files.ts).
      unlinkSync(path.join(dirs.incoming, e.name));
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT') {
        // Keep it out of reach of rescans, or it would be processed again and again.
        this.markStuck(e.name, `processed ${e.name} but cannot remove it (${code}); remove it by hand once the daemon can write ${dirs.incoming}`, Infinity);
      }
    }
    this.noteRemoved(e.name);
    this.forget(e);
    this.active--;
    this.processed++;
    if (e.attempts > 0) this.log.info('spool record processed after retries', { record: e.record!.id, attempts: e.attempts + 1 });
    this.kick();
    try {
      await this.dirSync!.sync();
    } catch (err) {
      this.log.warn('spool intake: fsync of incoming/ failed; a crash now could replay processed records', {
        error: (err as NodeJS.ErrnoException).code ?? String(err),
      });
    }
  }

  private scheduleRetry(e: Entry, err: unknown): void {
    e.attempts++;
    const delay = retryDelayMs(e.attempts, this.opts.retryBaseMs, this.opts.retryMaxMs);
    e.dueAt = Date.now() + delay;
    this.setState(e, 'retry');
    this.active--;
    const fields = { record: e.record!.id, repository: e.record!.repoPath, error: (err as Error)?.message ?? String(err), retryInMs: delay };
    // Logged once per record; further attempts only at debug level.
    if (e.attempts === 1) this.log.warn('spool record not processed; kept in the spool, will retry', fields);
    else this.log.debug('spool record retry failed', { ...fields, attempts: e.attempts });
    this.kick();
  }

  /** A record onRecord declared unprocessable: out of the queue, into quarantine. */
  private async giveUp(e: Entry, reason: string): Promise<void> {
    this.forget(e);
    this.active--;
    this.log.warn('spool record cannot be processed; quarantined', { record: e.name, reason });
    await this.quarantine(e.name, reason);
    this.kick();
  }

  private async quarantine(name: string, reason: string, permanent = false): Promise<void> {
    const out = await quarantineEntry(this.dirs!, name, reason, new Date(), { permanent });
    if (out.ok) {
      this.stuck.delete(name);
      this.noteRemoved(name);
      this.quarantined++;
      this.log.warn('spool record quarantined', { record: name, reason, movedTo: out.path });
    } else {
      this.markStuck(name, `${reason}; and it could not be quarantined: ${out.error}`, Date.now() + this.opts.stuckRetryMs);
    }
  }

  /** Leaves an entry in incoming/, logged once; rescans look again after `retryAt` (Infinity: never). */
  private markStuck(name: string, why: string, retryAt: number): void {
    if (!this.stuck.has(name)) this.log.error('spool entry left in place', { record: name, reason: why });
    this.stuck.set(name, { why, retryAt });
  }

  // --- bookkeeping ----------------------------------------------------------

  private noteRemoved(name: string): void {
    const now = Date.now();
    this.removed.set(path.join(this.dirs!.incoming, name), now + 10_000);
    if (this.removed.size > 4096) this.expireRemoved(now);
  }

  private expireRemoved(now: number): void {
    for (const [p, until] of this.removed) {
      if (until > now) break; // insertion order = expiry order
      this.removed.delete(p);
    }
  }

  private reorder(e: Entry, mtimeNs: bigint): void {
    if (e.mtimeNs === mtimeNs) return;
    const at = this.order.indexOf(e);
    if (at >= 0) this.order.splice(at, 1);
    e.mtimeNs = mtimeNs;
    insertOrdered(this.order, e);
  }

  private setState(e: Entry, state: EntryState): void {
    e.state = state;
    if (state === 'incomplete') this.beingWritten.add(e);
    else this.beingWritten.delete(e);
    if (state === 'retry') this.retrying.add(e);
    else this.retrying.delete(e);
  }

  private forget(e: Entry): void {
    this.beingWritten.delete(e);
    this.retrying.delete(e);
    if (this.entries.get(e.name) === e) this.entries.delete(e.name);
    const at = this.order.indexOf(e);
    if (at >= 0) this.order.splice(at, 1);
  }

  /** One timer for the earliest thing due: a retry, a re-read, a temp file's deadline. */
  private armTimer(): void {
    if (this.stopping) return;
    let at = Infinity;
    for (const e of this.beingWritten) at = Math.min(at, e.dueAt);
    for (const e of this.retrying) at = Math.min(at, e.dueAt);
    for (const deadline of this.temps.values()) at = Math.min(at, deadline);
    if (at === Infinity) return;
    if (this.timer && this.timerAt <= at) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.timerAt = Infinity;
      const now = Date.now();
      for (const [name, deadline] of this.temps) {
        if (deadline <= now) {
          this.temps.delete(name);
          this.pendingNames.add(name);
        }
      }
      this.kick();
    }, Math.max(0, at - Date.now()));
  }
}

/** Creates and starts an intake; rejects with SpoolIntakeError when the spool is unusable. */
export async function startSpoolIntake(options: SpoolIntakeOptions): Promise<SpoolIntake> {
  const intake = new SpoolIntake(options);
  await intake.start();
  return intake;
}
