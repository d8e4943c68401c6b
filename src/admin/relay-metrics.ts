// The /metrics registry, built on prom-client: the relay's families (names
// and labels are a contract, docs/operations.md) plus prom-client's default
// process and Node runtime metrics (process_resident_memory_bytes, event-loop
// lag, GC). Attempt counters and the latency histogram live as long as the
// server and grow as the attempts log grows; everything read from the status
// report is rebuilt per scrape in a throw-away registry, so a family that has
// no value (no start time, unknown store size) is left out, not reported as 0.

import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { RELAY_VERSION } from '../version.ts';
import { isQueuedType } from '../destinations/registry.ts';
import type { DaemonCounters } from '../daemon/counters.ts';
import { LATENCY_BUCKETS, type AttemptStats } from './attempt-stats.ts';
import type { StatusReport } from './status-report.ts';

/** Content-Type of the exposition (text format 0.0.4). */
export const METRICS_CONTENT_TYPE = Registry.PROMETHEUS_CONTENT_TYPE;

type Samples = { labels?: Record<string, string>; value: number }[];

/** The metrics one daemon exports; one instance per metrics server. */
export class RelayMetrics {
  private readonly lasting = new Registry();
  private readonly attempts: AttemptStats | null;
  private readonly deliveries: Counter<'destination' | 'outcome'>;
  private readonly duration: Histogram<'destination'>;

  constructor(attempts: AttemptStats | null) {
    this.attempts = attempts;
    collectDefaultMetrics({ register: this.lasting });
    this.deliveries = new Counter({
      name: 'relay_deliveries_total',
      help: 'Delivery attempts since start, by destination and outcome (delivered, retry, dead).',
      labelNames: ['destination', 'outcome'],
      registers: [this.lasting],
    });
    this.duration = new Histogram({
      name: 'relay_attempt_duration_seconds',
      help: 'Duration of delivery attempts (request to response or error).',
      labelNames: ['destination'],
      buckets: [...LATENCY_BUCKETS],
      registers: [this.lasting],
    });
  }

