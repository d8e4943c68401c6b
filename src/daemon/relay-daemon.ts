// The daemon: wires intake → analysis → route/format → store → dispatch.
// A spool record is removed only after its event is durable everywhere it
// goes: inline destinations written (files fsync'd), and the event plus every
// queued delivery row committed (group commit: concurrent records share one
// transaction).

import { ScriptAutoEnable } from '../bitbucket/script-autoenable.ts';
import { createRestClient } from '../bitbucket/rest-client.ts';
import { scriptStateFile } from '../bitbucket/hook-scripts.ts';
import type { LiveWiring, RefChangeCounts } from '../admin/wiring-status.ts';
import { watch, type FSWatcher } from 'chokidar';
import { existsSync, readFileSync, realpathSync, statSync } from 'node:fs';
import path from 'node:path';
import { loadConfig, ConfigError } from '../config/load-config.ts';
import type { RelayConfig } from '../config/config-types.ts';
import { analyzePushWithStats } from '../git/analyze-push.ts';
import { WalkedPushes } from '../git/walked-pushes.ts';
import { PullRequestEnricher, pullRequestSourceFor } from '../bitbucket/pull-request.ts';
import { RepositoryUnreadableError } from '../git/repository-identity.ts';
import { analysisOptionsFromConfig } from '../git/analysis-options.ts';
import type { AnalysisOptions } from '../git/analysis-options.ts';
import { SpoolIntake, UnprocessableRecordError } from '../intake/spool-intake.ts';
import type { SpoolRecord } from '../intake/spool-record.ts';
import { createLogger, type Log } from '../log/logger.ts';
import { configRedactor, configSecrets, destinationWarnings } from '../destinations/registry.ts';
import { openStore, enqueue, isFull, setStoreLimits, startMaintenance, DeliveryRowsCheck, describeMissingDeliveries, fileIdentity, freshStoreRefusal, storeFileChanged, writeStoreMarker, StoreError, type FileIdentity, type Store, type EnqueueItem, type Maintenance, recordInlineAttempts, type InlineAttempt } from '../store/index.ts';
import { startDispatcher, type Dispatcher } from '../deliver/dispatcher.ts';
import { InlineDestinations, InlineWriteError } from '../deliver/inline-destinations.ts';
import { assertLocalFilesystem } from '../install/filesystem-check.ts';
import { startHookAutoInstaller, type HookAutoInstaller } from '../install/auto-install.ts';
import { GroupCommit } from '../store/group-commit.ts';
import { planDeliveries } from '../route/plan-deliveries.ts';
import { summarizeEvent } from './event-summary.ts';
import { zeroCounters, type DaemonCounters } from './counters.ts';
import { startAdminServices, type AdminServices } from '../admin/admin-services.ts';
import { claimStoreLock, type StoreLock } from '../store/store-lock.ts';
import type { RefLine } from '../git/ref-lines.ts';
import { uniqueRefLines } from '../git/ref-lines.ts';
import { Reconciler, zeroFor } from '../reconcile/reconciler.ts';
import { listRepositories } from '../reconcile/repositories.ts';
import { readRefFiles } from '../reconcile/ref-files.ts';
import { alreadyRelayed, gapsBefore, knownRefs, pruneRefUpdates, recordRefUpdates, type RefUpdateRecord } from '../reconcile/known-refs.ts';
import { fromHookScript } from '../event/hook-context.ts';

/** A batch item of the group commit: the event, its deliveries, and the ref updates recorded in the same transaction. */
type CommitItem = EnqueueItem & { refs: RefUpdateRecord; inline: InlineAttempt[] };

/** How long a relayed (repository, ref, before, after) is remembered to refuse a second event for it. */
const REF_UPDATE_MEMORY_MS = 30 * 86_400_000;

/** How to start the daemon. */
export interface DaemonOptions {
  configFile: string;
  env?: NodeJS.ProcessEnv;
  /** Override the logger (tests); default from config `log`. */
  log?: Log;
  /** `--allow-network-fs`. */
  allowNetworkFs?: boolean;
  /** Watch the config file for changes (default true). */
  watchConfig?: boolean;
  /** `--new-store`: begin an empty store although the spool's marker says one existed at store.path. */
  newStore?: boolean;
}

