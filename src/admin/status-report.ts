// `relay status` as data: one report built the same way in the daemon (live
// intake and dispatcher state) and in the CLI with the daemon down (store read
// only, spool read from disk), then judged by assessStatus. The JSON shape is
// documented in docs/operations.md; keys are stable within reportVersion 1.

import { collectWiring, wiringAttention, type LiveWiring, type WiringReport } from './wiring-status.ts';
import type { RelayConfig } from '../config/config-types.ts';
import type { DaemonCounters } from '../daemon/counters.ts';
import type { WorkerSnapshot } from '../deliver/dispatcher.ts';
import type { IntakeStats } from '../intake/spool-intake.ts';
import type { SpoolStatsResult } from '../intake/spool-stats.ts';
import { configRedactor, describeTarget } from '../destinations/registry.ts';
import { describeMissingDeliveries, destinationStatus, findMissingDeliveries, storeBytes, type Store } from '../store/index.ts';
import { formatDuration, formatSize } from '../config/units.ts';
import { nextSendAt } from '../store/next-attempt.ts';

/** Version of the report's JSON shape. */
export const STATUS_REPORT_VERSION = 1;

/** What a destination is doing, worst first: error, circuit-open, paused, retrying, ok; or not configured. */
export type DestinationState = 'ok' | 'retrying' | 'circuit-open' | 'paused' | 'error' | 'disabled' | 'removed';

/** One destination's line in the report. */
export interface DestinationReport {
  name: string;
  /** Its kind (http, file, log, …); null when no longer configured (removed) but it has rows. */
  type: string | null;
  configured: boolean;
  enabled: boolean;
  state: DestinationState;
  /** Where it goes, secrets redacted (URL, file path, …; DestinationKind.describeTarget); null when removed. */
  target: string | null;
  queued: number;
  inFlight: number;
  retrying: number;
  dead: number;
  oldestPendingAgeMs: number | null;
  lastSuccessAt: string | null;
  lastError: string | null;
  lastErrorAt: string | null;
  deliveredLastHour: number;
  failedLastHour: number;
  consecutiveFailures: number;
  /** While the circuit is open: when the next probe may go. */
  nextProbeAt: string | null;
  /** Why it cannot send at all (e.g. unreadable tls.ca), null when it can. */
  setupError: string | null;
  /** While paused: since when (ISO) and by whom (the operator's login), when recorded. */
  pausedAt?: string | null;
  pausedBy?: string | null;
  /** Attempts in flight longer than timeout.total (live daemon only), oldest first. */
  stalled: { delivery: string; repo: string; ageMs: number }[];
}

/** The whole `relay status` report. */
export interface StatusReport {
  reportVersion: number;
  time: string;
  /** Filled by assessStatus: false when `attention` is not empty. */
  healthy: boolean;
  /** What needs an operator (each item makes the exit status 1). */
  attention: string[];
  /** Worth knowing, not alarming (paused destination, version skew …). */
  notes: string[];
  daemon: {
    running: boolean;
    pid: number | null;
    startedAt: string | null;
    uptimeMs: number | null;
    version: string | null;
    configFile: string | null;
    node: string;
    socket: string;
    /** Why the daemon is considered down, null when it answered. */
    message: string | null;
    counters: DaemonCounters | null;
  };
  config: {
    file: string | null;
    /** The file on disk validates (as this user reads it). */
    valid: boolean;
    problems: string[];
  };
  intake: {
    spoolDir: string;
    backlog: number;
    oldestAgeMs: number | null;
    quarantined: number;
    /** The daemon stopped taking records (store full). */
    paused: boolean;
    stuck: number;
    error: string | null;
  };
  store: {
    path: string;
    bytes: number | null;
    maxBytes: number;
    full: boolean;
    error: string | null;
    /** What is wrong with the store's contents or file (missing delivery rows, store file replaced). */
    problems: string[];
  };
  destinations: DestinationReport[];
  /** How ref changes reach the relay (wiring-status.ts). */
  wiring?: WiringReport;
}

/** Live daemon state that only the daemon knows. */
export interface LiveDaemonState {
  pid: number;
  startedAt: number;
  version: string;
  counters: DaemonCounters;
  storeFull: boolean;
  workers: WorkerSnapshot[];
  intake: IntakeStats | null;
  /** Store problems the daemon found (invariant check, store file replaced). */
  storeProblems?: string[];
  /** Reconciliation and hook-script facts. */
  wiring?: LiveWiring;
}

