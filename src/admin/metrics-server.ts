// `metrics: { listen: 127.0.0.1:9464 }` (off by default): Prometheus text on
// /metrics and a health answer on /healthz (200 "ok", or 503 with the
// reasons), both built from the same status report as `relay status`.

import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Log } from '../log/logger.ts';
import { RELAY_VERSION } from '../version.ts';
import type { DaemonCounters } from '../daemon/relay-daemon.ts';
import { LATENCY_BUCKETS, type AttemptStats } from './attempt-stats.ts';
import { MetricsText } from './metrics-text.ts';
import type { StatusReport } from './status-report.ts';
import { formatDuration } from '../config/units.ts';

/** Where the metrics server listens. */
export interface ListenAddress {
  host: string;
  port: number;
}

/** Parse `metrics.listen` ("127.0.0.1:9464", "[::1]:9464", "localhost:9464"); null when malformed. */
export function parseListen(text: string): ListenAddress | null {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\s[\]]+)):(\d{1,5})$/.exec(text.trim());
  if (!m) return null;
  const port = Number(m[3]);
  if (port < 1 || port > 65535) return null;
  return { host: m[1] ?? m[2], port };
}

/** What one /healthz answer says. */
export interface HealthVerdict {
  healthy: boolean;
  reasons: string[];
}

/** Whether the daemon can do its job: take pushes and store them. Destination trouble (dead letters, open circuits) is in /metrics and `relay status`, not here. */
export function healthOf(report: StatusReport, maxBacklogAgeMs: number = 5 * 60_000): HealthVerdict {
  const reasons: string[] = [];
  if (report.store.error) reasons.push(report.store.error);
  if (report.store.full) reasons.push('store is full: intake paused (store.maxBytes)');
  if (report.intake.error) reasons.push(report.intake.error);
  if (report.intake.stuck > 0) reasons.push(`${report.intake.stuck} spool entries stuck`);
  if (report.intake.oldestAgeMs !== null && report.intake.oldestAgeMs > maxBacklogAgeMs) {
    reasons.push(`spool backlog of ${report.intake.backlog}, oldest ${formatDuration(report.intake.oldestAgeMs)}`);
  }
  return { healthy: reasons.length === 0, reasons };
}

/** Everything /metrics reports, from one status report, the daemon counters and the attempts log. */
export function renderMetrics(report: StatusReport, counters: DaemonCounters | null, attempts: AttemptStats | null): string {
  const m = new MetricsText();
  const dests = report.destinations;
  const per = (pick: (d: StatusReport['destinations'][number]) => number) => dests.map((d) => ({ labels: { destination: d.name }, value: pick(d) }));
  const seconds = (ms: number | null): number => (ms === null ? 0 : ms / 1000);
  m.gauge('relay_build_info', 'Version of the running relay (value is always 1).', [{ labels: { version: RELAY_VERSION }, value: 1 }]);
  if (report.daemon.startedAt) m.gauge('relay_start_time_seconds', 'When the daemon started (Unix time).', [{ value: Date.parse(report.daemon.startedAt) / 1000 }]);
  if (counters) {
    m.counter('relay_events_total', 'Push events analyzed and stored since start.', [{ value: counters.events }]);
    m.counter('relay_events_unmatched_total', 'Events no destination took (match filters) since start.', [{ value: counters.unmatched }]);
    m.counter('relay_analysis_errors_total', 'Events analyzed with errors (e.g. pruned objects) since start.', [{ value: counters.analysisErrors }]);
    m.counter('relay_spool_record_failures_total', 'Spool records that failed and will be retried, since start.', [{ value: counters.recordFailures }]);
    m.counter('relay_config_reloads_total', 'Config reloads since start, by result.', [
      { labels: { result: 'ok' }, value: counters.reloads },
      { labels: { result: 'rejected' }, value: counters.reloadFailures },
    ]);
  }
  if (attempts) {
    attempts.update();
    m.counter('relay_deliveries_total', 'Delivery attempts since start, by destination and outcome (delivered, retry, dead).',
      attempts.outcomes(dests.filter((d) => d.type === 'http').map((d) => d.name)).map((s) => ({ labels: { destination: s.destination, outcome: s.outcome }, value: s.value })));
    m.histogram('relay_attempt_duration_seconds', 'Duration of delivery attempts (request to response or error).', LATENCY_BUCKETS, attempts.latency());
  }
  m.gauge('relay_queue_depth', 'Deliveries queued (pending or in flight) per destination.', per((d) => d.queued));
  m.gauge('relay_queue_oldest_pending_age_seconds', 'Age of the oldest queued delivery per destination (0 when none).', per((d) => seconds(d.oldestPendingAgeMs)));
  m.gauge('relay_dead_letters', 'Dead letters waiting for `relay dlq retry` or `drop`, per destination.', per((d) => d.dead));
  m.gauge('relay_destination_circuit_open', 'Circuit breaker open (1) or closed (0), per destination.', per((d) => (d.state === 'circuit-open' ? 1 : 0)));
  m.gauge('relay_destination_paused', 'Paused by an operator (1) or not (0), per destination.', per((d) => (d.state === 'paused' ? 1 : 0)));
  m.gauge('relay_spool_backlog', 'Spool records waiting to be processed.', [{ value: report.intake.backlog }]);
  m.gauge('relay_spool_oldest_age_seconds', 'Age of the oldest waiting spool record (0 when none).', [{ value: seconds(report.intake.oldestAgeMs) }]);
  m.gauge('relay_spool_quarantined', 'Spool records in quarantine.', [{ value: report.intake.quarantined }]);
  if (report.store.bytes !== null) m.gauge('relay_store_bytes', 'Live size of the store (pages in use plus WAL).', [{ value: report.store.bytes }]);
  m.gauge('relay_store_max_bytes', 'store.maxBytes: at this size intake pauses.', [{ value: report.store.maxBytes }]);
  m.gauge('relay_store_full', 'Store at its size bound (1): intake paused.', [{ value: report.store.full ? 1 : 0 }]);
  return m.toString();
}