/** A running daemon. */
export class RelayDaemon {
  readonly startedAt = Date.now();
  readonly counters: DaemonCounters = zeroCounters();
  config: RelayConfig;
  readonly log: Log;
  readonly store: Store;
  readonly dispatcher: Dispatcher;
  intake!: SpoolIntake;
  storeFull = false;

  private readonly options: DaemonOptions;
  private analysis: AnalysisOptions;
  /** Pull-request details from the local REST API (bitbucket.api), bounded by its timeout. */
  private pullRequests: PullRequestEnricher;
  private readonly inline: InlineDestinations;
  private readonly commits: GroupCommit<CommitItem>;
  /** Reconciliation (reconcile.enabled), or null. */
  reconciler: Reconciler | null = null;
  /** Hook script enabled on new projects (bitbucket.api + hooks.autoInstall), or null. */
  scriptCheck: ScriptAutoEnable | null = null;
  /** Ref updates reported again and left out since start (one update, one event). */
  duplicateUpdates = 0;
  /** Ref updates relayed since start, by who reported them (status wiring, relay_ref_changes_total). */
  private readonly refChanges: RefChangeCounts = { hook: 0, hookScript: 0, reconciled: 0 };
  /** Per repository: the work in hand (hook records and reconciled events of one repository never interleave). */
  private readonly repoChains = new Map<string, Promise<void>>();
  /** Walks of queued pushes, read ahead with an earlier push's (git/walk-ahead.ts). */
  private readonly walkedPushes = new WalkedPushes();
  private maintenance!: Maintenance;
  private fullTimer: NodeJS.Timeout | null = null;
  private configWatcher: FSWatcher | null = null;
  private autoInstaller: HookAutoInstaller | null = null;
  private stopping: Promise<void> | null = null;
  private admin: AdminServices | null = null;
  private storeLock: StoreLock | null = null;
  private rowsCheck!: DeliveryRowsCheck;
  /** The store problem last logged (logged again only when it changes). */
  private rowsProblem: string | null = null;
  /** The store file as opened; checked so a deleted or replaced store is noticed. */
  private storeFile: FileIdentity | null = null;
  private storeFileProblem: string | null = null;
  private storeFileTimer: NodeJS.Timeout | null = null;

  private constructor(options: DaemonOptions, config: RelayConfig, log: Log) {
    this.options = options;
    this.config = config;
    this.log = log;
    this.inline = new InlineDestinations(log);
    this.analysis = analysisOptionsFromConfig(config);
    this.pullRequests = new PullRequestEnricher(pullRequestSourceFor(config));
    assertLocalFilesystem({
      paths: [
        { key: 'spool.dir', path: config.spool.dir },
        { key: 'store.path', path: config.store.path },
      ],
      allowNetworkFs: options.allowNetworkFs || config.spool.allowNetworkFs,
      log,
    });
    this.store = openStore(config.store.path, { limits: storeLimits(config) });
    this.storeFile = fileIdentity(config.store.path);
    this.store.redact = configRedactor(config);
    // Records analyzed at about the same time share one durable commit; each caller waits for its own item.
    this.commits = new GroupCommit<CommitItem>({
      write: (items) => {
        // The event rows and the known refs move together: one transaction (nested calls join it).
        this.store.transaction(() => {
          enqueue(this.store, items);
          for (const item of items) {
            recordRefUpdates(this.store, item.refs);
            recordInlineAttempts(this.store, item.inline);
          }
        });
        if (isFull(this.store)) this.maintenance.runNow();
      },
    });
    this.dispatcher = startDispatcher({ store: this.store, destinations: config.destinations, log, env: options.env });
  }

  /** Load the config, open the store, start dispatch and intake. Throws ConfigError / StoreError / SpoolIntakeError with operator-facing messages. */
  static async start(options: DaemonOptions): Promise<RelayDaemon> {
    const config = loadConfig(options.configFile, options.env);
    const log = options.log ?? createLogger({ level: config.log.level, format: config.log.format });
    log.setSecrets(configSecrets(config));
    // One writer per store: refuse while another daemon or a `relay` command writes it.
    const lock = claimStoreLock(config.store.path, 'daemon');
    let daemon: RelayDaemon;
    try {
      // A store that existed is missing: never begin an empty one silently.
      const refusal = freshStoreRefusal(config.store.path, config.spool.dir);
      if (refusal && !options.newStore) throw new StoreError(refusal);
      if (refusal) log.warn('beginning a new, empty store (--new-store) where one existed; deliveries queued in the old one are not in it', { store: config.store.path });
      daemon = new RelayDaemon(options, config, log);
    } catch (err) {
      lock.release();
      throw err;
    }
    daemon.storeLock = lock;
    try {
      await daemon.startRest();
    } catch (err) {
      await daemon.stop();
      throw err;
    }
    return daemon;
  }