/** Inputs of collectStatus. */
export interface StatusSources {
  config: RelayConfig;
  store: Store | null;
  /** Why the store could not be opened, when store is null. */
  storeError?: string | null;
  /** Present when the report is built inside the daemon. */
  live?: LiveDaemonState | null;
  /** Spool counts read from disk (used when there is no live intake). */
  spool?: SpoolStatsResult | null;
  /** When the daemon did not answer: why. */
  daemonDown?: string | null;
  /** False when the config file did not validate: destinations missing from it are then unknown, not "removed". */
  configKnown?: boolean;
  now?: number;
}

const iso = (ms: number | null | undefined): string | null => (ms === null || ms === undefined ? null : new Date(ms).toISOString());

/** Last delivered and last failed attempt of a destination, from the attempts log (null when it has none). */
interface AttemptFacts {
  lastDeliveredAt: number | null;
  lastFailure: { time: number; error: string } | null;
}

/**
 * The attempts log says what the operator means by "last success" (a
 * delivered attempt) and "last error" (any failed attempt, a dead letter
 * too); the dispatcher's health fields track whether the path works, which
 * a refused delivery (e.g. an HTTP 4xx) also proves. Null when the log has nothing for the destination (pruned).
 */
function attemptFacts(store: Store, destination: string): AttemptFacts | null {
  // One seek each along the (destination, outcome, time) index, however long the log: a destination
  // that never failed must not cost a walk over all its attempts.
  const okRow = store.statement(`SELECT time AS t FROM attempts WHERE destination = ? AND outcome = 'delivered' ORDER BY time DESC LIMIT 1`).get(destination) as { t: number } | undefined;
  const ok = { t: okRow?.t ?? null };
  const bad = store.statement(`SELECT * FROM (SELECT time, status, error FROM attempts WHERE destination = ? AND outcome = 'retry' ORDER BY time DESC LIMIT 1)
    UNION ALL SELECT * FROM (SELECT time, status, error FROM attempts WHERE destination = ? AND outcome = 'dead' ORDER BY time DESC LIMIT 1)
    ORDER BY time DESC LIMIT 1`).get(destination, destination) as
    | { time: number; status: number | null; error: string | null }
    | undefined;
  if (ok.t === null && !bad) return null;
  return {
    lastDeliveredAt: ok.t,
    lastFailure: bad ? { time: bad.time, error: bad.error ?? (bad.status === null ? 'failed' : `HTTP ${bad.status}`) } : null,
  };
}

