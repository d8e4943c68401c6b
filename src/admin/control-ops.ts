// What each control operation does, over an open store and the config. The
// daemon runs these for its control socket; with the daemon down, the CLI runs
// the very same functions on the store it opened itself (read-only for
// questions, read-write under the store lock for actions).

import type { QueuedDestinationConfig, RelayConfig } from '../config/config-types.ts';
import type { PushEvent } from '../event/push-event.ts';
import { planDeliveries } from '../route/plan-deliveries.ts';
import type { RequestView } from '../destinations/kind.ts';
import { configRedactor, isQueued, queuedKindOf } from '../destinations/registry.ts';
import { spoolStats } from '../intake/spool-stats.ts';
import { giveUpAt } from '../deliver/retry-policy.ts';
import type { Log } from '../log/logger.ts';
import { maskHeaderValues, redactUrl } from '../log/redact.ts';
import {
  dropDeadLetters,
  enqueue,
  isFull,
  isPaused,
  listDeadLetters,
  dropQueuedDeliveries,
  listDeliveries,
  pauseDestination,
  redeliver,
  resolveDeliveryId,
  resumeDestination,
  retryDeadLetters,
  showDelivery,
  storedDestinationNames,
  queuedCount,
  destinationsWithDeadLetters,
  destinationOfDelivery,
  deliveryProgress,
  type DeliveryDetail,
  type DeliveryProgress,
  type DeliveryFilter,
  type DeliveryState,
  type DeliverySummary,
  type RedeliverState,
  type EnqueueItem,
  type Store,
} from '../store/index.ts';
import { RELAY_VERSION } from '../version.ts';
import { CONTROL_PROTOCOL_VERSION, ControlError, MUTATING_OPS, type ControlOp } from './control-protocol.ts';
import { collectStatus, type LiveDaemonState, type StatusReport } from './status-report.ts';

/** What the operations work on. */
export interface OpsContext {
  store: Store;
  /** The config in force (the daemon's running one, or the CLI's file). */
  config: RelayConfig;
  /** Live daemon state; absent when the CLI runs an operation itself. */
  live?: () => LiveDaemonState;
  log?: Log;
  now?: () => number;
}

/** `hello`: who answers. */
export interface HelloResult {
  protocol: number;
  version: string;
  pid: number;
  node: string;
  configFile: string | null;
}

/** `show`: the stored delivery plus the request as it would be sent now (secrets redacted). */
export interface ShowResult {
  delivery: DeliveryDetail;
  /** Null when the destination is no longer a queued one in the config. */
  request: RequestView | null;
  /**
   * A queued delivery of a configured destination: when it is given up if it keeps failing
   * (`at`: ISO, null before the first attempt) and the horizon it follows. Null otherwise.
   */
  giveUp?: { at: string | null; horizonMs: number } | null;
}

/** Requeue outcome of redeliver / dlq-retry. */
export interface RequeueSummary {
  requeued: number;
  skipped: { id: string; reason: string }[];
  /** Requeued, by the state each was in (pending ones were made due now). */
  byState?: Partial<Record<RedeliverState, number>>;
  /** Ids requeued, when asked for (bulk redeliver progress). */
  ids?: string[];
}

/** `dlq-drop` outcome. */
export interface DropSummary {
  dropped: number;
  byDestination: Record<string, number>;
}

/** `pause` / `resume` outcome. */
export interface PauseSummary {
  destination: string;
  paused: boolean;
  queued: number;
}

/** `delivery-progress`: where a set of deliveries stands. */
export type ProgressSummary = DeliveryProgress;

/** `backfill-enqueue` outcome. */
export interface BackfillEnqueueSummary {
  events: number;
  deliveries: number;
  /** Events already in the store (an earlier run of the same backfill). */
  duplicates: number;
  /** Events no selected destination took (their `match` filters). */
  unmatched: number;
  /** Per destination: events its `match` left out. */
  unmatchedBy: Record<string, number>;
}

// ---- argument checks ------------------------------------------------------

type Args = Record<string, unknown>;

function asArgs(args: unknown): Args {
  if (args === null || typeof args !== 'object' || Array.isArray(args)) throw new ControlError('bad-request', 'arguments must be a JSON object');
  return args as Args;
}