  private async startRest(): Promise<void> {
    const { config, log } = this;
    this.warnAboutConfig(config);
    await this.inline.sync(config.destinations);
    this.maintenance = startMaintenance(this.store, {
      log,
      onFullChange: (full) => this.setStoreFull(full),
    });
    this.maintenance.runNow();
    this.rowsCheck = new DeliveryRowsCheck(this.store, ROWS_CHECKED_PER_TURN);
    void this.checkRowsUntilCaughtUp();
    this.intake = new SpoolIntake({
      dir: config.spool.dir,
      onRecord: (record, later, contiguous) => this.handleRecord(record, later, contiguous),
      concurrency: config.intake.concurrency,
      graceMs: config.spool.incompleteGraceMs,
      log: log.child({ component: 'intake' }),
      repoRoots: repoRootsOf(config),
    });
    await this.intake.start();
    this.markStore();
    this.storeFileTimer = setInterval(() => this.checkStoreFile(), STORE_FILE_CHECK_MS);
    this.storeFileTimer.unref();
    // Full already at start: pause and keep re-checking, as when it fills while running.
    if (this.storeFull) this.setStoreFull(true);
    if (config.reconcile.enabled) this.startReconciler();
    if (config.hooks.autoInstall && config.bitbucket.api) {
      this.scriptCheck = new ScriptAutoEnable({ client: createRestClient(config.bitbucket.api), stateFile: scriptStateFile(config.store.path), intervalMs: config.hooks.scriptsIntervalMs, log: log.child({ component: 'hook-scripts' }) });
      this.scriptCheck.start();
    }
    if (config.hooks.autoInstall && config.bitbucket.home) {
      this.autoInstaller = await startHookAutoInstaller({ bitbucketHome: config.bitbucket.home, log: log.child({ component: 'hooks' }) });
    } else if (config.hooks.autoInstall) {
      log.warn('hooks.autoInstall is on but bitbucket.home is not set; new repositories will not get the hook');
    }
    if (this.options.watchConfig !== false && config.file) {
      this.configWatcher = watch(config.file, { ignoreInitial: true, awaitWriteFinish: { stabilityThreshold: 200, pollInterval: 50 } });
      this.configWatcher.on('all', (kind) => {
        if (kind === 'change' || kind === 'add') void this.reload('config file changed');
      });
    }
    this.admin = await startAdminServices(this);
    log.info('relay daemon started', {
      pid: process.pid,
      config: config.file,
      node: config.node,
      spool: config.spool.dir,
      store: config.store.path,
      destinations: config.destinations.map((d) => d.name),
    });
  }

  /** Runs fn after the repository's work in hand (one repository's events are made one at a time, in order). */
  private inRepo<T>(repoPath: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.repoChains.get(repoPath) ?? Promise.resolve();
    const run = prev.then(fn, fn);
    const tail = run.then(() => undefined, () => undefined);
    this.repoChains.set(repoPath, tail);
    void tail.then(() => {
      if (this.repoChains.get(repoPath) === tail) this.repoChains.delete(repoPath);
    });
    return run;
  }

  private startReconciler(): void {
    const { config } = this;
    this.reconciler = new Reconciler({
      store: this.store,
      repositories: () => listRepositories(this.config),
      intervalMs: config.reconcile.intervalMs,
      graceMs: config.reconcile.graceMs,
      ignoreRefs: () => this.config.analysis.ignoreRefs,
      backlog: () => this.intake.backlog(),
      emit: (repoPath, lines) => this.inRepo(repoPath, () => this.relayReconciled(repoPath, lines, null)),
      log: this.log.child({ component: 'reconcile' }),
      watch: config.reconcile.watch,
    });
    this.reconciler.start();
    try {
      pruneRefUpdates(this.store, REF_UPDATE_MEMORY_MS);
    } catch (err) {
      this.log.warn('cannot prune remembered ref updates', { error: (err as Error).message });
    }
  }