/** Build the report (before assessment: healthy/attention/notes empty). */
export function collectStatus(src: StatusSources): StatusReport {
  const { config } = src;
  const now = src.now ?? Date.now();
  const live = src.live ?? null;
  const configured = new Map(config.destinations.map((d) => [d.name, d]));
  const workers = new Map((live?.workers ?? []).map((w) => [w.name, w]));
  const redact = configRedactor(config);

  let bytes: number | null = null;
  let storeError = src.storeError ?? null;
  let rows: ReturnType<typeof destinationStatus> = [];
  const facts = new Map<string, AttemptFacts | null>();
  const storeProblems = [...(live?.storeProblems ?? [])];
  if (src.store) {
    try {
      if (!live) {
        const missing = describeMissingDeliveries(src.store.path, findMissingDeliveries(src.store, now).missing);
        if (missing) storeProblems.push(missing);
      }
      bytes = storeBytes(src.store);
      // Every kind, inline ones (file, log) too: their writes are in the attempts log like any delivery.
      rows = destinationStatus(src.store, now, config.destinations.map((d) => d.name));
      for (const r of rows) facts.set(r.name, attemptFacts(src.store, r.name));
    } catch (err) {
      storeError = `cannot read store ${config.store.path}: ${(err as Error).message}`;
    }
  }
  const byName = new Map(rows.map((r) => [r.name, r]));
  const names = [...config.destinations.map((d) => d.name), ...rows.map((r) => r.name).filter((n) => !configured.has(n))];

  const destinations: DestinationReport[] = names.map((name) => {
    const d = configured.get(name);
    const row = byName.get(name);
    const w = workers.get(name);
    const circuitOpen = w ? w.circuit.open : (row?.circuitOpen ?? false);
    const consecutiveFailures = w ? w.circuit.consecutiveFailures : (row?.consecutiveFailures ?? 0);
    const paused = w ? w.paused : (row?.paused ?? false);
    const setupError = w?.setupError ?? null;
    const retrying = row?.retrying ?? 0;
    let state: DestinationState;
    if (!d && src.configKnown !== false) state = 'removed';
    else if (d && !d.enabled) state = 'disabled';
    else if (setupError) state = 'error';
    else if (paused) state = 'paused';
    else if (circuitOpen) state = 'circuit-open';
    else if (retrying > 0 || consecutiveFailures > 0) state = 'retrying';
    else state = 'ok';
    const nextProbe = w ? w.circuit.nextProbeAt : (row?.nextProbeAt ?? null);
    const f = facts.get(name) ?? null;
    // The newer of the health record's error (retryable failures) and the log's last failed attempt.
    const stateErrorAt = row?.lastErrorAt ?? null;
    const useLog = f?.lastFailure && (stateErrorAt === null || f.lastFailure.time > stateErrorAt);
    const rawError = useLog ? f!.lastFailure!.error : (row?.lastError ?? null);
    const lastError = rawError === null ? null : redact(rawError);
    const lastErrorAt = useLog ? f!.lastFailure!.time : stateErrorAt;
    return {
      name,
      type: d?.type ?? null,
      configured: Boolean(d),
      enabled: d?.enabled ?? false,
      state,
      target: d ? describeTarget(d) : null,
      queued: row?.queued ?? 0,
      inFlight: row?.inFlight ?? 0,
      retrying,
      dead: row?.dead ?? 0,
      oldestPendingAgeMs: row?.oldestQueuedAgeMs ?? null,
      lastSuccessAt: iso(f ? f.lastDeliveredAt : row?.lastSuccessAt),
      lastError,
      lastErrorAt: iso(lastErrorAt),
      deliveredLastHour: row?.deliveredLastHour ?? 0,
      failedLastHour: row?.failedLastHour ?? 0,
      consecutiveFailures,
      // The next probe is the next attempt: the head delivery's retry time, held back by the circuit (the time deliveries shows).
      nextProbeAt: circuitOpen ? iso(nextProbe === null ? null : nextSendAt(row?.nextDueAt ?? nextProbe, { open: true, nextProbeAt: nextProbe })) : null,
      setupError,
      pausedAt: paused ? iso(row?.pausedAt) : null,
      pausedBy: paused ? (row?.pausedBy ?? null) : null,
      stalled: (w?.stalled ?? []).map((s) => ({ delivery: s.delivery, repo: s.repoKey, ageMs: s.ageMs })),
    };
  });

  const intake = live?.intake;
  const spool = src.spool;
  const full = live ? live.storeFull : bytes !== null && bytes >= config.store.maxBytes;
  return {
    reportVersion: STATUS_REPORT_VERSION,
    time: new Date(now).toISOString(),
    healthy: true,
    attention: [],
    notes: [],
    daemon: {
      running: Boolean(live),
      pid: live?.pid ?? null,
      startedAt: iso(live?.startedAt),
      uptimeMs: live ? Math.max(0, now - live.startedAt) : null,
      version: live?.version ?? null,
      configFile: config.file,
      node: config.node,
      socket: config.admin.socket,
      message: live ? null : (src.daemonDown ?? 'daemon is not running'),
      counters: live?.counters ? { ...live.counters } : null,
    },
    config: { file: config.file, valid: true, problems: [] },
    intake: {
      spoolDir: config.spool.dir,
      backlog: intake ? intake.backlog : spool?.ok ? spool.stats.backlog : 0,
      oldestAgeMs: intake ? intake.oldestAgeMs : spool?.ok ? spool.stats.oldestAgeMs : null,
      quarantined: intake ? intake.quarantined : spool?.ok ? spool.stats.quarantined : 0,
      paused: intake ? intake.paused : false,
      stuck: intake?.stuck ?? 0,
      error: spool && !spool.ok ? spool.error : null,
    },
    store: { path: config.store.path, bytes, maxBytes: config.store.maxBytes, full, error: storeError, problems: storeProblems },
    destinations,
    wiring: collectWiring(config, src.store, live?.wiring ?? null, now),
  };
}

/** Thresholds of assessStatus. */
export interface StatusThresholds {
  /** Spool records older than this need attention (default 5 minutes). */
  maxBacklogAgeMs?: number;
  /** Version of the `relay` CLI, to spot a daemon not restarted after an upgrade. */
  cliVersion?: string;
  /** A paused destination with a queue needs attention (default true; `relay status --no-warn-paused`). */
  warnPaused?: boolean;
}