/** Options of startMetricsServer. */
export interface MetricsServerOptions {
  listen: ListenAddress;
  /** A fresh status report per request. */
  report: () => Promise<StatusReport>;
  counters: () => DaemonCounters | null;
  attempts: AttemptStats | null;
  log: Log;
  /** Other paths on the same listener (the web pages): returns false when it does not handle the request. */
  also?: (req: http.IncomingMessage, res: http.ServerResponse) => boolean;
}

/** A listening metrics server. */
export interface MetricsServer {
  /** Actual address (port resolved when 0 was asked for). */
  readonly address: ListenAddress;
  close(): Promise<void>;
}

/** Listen for /metrics and /healthz. Rejects with an operator-facing message when the address cannot be used. */
export async function startMetricsServer(options: MetricsServerOptions): Promise<MetricsServer> {
  const { log } = options;
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/metrics' && path !== '/healthz' && options.also?.(req, res)) return;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('method not allowed\n');
      return;
    }
    const reply = (status: number, type: string, body: string): void => {
      res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    if (path !== '/metrics' && path !== '/healthz') {
      reply(404, 'text/plain; charset=utf-8', 'not found: try /metrics or /healthz\n');
      return;
    }
    options.report().then(
      (report) => {
        if (path === '/metrics') reply(200, 'text/plain; version=0.0.4; charset=utf-8', renderMetrics(report, options.counters(), options.attempts));
        else {
          const v = healthOf(report);
          reply(v.healthy ? 200 : 503, 'text/plain; charset=utf-8', v.healthy ? 'ok\n' : `unhealthy\n${v.reasons.map((r) => `- ${r}\n`).join('')}`);
        }
      },
      (err: Error) => {
        log.error('metrics request failed', { path, error: err.message });
        reply(503, 'text/plain; charset=utf-8', `unhealthy\n- cannot build the status report: ${err.message}\n`);
      },
    );
  });
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      const hint = err.code === 'EADDRINUSE' ? 'another process uses that port' : err.code === 'EADDRNOTAVAIL' ? 'no local interface has that address' : err.code === 'EACCES' ? 'ports below 1024 need privileges' : 'check metrics.listen';
      reject(new Error(`cannot listen on metrics.listen ${options.listen.host}:${options.listen.port} (${err.code}): ${hint}`));
    });
    server.listen(options.listen.port, options.listen.host, () => resolve());
  });
  const addr = server.address() as AddressInfo;
  return {
    address: { host: options.listen.host, port: addr.port },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
