// The daemon's admin side: the control socket the `relay` CLI talks to and,
// when configured, the metrics server. Neither is allowed to stop delivery:
// if one cannot start, the daemon logs why and keeps relaying (the CLI then
// falls back to reading the store).

import type { LiveWiring } from './wiring-status.ts';
import type { RelayConfig } from '../config/config-types.ts';
import type { DaemonCounters } from '../daemon/counters.ts';
import type { Dispatcher } from '../deliver/dispatcher.ts';
import type { SpoolIntake } from '../intake/spool-intake.ts';
import type { Log } from '../log/logger.ts';
import type { Store } from '../store/index.ts';
import { RELAY_VERSION } from '../version.ts';
import { AttemptStats } from './attempt-stats.ts';
import { runControlOp, type OpsContext } from './control-ops.ts';
import { startControlServer, type ControlServer } from './control-socket.ts';
import { parseListen, startMetricsServer, type MetricsServer } from './metrics-server.ts';
import { collectStatus, type LiveDaemonState, type StatusReport } from './status-report.ts';
import { setupWeb, webUrl } from '../web/web-service.ts';
import { startWebServer, type WebServer } from '../web/web-server.ts';

/** What the admin side reads from the daemon (RelayDaemon satisfies it). */
export interface AdminHost {
  readonly config: RelayConfig;
  readonly store: Store;
  readonly dispatcher: Dispatcher;
  readonly intake?: SpoolIntake;
  readonly counters: DaemonCounters;
  readonly startedAt: number;
  readonly storeFull: boolean;
  readonly log: Log;
  /** Store problems found by the daemon's checks (re-checked on each call). */
  storeProblems?(): string[];
  /** Reconciliation and hook-script facts for status. */
  wiring?(): LiveWiring;
}

/** Running admin services. */
export interface AdminServices {
  readonly control: ControlServer | null;
  readonly metrics: MetricsServer | null;
  stop(): Promise<void>;
}

/** The daemon's live state for status. */
export function liveState(host: AdminHost): LiveDaemonState {
  return {
    pid: process.pid,
    startedAt: host.startedAt,
    version: RELAY_VERSION,
    counters: { ...host.counters },
    storeFull: host.storeFull,
    workers: host.dispatcher.snapshot(),
    intake: host.intake ? host.intake.stats() : null,
    storeProblems: host.storeProblems?.() ?? [],
    wiring: host.wiring?.(),
  };
}

/** Start the control socket and (if `metrics.listen` is set) the metrics server. Never throws. */
export async function startAdminServices(host: AdminHost): Promise<AdminServices> {
  const log = host.log.child({ component: 'admin' });
  const context = (): OpsContext => ({ store: host.store, config: host.config, live: () => liveState(host), log });

  let control: ControlServer | null = null;
  try {
    control = await startControlServer({ path: host.config.admin.socket, handle: (op, args) => runControlOp(context(), op, args), log });
    log.info('control socket listening', { socket: control.path });
  } catch (err) {
    log.error(`control socket not available; \`relay\` commands fall back to reading the store: ${(err as Error).message}`);
  }

  // The web pages share the metrics listener when both name the same address.
  const web = setupWeb({ config: () => host.config, context, log });
  const sharing = web !== null && host.config.web.listen === host.config.metrics.listen;
  let webServer: WebServer | null = null;
  if (web && !sharing) {
    try {
      webServer = await startWebServer(web.listen, web.handler);
      log.info('web pages listening', { url: webUrl(webServer.address), auth: web.auth?.type ?? 'none (loopback)' });
    } catch (err) {
      log.error(`web pages are off: ${(err as Error).message}`);
    }
  }

  let metrics: MetricsServer | null = null;
  const listenText = host.config.metrics.listen;
  if (listenText) {
    const listen = parseListen(listenText);
    if (!listen) {
      log.error(`metrics.listen ${JSON.stringify(listenText)} is not host:port (e.g. 127.0.0.1:9464); metrics are off`);
    } else {
      const attempts = new AttemptStats(host.store);
      const report = async (): Promise<StatusReport> => collectStatus({ config: host.config, store: host.store, live: liveState(host) });
      try {
        metrics = await startMetricsServer({ listen, report, counters: () => ({ ...host.counters }), attempts, log, also: sharing ? web.handler : undefined });
        log.info('metrics listening', { url: `http://${listen.host.includes(':') ? `[${listen.host}]` : listen.host}:${metrics.address.port}/metrics` });
        if (sharing) log.info('web pages listening', { url: webUrl(metrics.address), auth: web.auth?.type ?? 'none (loopback)' });
      } catch (err) {
        log.error(`metrics are off: ${(err as Error).message}`);
      }
    }
  }

  let stopping: Promise<void> | null = null;
  return {
    control,
    metrics,
    stop() {
      web?.stop();
      stopping ??= Promise.all([control?.close(), metrics?.close(), webServer?.close()]).then(() => undefined);
      return stopping;
    },
  };
}