/** Fill attention/notes/healthy from the report's facts. Pure; returns a new report. */
export function assessStatus(report: StatusReport, thresholds: StatusThresholds = {}): StatusReport {
  const maxAge = thresholds.maxBacklogAgeMs ?? 5 * 60_000;
  const attention: string[] = [];
  const notes: string[] = [];
  const { daemon, intake, store, config } = report;

  if (!daemon.running) attention.push(daemon.message ?? 'daemon is not running');
  if (!config.valid) {
    const where = config.file ?? 'the config';
    const problems = config.problems.length;
    // A file the running daemon cannot reload is worth fixing before the next restart.
    if (configNotFound(config.problems)) attention.push(`${where} not found: create it from config/relay.example.yaml, or name the right file with --config / $RELAY_CONFIG`);
    else attention.push(`${where} has ${problems} problem${problems === 1 ? '' : 's'}${daemon.running ? ' (the daemon keeps its running config; a restart would fail)' : ''}: run \`relay config check\``);
  }
  if (store.error) attention.push(store.error);
  attention.push(...(store.problems ?? []));
  if (store.full) {
    attention.push(`store is full (${store.bytes === null ? '?' : formatSize(store.bytes)} of ${formatSize(store.maxBytes)}): intake is paused and pushes wait in the spool; drop dead letters (relay dlq drop), lower store.log.maxAge or raise store.maxBytes`);
  }
  if (intake.error) attention.push(intake.error);
  if (report.wiring) attention.push(...wiringAttention(report.wiring));
  if (intake.oldestAgeMs !== null && intake.oldestAgeMs > maxAge) {
    attention.push(`spool backlog: ${intake.backlog} record${intake.backlog === 1 ? '' : 's'}, oldest ${formatDuration(intake.oldestAgeMs)} (over ${formatDuration(maxAge)}): ${daemon.running ? 'the daemon is not keeping up (see its log)' : 'start the daemon'}`);
  }
  if (intake.stuck > 0) attention.push(`${intake.stuck} spool entr${intake.stuck === 1 ? 'y' : 'ies'} can be neither processed nor quarantined; see the daemon log`);
  if (intake.quarantined > 0) {
    attention.push(`${intake.quarantined} spool record${intake.quarantined === 1 ? '' : 's'} quarantined in ${intake.spoolDir}/quarantine (see \`relay quarantine list\`; fix the cause and \`relay quarantine retry\`, or \`drop\`)`);
  }
  for (const d of report.destinations) {
    if (d.state === 'error') attention.push(`${d.name}: cannot send: ${d.setupError}`);
    const stalled = d.stalled?.[0];
    if (stalled) {
      attention.push(`${d.name}: ${d.stalled.length} attempt${d.stalled.length === 1 ? '' : 's'} in flight past timeout.total, oldest ${formatDuration(stalled.ageMs)} (delivery ${stalled.delivery}, ${stalled.repo}); its lane waits: see the daemon log`);
    }
    if (d.state === 'circuit-open') {
      const probe = d.nextProbeAt ? `, next probe ${relative(Date.parse(d.nextProbeAt), Date.parse(report.time))}` : '';
      attention.push(`${d.name}: circuit open after ${d.consecutiveFailures} failures${probe}; last error: ${d.lastError ?? 'unknown'} (check with \`relay test ${d.name}\`)`);
    }
    if (d.dead > 0) attention.push(`${d.name}: ${d.dead} dead letter${d.dead === 1 ? '' : 's'} (see \`relay dlq list --dest ${d.name}\`, then \`relay dlq retry\` or \`drop\`)`);
    if (d.state === 'removed' && d.queued > 0) attention.push(`${d.name}: removed from the config with ${d.queued} queued; add it back, or drop them with \`relay dlq drop --dest ${d.name}\``);
    if (d.state === 'paused') {
      // A forgotten pause loses nothing but delays everything: with a queue it is worth an alarm.
      const since = d.pausedAt ? ` since ${d.pausedAt} (${relative(Date.parse(d.pausedAt), Date.parse(report.time))})` : '';
      const by = d.pausedBy ? ` by ${d.pausedBy}` : '';
      const line = `${d.name}: paused${since}${by} with ${d.queued} queued (\`relay resume ${d.name}\`)`;
      if (d.queued > 0 && thresholds.warnPaused !== false) attention.push(line);
      else notes.push(line);
    }
    if (d.state === 'disabled' && d.queued > 0) notes.push(`${d.name}: disabled (enabled: false) with ${d.queued} queued`);
  }
  if (intake.paused && !store.full) notes.push('intake is paused');
  if (daemon.running && thresholds.cliVersion && daemon.version && daemon.version !== thresholds.cliVersion) {
    notes.push(`the daemon runs ${daemon.version} but ${thresholds.cliVersion} is installed: restart it to upgrade`);
  }
  return { ...report, healthy: attention.length === 0, attention, notes };
}

/** "in 12s" / "3m 4s ago" relative to now. */
export function relative(ms: number, now: number): string {
  const d = ms - now;
  return d >= 0 ? `in ${formatDuration(d)}` : `${formatDuration(-d)} ago`;
}

/** The config's only problem is that the file does not exist (status says "not found", not "invalid"). */
export function configNotFound(problems: readonly string[]): boolean {
  return problems.length === 1 && problems[0].endsWith('file not found; create it from config/relay.example.yaml');
}