  /**
   * Ref updates no hook reported → one event with trigger "reconciled" (actor
   * unknown), recorded with its updates. Lines the known refs no longer
   * support (a hook record relayed them meanwhile) are dropped.
   */
  private async relayReconciled(repoPath: string, lines: RefLine[], before: { timeNs: bigint; later: RefLine[] } | null): Promise<void> {
    const known = knownRefs(this.store, repoPath);
    const relayed = alreadyRelayed(this.store, repoPath, lines);
    const fresh = lines.filter((l) => !relayed.includes(l) && (known === null || (known.get(l.ref) ?? zeroFor(l.before)) === l.before));
    if (fresh.length === 0) return;
    const timeNs = before ? before.timeNs - 1n : BigInt(Date.now()) * 1_000_000n;
    const { event } = await analyzePushWithStats(
      { repoPath, refLines: fresh, env: {}, timeNs, host: this.config.node, trigger: 'reconciled', laterRefLines: before?.later ?? changesSince(repoPath, known, fresh) },
      this.analysis,
    );
    const plan = planDeliveries(event, this.config.destinations);
    const inline = await this.writeInline(plan.local);
    await this.commits.add({ event, deliveries: plan.queued, refs: { repoPath, lines: fresh, eventId: event.id, source: 'reconciled' }, inline });
    this.counters.events++;
    this.refChanges.reconciled += fresh.length;
    if (before) this.reconciler!.reconciledTotal += fresh.length; // sweeps count their own
    this.log.warn('ref changes no hook reported, relayed as a reconciled event', {
      ...summarizeEvent(event),
      queued: plan.queued.map((q) => `${q.destination}×${q.requests.length}`),
      hint: 'run `relay hooks verify` to see which wiring covers this repository',
    });
  }

  /** Write to the inline destinations; a failed write is recorded as a failed attempt now (successes commit with the event). */
  private async writeInline(local: Parameters<InlineDestinations['write']>[0]): Promise<InlineAttempt[]> {
    try {
      return await this.inline.write(local);
    } catch (err) {
      if (err instanceof InlineWriteError) {
        try {
          recordInlineAttempts(this.store, err.attempts);
        } catch (recordErr) {
          this.log.warn('cannot record a failed inline write in the store', { error: (recordErr as Error).message });
        }
      }
      throw err;
    }
  }

  /** One spool record → one event, durable at every destination. Rejects to make intake retry later. */
  handleRecord(record: SpoolRecord, later: readonly SpoolRecord[] = [], contiguous = 0): Promise<void> {
    return this.inRepo(record.repoPath, () => this.relayRecord(record, later, contiguous));
  }

