// One queued destination's delivery loop, whatever its kind (the kind only
// supplies the sender). Its queue is split into lanes, one
// per repository: a lane has at most one request in flight and sends its rows
// strictly in seq order (FIFO per destination+repository), while up to
// `concurrency` lanes send at once, so a slow or failing repository never
// holds the others back. The store is the truth; a lane only remembers a few
// of its next rows (prefetched metadata; bodies are read at send time) and
// the last row it finished (its cursor).

import { setMaxListeners } from 'node:events';
import type { QueuedDestinationConfig } from '../config/config-types.ts';
import type { Sender, SendResult } from '../destinations/kind.ts';
import { queuedKindOf } from '../destinations/registry.ts';
import type { Log } from '../log/logger.ts';
import type { Store } from '../store/store.ts';
import { laneRows, pendingLanes, readBody, readHealth, type DestinationHealth, type QueuedDelivery } from '../store/queue.ts';
import { nextSendAt } from '../store/next-attempt.ts';
import { circuitAllows, circuitOnFailure, circuitOnSuccess, CLOSED, type CircuitState } from './circuit.ts';
import type { QueueWriter } from './queue-writer.ts';
import { nextAttemptAt } from './retry-policy.ts';

/** Clock, randomness and knobs shared by the workers. */
export interface WorkerContext {
  store: Store;
  writer: QueueWriter;
  log: Log;
  now: () => number;
  random: () => number;
  circuitThreshold: number;
  env?: NodeJS.ProcessEnv;
}

/** A point-in-time view of a worker (for status and tests). */
export interface WorkerSnapshot {
  name: string;
  inFlight: number;
  lanes: number;
  readyLanes: number;
  waitingLanes: number;
  paused: boolean;
  circuit: CircuitState;
  /** Why the destination cannot send (e.g. unreadable tls.ca), or null. */
  setupError: string | null;
  /** Attempts in flight longer than timeout.total (+ slack): a lane that should have moved on. */
  stalled: StalledAttempt[];
}

/** An attempt still in flight past its overall deadline. */
export interface StalledAttempt {
  delivery: string;
  repoKey: string;
  ageMs: number;
}

/** How far past timeout.total an attempt may run (the deadline's own bookkeeping) before it counts as stalled. */
const STALLED_SLACK_MS = 5_000;

interface Lane {
  repoKey: string;
  /** Next rows in FIFO order; [0] is the head. */
  queue: QueuedDelivery[];
  busy: boolean;
  /** The store changed under a busy lane (operator action): refetch after the current request. */
  stale: boolean;
}

/** Prefetched rows per worker, spread over its lanes (bounds memory with many repositories). */
const PREFETCH_BUDGET = 20_000;
const PREFETCH_MAX = 32;

interface InFlight {
  done: Promise<void>;
  repoKey: string;
  startedAt: number;
}

// setTimeout's limit (~24.8 days); longer waits re-arm.
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Sends one destination's queue. */
export class DestinationWorker {
  private dest: QueuedDestinationConfig;
  private sender: Sender | null = null;
  private setupError: string | null = null;
  private readonly ctx: WorkerContext;
  private readonly lanes = new Map<string, Lane>();
  private readonly ready = new Set<Lane>();
  private readonly waiting = new Set<Lane>();
  /** Last finished seq per lane; survives the lane so rows finished but not yet flushed are never reloaded. */
  private readonly cursors = new Map<string, number>();
  private readonly inFlight = new Map<string, InFlight>();
  /** Aborts every request still in flight when stop() runs out of time. */
  private readonly shutdown = new AbortController();
  private circuit: CircuitState = CLOSED;
  private health: DestinationHealth;
  private paused = false;
  private running = true;
  private stopping = false;
  private timer: NodeJS.Timeout | null = null;
  private pumpQueued = false;
  private readonly log: Log;

