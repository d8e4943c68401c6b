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

import { watch, type FSWatcher } from 'chokidar';
import { realpathSync, unlinkSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import type { Log } from '../log/logger.ts';
import { DirSync } from './dir-sync.ts';
import { countQuarantined, quarantineEntry } from './quarantine.ts';
import { prepareSpoolDirs, type SpoolDirs } from './spool-dirs.ts';
import { compareSpoolOrder, lstatEntry, readSpoolFile, yieldToLoop, type SpoolDirEntry } from './spool-files.ts';
import { parseSpoolRecord, type SpoolRecord } from './spool-record.ts';

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
   * refs, and uses them to see the refs as they stood at this push.
   */
  onRecord: (record: SpoolRecord, later: readonly SpoolRecord[]) => Promise<void>;
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

type EntryState = 'unread' | 'incomplete' | 'ready' | 'running' | 'retry';

interface Entry {
  name: string;
  mtimeNs: bigint;
  state: EntryState;
  record: SpoolRecord | null;
  attempts: number;
  /** When to look again (retry, or re-read a record still being written). */
  dueAt: number;
  /** Backoff for re-reading a record still being written. */
  checkDelayMs: number;
  /** size/mtime seen at the last read while incomplete: re-read early when they change. */
  seen: string;
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
      for (const e of added) this.insertOrdered(e);
    }
  }

  /** Quarantines what is not a record; returns a new entry for a record file. */
  private async judgeNew(st: SpoolDirEntry, now: number): Promise<Entry | null> {
    if (!st.regular) {
      const what = st.stats.isSymbolicLink() ? 'a symbolic link (never followed)' : st.stats.isDirectory() ? 'a directory' : 'not a regular file';
      await this.quarantine(st.name, `${st.name} in incoming/ is ${what}; only regular files written by the hook are records`);
      return null;
    }
    if (st.kind === 'temp') {
      // A writer's temporary file (leading dot): left alone within the grace period.
      const deadline = Number(st.mtimeNs / 1_000_000n) + this.opts.graceMs;
      if (now > deadline) {
        this.temps.delete(st.name);
        await this.quarantine(st.name, `temporary file ${st.name} was not completed within ${this.opts.graceMs} ms (an interrupted writer)`);
      } else {
        this.temps.set(st.name, deadline + 1);
      }
      return null;
    }
    if (st.kind === 'foreign') {
      await this.quarantine(st.name, `${st.name} is not a spool record name (records are <id>.push, written by hooks/post-receive)`);
      return null;
    }
    const e: Entry = { name: st.name, mtimeNs: st.mtimeNs, state: 'unread', record: null, attempts: 0, dueAt: 0, checkDelayMs: 20, seen: '' };
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

  /** Reads and parses one entry; moves it to ready / incomplete / quarantine / gone. */
  private async load(e: Entry): Promise<void> {
    const dirs = this.dirs!;
    const r = readSpoolFile(path.join(dirs.incoming, e.name), this.opts.maxRecordBytes);
    switch (r.kind) {
      case 'gone':
        this.forget(e);
        return;
      case 'not-regular':
        this.forget(e);
        await this.quarantine(e.name, `${e.name} is ${r.what}; only regular files written by the hook are records`);
        return;
      case 'too-large':
        this.forget(e);
        await this.quarantine(e.name, `${e.name} is ${r.size} bytes, over the ${this.opts.maxRecordBytes}-byte limit for a spool record`);
        return;
      case 'error':
        this.forget(e);
        this.markStuck(e.name, `cannot read ${path.join(dirs.incoming, e.name)} (${r.code}); make it readable by the daemon user`, Date.now() + this.opts.stuckRetryMs);
        return;
    }
    const parsed = parseSpoolRecord(r.bytes, { name: e.name, mtimeNs: r.mtimeNs });
    this.reorder(e, r.mtimeNs);
    if (parsed.ok) {
      const outside = this.outsideRepoRoots(parsed.record.repoPath);
      if (outside) {
        this.forget(e);
        await this.quarantine(e.name, outside);
        return;
      }
      e.record = parsed.record;
      this.stuck.delete(e.name); // progress: a later failure is news again
      this.setState(e, 'ready');
      return;
    }
    if (parsed.incomplete) {
      const ageMs = Date.now() - Number(r.mtimeNs / 1_000_000n);
      if (ageMs > this.opts.graceMs) {
        this.forget(e);
        await this.quarantine(e.name, `${parsed.reason}; still without end marker ${Math.round(ageMs / 1000)} s after its last write (grace period ${this.opts.graceMs} ms)`);
        return;
      }
      this.stuck.delete(e.name);
      this.setState(e, 'incomplete');
      this.log.debug('spool record still being written', { record: e.name, bytes: r.bytes.length, recheckInMs: e.checkDelayMs });
      e.seen = `${r.size}:${r.mtimeNs}`;
      e.dueAt = Math.min(Date.now() + e.checkDelayMs, Number(r.mtimeNs / 1_000_000n) + this.opts.graceMs + 1);
      e.checkDelayMs = Math.min(e.checkDelayMs * 2, 1_000);
      return;
    }
    this.forget(e);
    await this.quarantine(e.name, `cannot parse ${e.name}: ${parsed.reason}`, parsed.permanent);
  }

  /** Why `repoPath` is refused (outside every configured root), or null. */
  private outsideRepoRoots(repoPath: string): string | null {
    if (!this.repoRoots) return null;
    // Judged by where it really points: a crafted "/home/../etc", or a symlink inside a root that leads out.
    let p = path.resolve(repoPath);
    try {
      p = realpathSync(p);
    } catch {
      /* missing: judged by its name (analysis reports it) */
    }
    if (this.repoRoots.some((root) => p === root || p.startsWith(root.endsWith('/') ? root : root + '/'))) return null;
    return `repository path ${p} is outside the configured repository roots (${this.repoRoots.join(', ')}); not processed`;
  }

  private dispatch(): void {
    if (this.paused || this.stopping) return;
    const now = Date.now();
    const busy = new Set<string>(); // repositories with an earlier record not finished
    for (const e of this.order) {
      if (e.state === 'unread') break; // beyond the parsed window: order unknown
      if (e.state === 'incomplete' || !e.record) continue;
      const repo = e.record.repoPath;
      if (e.state === 'running' || (e.state === 'retry' && e.dueAt > now)) {
        busy.add(repo);
        continue;
      }
      if (busy.has(repo)) continue;
      busy.add(repo);
      if (this.active >= this.opts.concurrency) break;
      this.run(e);
    }
  }

  /** Parsed records of e's repository that come after it in spool order. */
  private laterRecordsOf(e: Entry): SpoolRecord[] {
    const repo = e.record!.repoPath;
    const later: SpoolRecord[] = [];
    for (let i = this.order.indexOf(e) + 1; i < this.order.length; i++) {
      if (this.order[i].state === 'unread') break; // beyond the parsed window (bounded cost)
      const r = this.order[i].record;
      if (r && r.repoPath === repo) later.push(r);
    }
    return later;
  }

  private run(e: Entry): void {
    this.setState(e, 'running');
    this.active++;
    const record = e.record!;
    const done = (async () => {
      let failure: unknown = null;
      try {
        await this.opts.onRecord(record, this.laterRecordsOf(e));
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
    const base = Math.min(this.opts.retryMaxMs, this.opts.retryBaseMs * 2 ** Math.min(e.attempts - 1, 30));
    const delay = Math.round(base * (0.8 + 0.2 * Math.random()));
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

  private insertOrdered(e: Entry): void {
    let lo = 0;
    let hi = this.order.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compareSpoolOrder(this.order[mid], e) <= 0) lo = mid + 1;
      else hi = mid;
    }
    this.order.splice(lo, 0, e);
  }

  private reorder(e: Entry, mtimeNs: bigint): void {
    if (e.mtimeNs === mtimeNs) return;
    const at = this.order.indexOf(e);
    if (at >= 0) this.order.splice(at, 1);
    e.mtimeNs = mtimeNs;
    this.insertOrdered(e);
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
