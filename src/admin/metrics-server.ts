// `metrics: { listen: 127.0.0.1:9464 }` (off by default): Prometheus text on
// /metrics (src/admin/relay-metrics.ts) and a health answer on /healthz (200 "ok", or 503 with the
// reasons), both built from the same status report as `relay status`.

import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Log } from '../log/logger.ts';
import type { DaemonCounters } from '../daemon/counters.ts';
import type { AttemptStats } from './attempt-stats.ts';
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
  // Loaded here, not at the top: `relay config check` and the web pages use parseListen and need no prom-client.
  const { METRICS_CONTENT_TYPE, RelayMetrics } = await import('./relay-metrics.ts');
  const metrics = new RelayMetrics(options.attempts);
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
    (async () => {
      const report = await options.report();
      if (path === '/metrics') reply(200, METRICS_CONTENT_TYPE, await metrics.render(report, options.counters()));
      else {
        const v = healthOf(report);
        reply(v.healthy ? 200 : 503, 'text/plain; charset=utf-8', v.healthy ? 'ok\n' : `unhealthy\n${v.reasons.map((r) => `- ${r}\n`).join('')}`);
      }
    })().catch((err: Error) => {
      log.error('metrics request failed', { path, error: err.message });
      reply(503, 'text/plain; charset=utf-8', `unhealthy\n- cannot build the status report: ${err.message}\n`);
    });
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