  constructor(dest: QueuedDestinationConfig, ctx: WorkerContext) {
    this.dest = dest;
    this.ctx = ctx;
    this.log = ctx.log.child({ destination: dest.name });
    setMaxListeners(0, this.shutdown.signal); // one listener per in-flight request
    const stored = readHealth(ctx.store, dest.name);
    this.paused = stored.paused;
    this.health = stored;
    this.circuit = stored.circuitOpen
      ? { open: true, consecutiveFailures: stored.consecutiveFailures, openedAt: stored.circuitOpenedAt, nextProbeAt: stored.nextProbeAt }
      : { ...CLOSED, consecutiveFailures: stored.consecutiveFailures };
    this.configure(dest);
  }

  /** The destination's name. */
  get name(): string {
    return this.dest.name;
  }

  /** Apply a (re)loaded destination config; in-flight requests finish on the old connections. */
  configure(dest: QueuedDestinationConfig): void {
    const old = this.sender;
    this.dest = dest;
    try {
      const kind = queuedKindOf(dest);
      if (!kind) throw new Error(`type ${dest.type} is not a queued destination kind`);
      this.sender = kind.createSender(dest, { env: this.ctx.env ?? process.env, log: this.log });
      this.setupError = null;
    } catch (err) {
      this.sender = null;
      this.setupError = (err as Error).message;
      this.log.error('destination cannot send until its config is fixed; deliveries stay queued', { error: this.setupError });
    }
    if (old) {
      // Let in-flight requests on the old pools finish before closing them.
      const pending = [...this.inFlight.values()].map((f) => f.done);
      void Promise.allSettled(pending).then(() => old.close()).catch((err: unknown) => this.log.warn('closing the old connections failed', { error: (err as Error).message }));
    }
    this.schedulePump();
  }

  /** Find every lane with queued rows (start, replays, wake) and refresh idle lanes' heads. */
  scan(): void {
    for (const repoKey of pendingLanes(this.ctx.store, this.dest.name)) {
      const lane = this.lanes.get(repoKey) ?? this.addLane(repoKey);
      if (lane.busy) lane.stale = true;
      else this.refill(lane);
    }
    this.schedulePump();
  }

  /** New rows were enqueued for a repository. */
  onEnqueued(repoKey: string): void {
    if (!this.lanes.has(repoKey)) this.refill(this.addLane(repoKey));
    this.schedulePump();
  }

  /** Operator pause/resume. */
  /** The operator says the receiver is fixed: an open circuit probes now (`relay retry`); the first success closes it. */
  probeNow(): void {
    if (!this.circuit.open) return;
    this.circuit = { ...this.circuit, nextProbeAt: this.ctx.now() };
    this.health.nextProbeAt = this.circuit.nextProbeAt;
    this.schedulePump();
  }

  setPaused(paused: boolean): void {
    this.paused = paused;
    this.log.info(paused ? 'destination paused; deliveries keep queueing' : 'destination resumed');
    this.schedulePump();
  }