  private async relayRecord(record: SpoolRecord, later: readonly SpoolRecord[], contiguous: number): Promise<void> {
    // One (repository, ref, before, after), one event: updates already relayed (by a hook script and the
    // file hook during a switch-over, by reconciliation, by a retried hook) are left out.
    const lines = uniqueRefLines(record.refLines); // a record listing one update twice (hand-made, fuzzed) relays it once
    const relayed = alreadyRelayed(this.store, record.repoPath, lines);
    const refLines = relayed.length ? lines.filter((l) => !relayed.includes(l)) : lines;
    if (refLines.length === 0) {
      this.duplicateUpdates += relayed.length;
      this.log.info('push already relayed (same ref updates reported again); no second event', { repo: record.repoPath, refs: relayed.map((l) => l.ref) });
      return;
    }
    const laterLines = later.flatMap((r) => r.refLines);
    // Changes before this push that no hook reported (the known refs are not this push's "before"): relayed first, in order.
    if (this.reconciler) {
      const gaps = gapsBefore(knownRefs(this.store, record.repoPath), refLines, zeroFor(refLines[0].before));
      if (gaps.length) await this.relayReconciled(record.repoPath, gaps, { timeNs: record.timeNs, later: [...refLines, ...laterLines] });
    }
    // Queued pushes that follow this one: their walks are read with this one's, unless an earlier push already did.
    const ahead = this.walkedPushes.forPush(record.repoPath, refLines, later.slice(0, contiguous).map((r) => uniqueRefLines(r.refLines)), Date.now());
    const { event, stats, walkedAhead } = await analyzePushWithStats(
      { repoPath: record.repoPath, refLines, env: record.env, timeNs: record.timeNs, host: record.host || this.config.node, laterRefLines: laterLines, recordErrors: record.refErrors, ...ahead },
      this.analysis,
    ).catch((err: unknown) => {
      // A repository that is gone (deleted since the push, or a path that was
      // never one) can never be analyzed: quarantine instead of retrying
      // forever. Anything else (permissions, git trouble) is retried.
      if (err instanceof RepositoryUnreadableError && (!existsSync(record.repoPath) || /not a git repository|not a directory/.test(err.message))) {
        throw new UnprocessableRecordError(err.message);
      }
      throw err;
    });
    this.walkedPushes.keep(record.repoPath, walkedAhead, Date.now());
    // A pull-request merge: details the hook lacks, from Bitbucket next door (never longer than bitbucket.api.timeout).
    await this.pullRequests.enrich(event);
    const plan = planDeliveries(event, this.config.destinations);
    const inline = await this.writeInline(plan.local);
    await this.commits.add({ event, deliveries: plan.queued, refs: { repoPath: record.repoPath, lines: refLines, eventId: event.id, source: 'hook' }, inline });
    // The spool record goes only if the store it went into is still the store.
    const lost = this.checkStoreFile();
    if (lost) throw new Error(`${lost}; the spool record is kept`);
    this.counters.events++;
    this.refChanges[fromHookScript(record.env) ? 'hookScript' : 'hook'] += refLines.length;
    if (event.errors.length) this.counters.analysisErrors++;
    if (plan.queued.length === 0 && plan.local.length === 0) this.counters.unmatched++;
    this.log.info('push event', {
      ...summarizeEvent(event),
      queued: plan.queued.map((q) => `${q.destination}×${q.requests.length}`),
      unmatched: plan.unmatched,
      gitSpawns: stats.spawns,
      walkedAhead: stats.walkedAhead,
      analysisMs: Math.round(stats.totalMs),
    });
    if (event.errors.length) this.log.warn('push analyzed with errors', { eventId: event.id, errors: event.errors.map((e) => e.message) });
  }

  /** Store invariant (every event has its delivery rows): at start and for each status; logged when it first fails. */
  checkDeliveryRows(): string | null {
    return this.runRowsCheck().problem;
  }

  /** One run of the delivery-rows check: the problem found so far (or null), and whether the store could not be read. */
  private runRowsCheck(): { problem: string | null; failed: boolean } {
    let problem: string | null;
    let failed = false;
    try {
      problem = describeMissingDeliveries(this.store.path, this.rowsCheck.run());
    } catch (err) {
      problem = `cannot check store ${this.store.path}: ${(err as Error).message}`;
      failed = true;
    }
    // While the start-up check is still under way, the problem grows chunk by chunk: logged once it is whole.
    if (!failed && !this.rowsCheck.caughtUp) return { problem, failed };
    if (problem && problem !== this.rowsProblem) this.log.error(problem);
    this.rowsProblem = problem;
    return { problem, failed };
  }