  /** The exposition text for one scrape. */
  async render(report: StatusReport, counters: DaemonCounters | null): Promise<string> {
    if (this.attempts) {
      this.attempts.update((destination, outcome, seconds) => {
        this.deliveries.inc({ destination, outcome });
        this.duration.observe({ destination }, seconds);
      });
      // Every queued destination shows all three outcomes, 0 until it has attempts.
      for (const d of report.destinations) {
        if (isQueuedType(d.type)) for (const outcome of ['delivered', 'retry', 'dead']) this.deliveries.inc({ destination: d.name, outcome }, 0);
      }
    }
    const scrape = new Registry();
    const family = (Kind: typeof Gauge | typeof Counter, name: string, help: string, samples: Samples, labelNames = Object.keys(samples[0]?.labels ?? {})): void => {
      const metric = new Kind({ name, help, labelNames, registers: [scrape] });
      for (const s of samples) {
        if (metric instanceof Gauge) metric.set(s.labels ?? {}, s.value);
        else metric.inc(s.labels ?? {}, s.value);
      }
    };
    const gauge = (name: string, help: string, samples: Samples, labelNames?: string[]) => family(Gauge, name, help, samples, labelNames);
    const counter = (name: string, help: string, samples: Samples) => family(Counter, name, help, samples);
    const dests = report.destinations;
    const per = (pick: (d: StatusReport['destinations'][number]) => number): Samples => dests.map((d) => ({ labels: { destination: d.name }, value: pick(d) }));
    const DEST = ['destination'];
    const seconds = (ms: number | null): number => (ms === null ? 0 : ms / 1000);

    gauge('relay_build_info', 'Version of the running relay (value is always 1).', [{ labels: { version: RELAY_VERSION }, value: 1 }]);
    if (report.daemon.startedAt) gauge('relay_start_time_seconds', 'When the daemon started (Unix time).', [{ value: Date.parse(report.daemon.startedAt) / 1000 }]);
    if (counters) {
      counter('relay_events_total', 'Push events analyzed and stored since start.', [{ value: counters.events }]);
      counter('relay_events_unmatched_total', 'Events no destination took (match filters) since start.', [{ value: counters.unmatched }]);
      counter('relay_analysis_errors_total', 'Events analyzed with errors (e.g. pruned objects) since start.', [{ value: counters.analysisErrors }]);
      counter('relay_spool_record_failures_total', 'Spool records that failed and will be retried, since start.', [{ value: counters.recordFailures }]);
      counter('relay_config_reloads_total', 'Config reloads since start, by result.', [
        { labels: { result: 'ok' }, value: counters.reloads },
        { labels: { result: 'rejected' }, value: counters.reloadFailures },
      ]);
    }
    gauge('relay_queue_depth', 'Deliveries queued (pending or in flight) per destination.', per((d) => d.queued), DEST);
    gauge('relay_queue_oldest_pending_age_seconds', 'Age of the oldest queued delivery per destination (0 when none).', per((d) => seconds(d.oldestPendingAgeMs)), DEST);
    gauge('relay_dead_letters', 'Dead letters waiting for `relay dlq retry` or `drop`, per destination.', per((d) => d.dead), DEST);
    gauge('relay_destination_circuit_open', 'Circuit breaker open (1) or closed (0), per destination.', per((d) => (d.state === 'circuit-open' ? 1 : 0)), DEST);
    gauge('relay_destination_paused', 'Paused by an operator (1) or not (0), per destination.', per((d) => (d.state === 'paused' ? 1 : 0)), DEST);
    gauge('relay_spool_backlog', 'Spool records waiting to be processed.', [{ value: report.intake.backlog }]);
    gauge('relay_spool_oldest_age_seconds', 'Age of the oldest waiting spool record (0 when none).', [{ value: seconds(report.intake.oldestAgeMs) }]);
    gauge('relay_spool_quarantined', 'Spool records in quarantine.', [{ value: report.intake.quarantined }]);
    if (report.store.bytes !== null) gauge('relay_store_bytes', 'Live size of the store (pages in use plus WAL).', [{ value: report.store.bytes }]);
    gauge('relay_store_max_bytes', 'store.maxBytes: at this size intake pauses.', [{ value: report.store.maxBytes }]);
    gauge('relay_store_full', 'Store at its size bound (1): intake paused.', [{ value: report.store.full ? 1 : 0 }]);
    const rc = report.wiring?.reconcile;
    if (rc?.reconciledSinceStart !== null && rc?.reconciledSinceStart !== undefined) counter('relay_reconciled_ref_changes_total', 'Ref changes no hook reported, relayed as reconciled events (since start).', [{ value: rc.reconciledSinceStart }]);
    if (rc?.lastSweepMs !== null && rc?.lastSweepMs !== undefined) gauge('relay_reconcile_sweep_duration_seconds', 'Duration of the last reconciliation sweep.', [{ value: rc.lastSweepMs / 1000 }]);
    // The wiring, for alerts that must tell a removed hook (changes still happen, only reconciliation sees them) from silence.
    const changes = report.wiring?.refChangesSinceStart;
    if (changes) {
      counter('relay_ref_changes_total', 'Ref updates relayed since start, by who reported them: hook (file hook), hook_script (Bitbucket hook script), reconciled (no hook did).', [
        { labels: { source: 'hook' }, value: changes.hook },
        { labels: { source: 'hook_script' }, value: changes.hookScript },
        { labels: { source: 'reconciled' }, value: changes.reconciled },
      ]);
    }
    if (report.wiring) {
      gauge('relay_reconciled_only_repositories', 'Repositories with ref changes in the last 24 h that only reconciliation reported: their hook wiring is missing (relay hooks verify).', [{ value: report.wiring.reconciledOnly.length }]);
    }
    return Registry.merge([scrape, this.lasting]).metrics();
  }
}