function optString(a: Args, key: string): string | undefined {
  const v = a[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string' || v === '') throw new ControlError('bad-request', `"${key}" must be a non-empty string`);
  return v;
}

function needString(a: Args, key: string): string {
  const v = optString(a, key);
  if (v === undefined) throw new ControlError('bad-request', `"${key}" is required`);
  return v;
}

function optNumber(a: Args, key: string): number | undefined {
  const v = a[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new ControlError('bad-request', `"${key}" must be a number`);
  return v;
}

// ---- helpers ----------------------------------------------------------------

function knownDestination(ctx: OpsContext, name: string): void {
  if (ctx.config.destinations.some((d) => d.name === name)) return;
  if (storedDestinationNames(ctx.store).includes(name)) return;
  const names = ctx.config.destinations.map((d) => d.name);
  throw new ControlError('not-found', `no destination named "${name}"; configured: ${names.length ? names.join(', ') : 'none'}`);
}

/** Every printable text field of a summary, redacted (error texts may quote a receiver). */
function redactSummary<T extends DeliverySummary>(d: T, redact: (t: string) => string): T {
  return { ...d, lastError: d.lastError === null ? null : redact(d.lastError) };
}

function filterFrom(a: Args): DeliveryFilter {
  const state = optString(a, 'state');
  if (state !== undefined && !['pending', 'in_flight', 'delivered', 'dead', 'dropped'].includes(state)) {
    throw new ControlError('bad-request', `"state" must be one of pending, in_flight, delivered, dead, dropped`);
  }
  return {
    destination: optString(a, 'destination'),
    state: state as DeliveryState | undefined,
    failed: a.failed === true,
    since: optNumber(a, 'since'),
    repo: optString(a, 'repo'),
    eventId: optString(a, 'eventId'),
    status: optNumber(a, 'status'),
    trigger: optString(a, 'trigger'),
    until: optNumber(a, 'until'),
    before: optString(a, 'before'),
    limit: optNumber(a, 'limit'),
  };
}

/** When a queued delivery is given up, by the one retry policy (null when it is not queued or its destination is not). */
function giveUpOf(config: RelayConfig, d: DeliveryDetail): ShowResult['giveUp'] {
  if (d.state !== 'pending' && d.state !== 'in_flight') return null;
  const dest = config.destinations.find((x) => x.name === d.destination);
  if (!dest || !isQueued(dest)) return null;
  const at = giveUpAt(d.firstAttemptAt, dest.retry);
  return { at: at === null ? null : new Date(at).toISOString(), horizonMs: dest.retry.horizonMs };
}

function requestPreview(config: RelayConfig, d: DeliveryDetail): ShowResult['request'] {
  const dest = config.destinations.find((x) => x.name === d.destination);
  if (!dest || !isQueued(dest)) return null;
  const kind = queuedKindOf(dest)!;
  const [projectKey, repoSlug] = d.repoKey.split('/');
  const last = d.attemptLog.length ? d.attemptLog[d.attemptLog.length - 1].target : null;
  return kind.describeRequest(dest, {
    id: d.id,
    headers: d.headers,
    body: Buffer.from(d.body ?? ''),
    signatureHeader: d.signatureHeader,
    projectKey,
    repoSlug,
    repoId: null,
    lastTarget: last,
  });
}

function validEvent(e: unknown, i: number): PushEvent {
  const ev = e as Partial<PushEvent> | null;
  if (!ev || typeof ev.id !== 'string' || !ev.repository || typeof ev.repository.projectKey !== 'string' || !Array.isArray(ev.refs) || typeof ev.commits !== 'object') {
    throw new ControlError('bad-request', `events[${i}] is not a PushEvent`);
  }
  return ev as PushEvent;
}

/** The destinations a backfill goes to: the named ones (each must be an enabled queued destination), else all enabled queued ones. */
export function backfillDestinations(config: RelayConfig, names: readonly string[] | undefined): QueuedDestinationConfig[] {
  const queued = (d: (typeof config.destinations)[number]): d is QueuedDestinationConfig => isQueued(d) && d.enabled;
  if (!names || names.length === 0) return config.destinations.filter(queued);
  return names.map((name) => {
    const d = config.destinations.find((x) => x.name === name);
    if (!d) throw new ControlError('not-found', `no destination named "${name}"; configured: ${config.destinations.map((x) => x.name).join(', ') || 'none'}`);
    if (!queued(d)) throw new ControlError('bad-request', `destination "${name}" is ${!isQueued(d) ? `type ${d.type}; backfill goes through the delivery queue, which type ${d.type} does not use (it is written inline)` : 'disabled (enabled: false)'}`);
    return d;
  });
}

/** `states` of a bulk redeliver: pending, delivered and/or dead (default delivered and dead, as before --pending existed). */
function redeliverStates(v: unknown): RedeliverState[] {
  if (v === undefined) return ['delivered', 'dead'];
  const known: RedeliverState[] = ['pending', 'delivered', 'dead'];
  if (!Array.isArray(v) || v.length === 0 || !v.every((x) => known.includes(x))) throw new ControlError('bad-request', `"states" must be a non-empty list of ${known.join(', ')}`);
  return v as RedeliverState[];
}

// ---- the operations -----------------------------------------------------

/** What an operation is given: the context, its checked arguments, the time and the config's redaction. */
interface OpCall {
  ctx: OpsContext;
  store: Store;
  config: RelayConfig;
  a: Args;
  now: number;
  redact: (text: string) => string;
}

/** `pause` / `resume`: the operator's switch; deliveries keep queueing while paused. */
function pauseOrResume({ ctx, store, a }: OpCall, paused: boolean): PauseSummary {
  const destination = needString(a, 'destination');
  knownDestination(ctx, destination);
  if (paused) pauseDestination(store, destination, optString(a, 'by') ?? null);
  else resumeDestination(store, destination);
  return { destination, paused: isPaused(store, destination), queued: queuedCount(store, destination) };
}

/** Every control operation, by name. Each throws ControlError (or StoreError) with operator-facing messages. */
const OPERATIONS: Record<ControlOp, (call: OpCall) => unknown> = {
  hello: ({ config }) =>
    ({ protocol: CONTROL_PROTOCOL_VERSION, version: RELAY_VERSION, pid: process.pid, node: config.node, configFile: config.file }) satisfies HelloResult,
  status: async ({ ctx, store, config, now }) => {
    const live = ctx.live?.() ?? null;
    const spool = live?.intake ? null : await spoolStats(config.spool.dir, now);
    return collectStatus({ config, store, live, spool, now }) satisfies StatusReport;
  },
  deliveries: ({ store, a, redact }) =>
    listDeliveries(store, filterFrom(a)).map((d) => redactSummary(d, redact)),
  'dlq-list': ({ store, a, redact }) =>
    listDeadLetters(store, { destination: optString(a, 'destination'), limit: optNumber(a, 'limit') }).map((d) => redactSummary(d, redact)),
  show: ({ store, config, a, redact }) => {
    const id = needString(a, 'id');
    const d = showDelivery(store, id);
    if (!d) throw new ControlError('not-found', `no delivery with id "${id}"; list them with \`relay deliveries\``);
    const delivery: DeliveryDetail = {
      ...redactSummary(d, redact),
      body: d.body === null ? null : redact(d.body),
      attemptLog: d.attemptLog.map((x) => ({
        ...x,
        error: x.error === null ? null : redact(x.error),
        detail: x.detail === null ? null : redact(x.detail),
        responseExcerpt: x.responseExcerpt === null ? null : redact(x.responseExcerpt),
        location: x.location === null ? null : redact(redactUrl(x.location)),
        target: redact(redactUrl(x.target)),
        responseHeaders: x.responseHeaders ? maskHeaderValues(x.responseHeaders, redact) : null,
      })),
    };
    return { delivery, request: requestPreview(config, delivery), giveUp: giveUpOf(config, delivery) } satisfies ShowResult;
  },
  'delivery-progress': ({ store, a }) => {
    const ids = a.ids;
    if (!Array.isArray(ids) || !ids.every((x) => typeof x === 'string')) throw new ControlError('bad-request', '"ids" must be a list of delivery ids');
    return deliveryProgress(store, ids as string[]) satisfies ProgressSummary;
  },
  redeliver: ({ ctx, store, a, now }) => {
    const id = optString(a, 'id');
    if (id !== undefined) {
      const full = resolveDeliveryId(store, id);
      if (full === null) throw new ControlError('not-found', `no delivery with id "${id}"; list them with \`relay deliveries\``);
      const r = redeliver(store, { id: full }, now);
      return { ...r, ids: r.requeued ? [full] : [] } satisfies RequeueSummary;
    }
    const destination = needString(a, 'destination');
    knownDestination(ctx, destination);
    const since = optNumber(a, 'since') ?? 0;
    const r = redeliver(store, { destination, since }, now, redeliverStates(a.states));
    return { ...r, ids: a.withIds ? r.ids : undefined } satisfies RequeueSummary;
  },
  'dlq-retry': ({ ctx, store, a, now }) => {
    const id = optString(a, 'id');
    if (id !== undefined) return retryDeadLetters(store, { id }, now) satisfies RequeueSummary;
    const destination = optString(a, 'destination');
    if (destination !== undefined) knownDestination(ctx, destination);
    const out: RequeueSummary = { requeued: 0, skipped: [] };
    for (const name of destination ? [destination] : destinationsWithDeadLetters(store)) {
      const r = retryDeadLetters(store, { destination: name }, now);
      out.requeued += r.requeued;
      out.skipped.push(...r.skipped);
    }
    return out;
  },
  'dlq-drop': ({ ctx, store, config, a, now }) => {
    const id = optString(a, 'id');
    if (id !== undefined) {
      const full = resolveDeliveryId(store, id);
      if (full === null) throw new ControlError('not-found', `no delivery with id "${id}"; list them with \`relay dlq list\``);
      const n = dropDeadLetters(store, { id: full }, now);
      if (n === 0) throw new ControlError('refused', `delivery ${full} is not a dead letter; only dead letters can be dropped`);
      const dest = destinationOfDelivery(store, full) ?? '?';
      return { dropped: n, byDestination: { [dest]: n } } satisfies DropSummary;
    }
    const destination = optString(a, 'destination');
    if (destination !== undefined) knownDestination(ctx, destination);
    const out: DropSummary = { dropped: 0, byDestination: {} };
    for (const name of destination ? [destination] : destinationsWithDeadLetters(store)) {
      let n = dropDeadLetters(store, { destination: name }, now);
      // A destination removed from the config has nobody to send its queue: drop that too.
      if (!config.destinations.some((d) => d.name === name)) n += dropQueuedDeliveries(store, name, now);
      if (n) out.byDestination[name] = n;
      out.dropped += n;
    }
    return out;
  },
  pause: (call) => pauseOrResume(call, true),
  resume: (call) => pauseOrResume(call, false),
  'backfill-enqueue': ({ store, config, a, now }) => {
    if (!Array.isArray(a.events)) throw new ControlError('bad-request', '"events" must be a list of PushEvents');
    const names = a.destinations;
    if (names !== undefined && (!Array.isArray(names) || !names.every((n) => typeof n === 'string'))) throw new ControlError('bad-request', '"destinations" must be a list of names');
    const destinations = backfillDestinations(config, names as string[] | undefined);
    if (destinations.length === 0) throw new ControlError('refused', 'no enabled queued destination (http, broker) to backfill to; backfill goes through the delivery queue');
    if (isFull(store)) throw new ControlError('refused', `store ${store.path} is full (store.maxBytes); free space before backfilling (relay status)`);
    const items: EnqueueItem[] = [];
    let unmatched = 0;
    const unmatchedBy: Record<string, number> = {};
    (a.events as unknown[]).forEach((e, i) => {
      const plan = planDeliveries(validEvent(e, i), destinations);
      for (const name of plan.unmatched) unmatchedBy[name] = (unmatchedBy[name] ?? 0) + 1;
      if (plan.queued.length === 0) unmatched++;
      else items.push({ event: e as PushEvent, deliveries: plan.queued });
    });
    const r = enqueue(store, items, now);
    return { events: r.events, deliveries: r.deliveries, duplicates: r.duplicates, unmatched, unmatchedBy } satisfies BackfillEnqueueSummary;
  },
};

/** Run one control operation. Throws ControlError (or StoreError) with operator-facing messages. */
export async function runControlOp(ctx: OpsContext, op: ControlOp, rawArgs: unknown): Promise<unknown> {
  const a = asArgs(rawArgs ?? {});
  const { store, config } = ctx;
  if (MUTATING_OPS.has(op)) {
    if (store.readOnly) throw new ControlError('refused', `${op} needs write access to the store, which is open read-only`);
    ctx.log?.info(`operator: ${op}`, { component: 'admin', args: summarizeArgs(a) });
  }
  return OPERATIONS[op]({ ctx, store, config, a, now: ctx.now?.() ?? Date.now(), redact: configRedactor(config) });
}

/** Arguments worth logging (never event bodies). */
function summarizeArgs(a: Args): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(a)) {
    if (k === 'events' && Array.isArray(v)) out.events = v.length;
    else if (k === 'ids' && Array.isArray(v)) out.ids = v.length;
    else out[k] = v;
  }
  return out;
}