  /** The start-up check of every event in the window, a chunk per turn of the event loop (records are handled meanwhile). */
  private async checkRowsUntilCaughtUp(): Promise<void> {
    while (!this.stopping) {
      // Done, or the store cannot be read (logged): each status tries again from where it stopped.
      if (this.runRowsCheck().failed || this.rowsCheck.caughtUp) return;
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  /** Reconciliation and hook-script facts for `relay status` and metrics. */
  wiring(): LiveWiring {
    const last = this.reconciler?.last ?? null;
    return {
      lastSweep: last ? { at: last.at, durationMs: last.durationMs, repositories: last.repositories, watched: last.watched } : null,
      reconciledSinceStart: this.reconciler?.reconciledTotal ?? 0,
      refChanges: { ...this.refChanges },
      hookScripts: this.scriptCheck?.state ?? null,
    };
  }

  /** Store problems for `relay status`. */
  storeProblems(): string[] {
    const rows = this.rowsCheck ? this.checkDeliveryRows() : null;
    this.checkStoreFile();
    return [this.storeFileProblem, rows].filter((p): p is string => p !== null);
  }

  /** Remember in the spool that this store exists (see store-file.ts). */
  private markStore(): void {
    const meta = this.store.statement(`SELECT value FROM meta WHERE key = 'created_at'`).get() as { value: string } | undefined;
    try {
      writeStoreMarker(this.config.spool.dir, { path: path.resolve(this.store.path), createdAt: meta?.value ?? '', openedAt: new Date().toISOString() });
    } catch (err) {
      this.log.warn('cannot write the store marker in the spool directory; a deleted store would not be noticed at the next start', { spool: this.config.spool.dir, error: (err as Error).message });
    }
  }

  /**
   * Is the store file still the one opened? When it was deleted or replaced,
   * stop taking spool records (they stay in the spool), log and report it;
   * returns the problem, or null.
   */
  checkStoreFile(): string | null {
    if (this.storeFileProblem || !this.storeFile) return this.storeFileProblem;
    // The lock file deleted by hand is locked again at once (verify), so no second daemon can start beside this one.
    const lockLost = this.storeLock?.verify() ?? null;
    const changed = lockLost ? null : storeFileChanged(this.store.path, this.storeFile);
    if (!changed && !lockLost) return null;
    this.storeFileProblem = lockLost
      ? `${lockLost}: the daemon stopped taking spool records (they wait in ${this.config.spool.dir}/incoming, nothing is lost); stop the other process, then restart this daemon`
      : `${changed}: the daemon stopped taking spool records (they wait in ${this.config.spool.dir}/incoming, nothing is lost); ` +
        `restore the store file and restart the daemon, or restart it with \`relay daemon --new-store\` to begin an empty store`;
    this.log.error(this.storeFileProblem);
    this.intake?.pause();
    if (this.storeFileTimer) clearInterval(this.storeFileTimer);
    return this.storeFileProblem;
  }

  private setStoreFull(full: boolean): void {
    this.storeFull = full;
    if (!this.intake) return;
    if (full) {
      this.intake.pause();
      // While full, keep pruning and checking; resume as soon as space frees.
      this.fullTimer ??= setInterval(() => {
        try {
          this.maintenance.runNow();
        } catch (err) {
          this.log.error('store check failed while full; trying again in 2 s', { path: this.store.path, error: (err as Error).message });
        }
      }, 2000);
    } else {
      if (this.fullTimer) clearInterval(this.fullTimer);
      this.fullTimer = null;
      if (!this.storeFileProblem) this.intake.resume();
    }
  }

  private warnAboutConfig(config: RelayConfig): void {
    for (const w of destinationWarnings(config)) this.log.warn(w.message, { destination: w.destination, target: w.target });
    const exposed = configFileExposure(config);
    if (exposed) this.log.warn(exposed, { config: config.file });
  }

  /** Re-read the config; a config that fails validation is rejected and the running one kept. */
  async reload(reason: string): Promise<boolean> {
    let next: RelayConfig;
    try {
      next = loadConfig(this.options.configFile, this.options.env);
    } catch (err) {
      this.counters.reloadFailures++;
      const problems = err instanceof ConfigError ? err.problems.length : 1;
      this.log.error(`config reload rejected, the running config stays: ${(err as Error).message}`, { reason, problems });
      return false;
    }
    const prev = this.config;
    for (const [key, a, b] of [
      ['spool.dir', prev.spool.dir, next.spool.dir],
      ['store.path', prev.store.path, next.store.path],
      ['admin.socket', prev.admin.socket, next.admin.socket],
      ['metrics.listen', prev.metrics.listen, next.metrics.listen],
      ['web', JSON.stringify(prev.web), JSON.stringify(next.web)],
      ['reconcile', JSON.stringify(prev.reconcile), JSON.stringify(next.reconcile)],
    ] as const) {
      if (a !== b) this.log.warn(`${key} changed in the config; it takes effect at the next restart`, { running: a, configured: b });
    }
    this.log.setSecrets(configSecrets(next));
    this.store.redact = configRedactor(next);
    await this.inline.sync(next.destinations);
    this.config = next;
    this.analysis = analysisOptionsFromConfig(next);
    this.pullRequests = new PullRequestEnricher(pullRequestSourceFor(next));
    setStoreLimits(this.store, storeLimits(next));
    this.dispatcher.updateDestinations(next.destinations);
    this.warnAboutConfig(next);
    this.counters.reloads++;
    const removed = prev.destinations.filter((d) => !next.destinations.some((n) => n.name === d.name)).map((d) => d.name);
    this.log.info('config reloaded', { reason, destinations: next.destinations.map((d) => d.name), removed });
    if (removed.length) this.log.warn('removed destinations keep their queued deliveries until dropped with `relay dlq drop --dest NAME`', { removed });
    return true;
  }

  /** SIGTERM: finish the records in hand, stop dispatch (bounded), close everything. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      await this.admin?.stop();
      await this.configWatcher?.close();
      await this.autoInstaller?.stop();
      await this.reconciler?.stop();
      await this.scriptCheck?.stop();
      await this.intake?.stop();
      if (this.fullTimer) clearInterval(this.fullTimer);
      if (this.storeFileTimer) clearInterval(this.storeFileTimer);
      this.maintenance?.stop();
      await this.dispatcher.stop();
      await this.inline.close();
      this.store.close();
      this.storeLock?.release();
      this.log.info('relay daemon stopped', { pid: process.pid });
    })();
    return this.stopping;
  }
}

/**
 * A warning when the config file is readable by other users and holds a
 * secret literally (values from ${ENV} or *File keys are not in the file), else null.
 */
function configFileExposure(config: RelayConfig): string | null {
  if (!config.file) return null;
  let mode: number;
  let text: string;
  try {
    mode = statSync(config.file).mode;
    text = readFileSync(config.file, 'utf8');
  } catch {
    return null; // it was just loaded; a race with an editor is not worth a warning
  }
  if ((mode & 0o004) === 0 || !configSecrets(config).some((s) => text.includes(s))) return null;
  return `config file ${config.file} holds secrets and is readable by every user on this host (mode ${(mode & 0o777).toString(8).padStart(4, '0')}); ` +
    `run \`chmod o-rwx ${config.file}\` (e.g. mode 0640, group of the service user), or move the secrets to secretFile/bearerFile/passwordFile or \${ENV} values`;
}

/**
 * With bitbucket.home set, records must name a repository inside it: the home
 * as configured and as resolved (the hook records `cd -P` paths, so a
 * symlinked home or shared/ counts at its real location). Fixed at start.
 */
function repoRootsOf(config: RelayConfig): string[] | undefined {
  const home = config.bitbucket.home;
  if (!home) return undefined;
  const roots = new Set([home]);
  for (const p of [home, path.join(home, 'shared')]) {
    try {
      roots.add(realpathSync(p));
    } catch {
      /* not there (yet): the configured path stands */
    }
  }
  return [...roots];
}

/**
 * Ref changes made after the ones a reconciled event relays (refs as they are
 * now vs. the known refs moved by `lines`), so the analysis judges `distinct`
 * as of the relayed change, not as later changes left the repository. Read
 * from the ref files, no git; [] when they cannot be read.
 */
function changesSince(repoPath: string, known: ReadonlyMap<string, string> | null, lines: readonly RefLine[]): RefLine[] {
  let current: Map<string, string>;
  try {
    current = readRefFiles(repoPath).refs;
  } catch {
    return [];
  }
  const after = new Map(known ?? []);
  for (const l of lines) {
    if (/^0+$/.test(l.after)) after.delete(l.ref);
    else after.set(l.ref, l.after);
  }
  const later: RefLine[] = [];
  for (const [ref, sha] of current) if (after.get(ref) !== sha) later.push({ ref, before: after.get(ref) ?? zeroFor(sha), after: sha });
  for (const [ref, sha] of after) if (!current.has(ref)) later.push({ ref, before: sha, after: zeroFor(sha) });
  return later;
}

/** How often the daemon checks that its store file is still there (also before each spool record is removed). */
const STORE_FILE_CHECK_MS = 2_000;
/** Events the delivery-rows check reads per turn of the event loop (≤ 30 ms each; a million take ~0.6 s in all, measured). */
const ROWS_CHECKED_PER_TURN = 20_000;

function storeLimits(config: RelayConfig): { maxBytes: number; logMaxAgeMs: number; logMaxRows: number; bodyMaxAgeMs: number } {
  const { maxBytes, logMaxAgeMs, logMaxRows, bodyMaxAgeMs } = config.store;
  return { maxBytes, logMaxAgeMs, logMaxRows, bodyMaxAgeMs };
}