  /** Removed from config (false) or back (true): an inactive worker starts nothing, in-flight requests finish. */
  setActive(active: boolean): void {
    this.running = active;
    if (!active && this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (active) this.scan();
  }

  /** Stop starting requests; resolves when in-flight ones finish, or aborts them after `timeoutMs`. */
  async stop(timeoutMs: number): Promise<void> {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const all = (): Promise<unknown> => Promise.allSettled([...this.inFlight.values()].map((f) => f.done));
    let timedOut = false;
    const deadline = new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        timedOut = true;
        resolve();
      }, timeoutMs);
      void all().then(() => {
        clearTimeout(t);
        resolve();
      });
    });
    await deadline;
    if (timedOut && this.inFlight.size > 0) {
      this.stopping = true;
      this.log.warn('stopping: aborting requests still in flight; they stay queued', { inFlight: this.inFlight.size });
      this.shutdown.abort();
      await all();
    }
    try {
      await this.sender?.close();
    } catch (err) {
      this.log.warn('closing the connections failed', { error: (err as Error).message });
    }
  }

  /** Current state for status. */
  snapshot(): WorkerSnapshot {
    return {
      name: this.dest.name,
      inFlight: this.inFlight.size,
      lanes: this.lanes.size,
      readyLanes: this.ready.size,
      waitingLanes: this.waiting.size,
      paused: this.paused,
      circuit: { ...this.circuit },
      setupError: this.setupError,
      stalled: this.stalled(),
    };
  }

  private stalled(): StalledAttempt[] {
    const now = this.ctx.now();
    const limit = (queuedKindOf(this.dest)?.maxAttemptMs(this.dest) ?? Infinity) + STALLED_SLACK_MS;
    const out: StalledAttempt[] = [];
    for (const [delivery, f] of this.inFlight) {
      if (now - f.startedAt > limit) out.push({ delivery, repoKey: f.repoKey, ageMs: now - f.startedAt });
    }
    return out.sort((a, b) => b.ageMs - a.ageMs);
  }

  private addLane(repoKey: string): Lane {
    const lane: Lane = { repoKey, queue: [], busy: false, stale: false };
    this.lanes.set(repoKey, lane);
    return lane;
  }

  /** Fetch the lane's next rows from the store (after its cursor). */
  private refill(lane: Lane): void {
    const limit = Math.max(1, Math.min(PREFETCH_MAX, Math.floor(PREFETCH_BUDGET / Math.max(1, this.lanes.size))));
    lane.queue = laneRows(this.ctx.store, this.dest.name, lane.repoKey, this.cursors.get(lane.repoKey) ?? 0, limit);
    lane.stale = false;
    this.place(lane);
  }

  /** File an idle lane under ready or waiting by its head's due time (drop it when empty). */
  private place(lane: Lane): void {
    this.ready.delete(lane);
    this.waiting.delete(lane);
    const head = lane.queue[0];
    if (!head) {
      this.lanes.delete(lane.repoKey);
      return;
    }
    if (head.nextAttemptAt <= this.ctx.now()) this.ready.add(lane);
    else this.waiting.add(lane);
  }

  private schedulePump(): void {
    if (this.pumpQueued) return;
    this.pumpQueued = true;
    setImmediate(() => {
      this.pumpQueued = false;
      this.pump();
    });
  }

  private pump(): void {
    if (!this.running || this.paused || !this.sender) return;
    const now = this.ctx.now();
    for (const lane of this.waiting) {
      if (lane.queue[0] && lane.queue[0].nextAttemptAt <= now) {
        this.waiting.delete(lane);
        this.ready.add(lane);
      }
    }
    while (this.inFlight.size < this.dest.concurrency && this.ready.size > 0) {
      if (!circuitAllows(this.circuit, now, this.inFlight.size)) break;
      const lane = this.ready.values().next().value as Lane;
      this.ready.delete(lane);
      this.begin(lane);
      if (this.circuit.open) break; // one probe at a time
    }
    this.armTimer(now);
  }

  private armTimer(now: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    let next = Infinity;
    for (const lane of this.waiting) if (lane.queue[0]) next = Math.min(next, lane.queue[0].nextAttemptAt);
    if (this.circuit.open && this.inFlight.size === 0 && (this.ready.size > 0 || next < Infinity)) {
      // The earliest due delivery, held back by the circuit: the time status and deliveries show.
      // (A probe time already past while no delivery is due must not spin the timer.)
      next = nextSendAt(this.ready.size > 0 ? now : next, this.circuit);
    }
    if (next === Infinity) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.pump();
    }, Math.min(Math.max(0, next - now), MAX_TIMER_MS));
  }

  private begin(lane: Lane): void {
    const d = lane.queue[0];
    const sender = this.sender!;
    lane.busy = true;
    this.ctx.writer.push({ kind: 'in_flight', id: d.id });
    const body = readBody(this.ctx.store, d.bodyId);
    const done = sender
      .send(
        { id: d.id, headers: d.headers, body, signatureHeader: d.signatureHeader, projectKey: d.projectKey, repoSlug: d.repoSlug, repoId: d.repoId },
        this.shutdown.signal,
      )
      .then((result) => this.finish(lane, d, result, this.shutdown.signal.aborted))
      .catch((err: unknown) => {
        // A bug or a store error: keep the row queued and say so.
        this.inFlight.delete(d.id);
        lane.busy = false;
        this.log.error('delivery bookkeeping failed; the delivery stays queued', { delivery: d.id, error: (err as Error).message });
      });
    this.inFlight.set(d.id, { done, repoKey: lane.repoKey, startedAt: this.ctx.now() });
  }

  private finish(lane: Lane, d: QueuedDelivery, res: SendResult, aborted: boolean): void {
    this.inFlight.delete(d.id);
    lane.busy = false;
    if (aborted && this.stopping) {
      this.ctx.writer.push({ kind: 'release', id: d.id });
      return;
    }
    const now = this.ctx.now();
    const attempts = d.attempts + 1;
    const firstAttemptAt = d.firstAttemptAt ?? now;
    let outcome = res.outcome;
    let error = res.outcome === 'retry' ? res.error : res.outcome === 'dead' ? res.reason : null;
    let nextAt = now;
    if (res.outcome === 'retry') {
      const decision = nextAttemptAt(attempts, now, this.dest.retry, res.retryAfterMs, this.ctx.random, firstAttemptAt);
      if (decision.kind === 'dead') {
        outcome = 'dead';
        error = `${decision.reason}; last error: ${error}`;
      } else {
        nextAt = decision.at;
      }
    }
    this.ctx.writer.push({
      kind: 'attempt',
      attempt: {
        deliveryId: d.id,
        destination: this.dest.name,
        time: now,
        outcome,
        status: res.status,
        latencyMs: res.latencyMs,
        error,
        detail: res.detail,
        responseExcerpt: res.responseExcerpt,
        location: res.location,
        target: res.target,
        responseHeaders: res.responseHeaders ?? null,
        timings: res.timings ?? null,
      },
      attempts,
      firstAttemptAt,
      nextAttemptAt: nextAt,
    });

    // The sender's hint: did the destination itself answer sensibly?
    this.updateHealth(res.health === 'up', now, error);

    if (outcome === 'retry') {
      d.attempts = attempts;
      d.firstAttemptAt = firstAttemptAt;
      d.nextAttemptAt = nextAt;
      this.log.debug('delivery failed; will retry', { delivery: d.id, repo: d.repoKey, status: res.status, error, attempts, retryInMs: nextAt - now });
      this.place(lane);
    } else {
      if (outcome === 'dead') {
        this.log.warn('delivery dead-lettered; replay with `relay dlq retry`', { delivery: d.id, repo: d.repoKey, status: res.status, error, attempts });
      }
      this.cursors.set(lane.repoKey, d.seq);
      lane.queue.shift();
      if (lane.stale || lane.queue.length === 0) this.refill(lane);
      else this.place(lane);
    }
    this.schedulePump();
  }

  private updateHealth(pathWorks: boolean, now: number, error: string | null): void {
    const wasOpen = this.circuit.open;
    if (pathWorks) {
      this.circuit = circuitOnSuccess(this.circuit);
      this.health.lastSuccessAt = now;
      if (wasOpen) this.log.info('destination reachable again; circuit closed, draining at full speed');
    } else {
      this.circuit = circuitOnFailure(this.circuit, now, this.dest.retry, this.ctx.circuitThreshold, this.ctx.random);
      this.health.lastError = error;
      this.health.lastErrorAt = now;
      if (!wasOpen && this.circuit.open) {
        this.log.warn('destination failing; circuit open: one probe per backoff interval, deliveries stay queued', {
          consecutiveFailures: this.circuit.consecutiveFailures,
          error,
        });
      }
    }
    this.health.circuitOpen = this.circuit.open;
    this.health.consecutiveFailures = this.circuit.consecutiveFailures;
    this.health.circuitOpenedAt = this.circuit.openedAt;
    this.health.nextProbeAt = this.circuit.nextProbeAt;
    this.ctx.writer.setHealth(this.dest.name, this.health);
  }
}
