// The dispatcher: one DestinationWorker per enabled queued destination, fed by
// the store. It reacts at once to enqueues and operator actions made through
// the same Store handle, keeps retry timers, and on start puts rows a crash
// left in flight back in the queue (they may be sent twice: at-least-once).

import type { DestinationConfig } from '../config/config-types.ts';
import { queuedDestinations } from '../destinations/registry.ts';
import type { Log } from '../log/logger.ts';
import type { Store, StoreChange } from '../store/store.ts';
import { recoverInFlight } from '../store/queue.ts';
import { DEFAULT_CIRCUIT_THRESHOLD } from './circuit.ts';
import { DestinationWorker, type WorkerSnapshot } from './destination-worker.ts';
import { QueueWriter } from './queue-writer.ts';

export type { WorkerSnapshot, StalledAttempt } from './destination-worker.ts';

/** Options of startDispatcher. */
export interface DispatcherOptions {
  store: Store;
  /** All configured destinations; the dispatcher sends the enabled queued ones (http, brokers). */
  destinations: readonly DestinationConfig[];
  log?: Log;
  /** Clock (ms epoch); tests may pass their own. */
  now?: () => number;
  random?: () => number;
  /** Consecutive failures that open a destination's circuit (default 5). */
  circuitThreshold?: number;
  /** How long stop() waits for in-flight requests before aborting them (default 10 s). */
  stopTimeoutMs?: number;
  /** Group-commit delay for delivery bookkeeping (default 10 ms). */
  flushDelayMs?: number;
  /** Environment for HTTP(S)_PROXY / NO_PROXY (default process.env). */
  env?: NodeJS.ProcessEnv;
}

/** A running dispatcher. */
export interface Dispatcher {
  /** Apply a reloaded config: new destinations start, changed ones reconnect, removed or disabled ones stop sending (their rows stay queued). */
  updateDestinations(destinations: readonly DestinationConfig[]): void;
  /** Rescan the store for work (e.g. after rows were changed by another handle). */
  wake(): void;
  /** Write buffered bookkeeping now. */
  flush(): void;
  /** Per-destination in-memory state (in flight, lanes, circuit, setup errors). */
  snapshot(): WorkerSnapshot[];
  /** Stop starting requests, wait for in-flight ones (bounded), leave the rest queued, flush. */
  stop(): Promise<void>;
}

// A local no-op logger: importing logger.ts's silentLog would load winston
// into processes that never log (CLI reads, benchmarks).
const quietLog: Log = { error() {}, warn() {}, info() {}, debug() {}, child: () => quietLog, setSecrets() {} };

/** Recover in-flight rows, then start sending every enabled queued destination's queue. */
export function startDispatcher(options: DispatcherOptions): Dispatcher {
  const log = (options.log ?? quietLog).child({ component: 'dispatcher' });
  const { store } = options;
  const writer = new QueueWriter(store, log, options.flushDelayMs ?? 10);
  const ctx = {
    store,
    writer,
    log,
    now: options.now ?? Date.now,
    random: options.random ?? Math.random,
    circuitThreshold: options.circuitThreshold ?? DEFAULT_CIRCUIT_THRESHOLD,
    env: options.env,
  };
  const recovered = recoverInFlight(store);
  if (recovered > 0) log.warn('deliveries in flight at the last stop were put back in the queue; they may reach their destination twice', { count: recovered });

  const workers = new Map<string, DestinationWorker>();
  // Removed destinations keep their worker (inactive) so a later re-add cannot
  // send a row that the old worker still has in flight.
  const retired = new Map<string, DestinationWorker>();
  let stopped = false;

  const configs = new Map<string, string>();
  const apply = (all: readonly DestinationConfig[]): void => {
    const wanted = new Map(queuedDestinations(all).map((d) => [d.name, d]));
    for (const [name, worker] of workers) {
      if (wanted.has(name)) continue;
      workers.delete(name);
      retired.set(name, worker);
      log.info('destination removed or disabled; its queued deliveries stay in the store', { destination: name });
      worker.setActive(false);
    }
    for (const [name, dest] of wanted) {
      const text = JSON.stringify(dest);
      const worker = workers.get(name);
      const back = retired.get(name);
      if (!worker && back) {
        retired.delete(name);
        workers.set(name, back);
        if (configs.get(name) !== text) back.configure(dest);
        configs.set(name, text);
        back.setActive(true);
      } else if (!worker) {
        const w = new DestinationWorker(dest, ctx);
        workers.set(name, w);
        configs.set(name, text);
        w.scan();
      } else if (configs.get(name) !== text) {
        configs.set(name, text);
        worker.configure(dest);
      }
    }
  };

  const onChange = (change: StoreChange): void => {
    if (stopped) return;
    switch (change.kind) {
      case 'enqueued':
        for (const { destination, repoKey } of change.lanes) workers.get(destination)?.onEnqueued(repoKey);
        break;
      case 'requeued':
        writer.flush();
        for (const name of change.destinations) workers.get(name)?.scan();
        break;
      case 'probe-now':
        workers.get(change.destination)?.probeNow();
        break;
      case 'paused':
      case 'resumed':
        workers.get(change.destination)?.setPaused(change.kind === 'paused');
        break;
    }
  };
  const unsubscribe = store.onChange(onChange);
  apply(options.destinations);

  return {
    updateDestinations(all) {
      if (!stopped) apply(all);
    },
    wake() {
      if (stopped) return;
      writer.flush();
      for (const w of workers.values()) w.scan();
    },
    flush() {
      writer.flush();
    },
    snapshot() {
      return [...workers.values()].map((w) => w.snapshot());
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      unsubscribe();
      const all = [...workers.values(), ...retired.values()];
      await Promise.all(all.map((w) => w.stop(options.stopTimeoutMs ?? 10_000)));
      writer.flush();
    },
  };
}
