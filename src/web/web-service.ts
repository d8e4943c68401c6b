// Assembles the web pages inside the daemon from `web.listen` / `web.auth`:
// decides whether they may be served at all (a non-loopback address needs
// auth), and wires the pages to the same control operations the CLI uses
// (status, deliveries, show), so what they print is redacted identically.

import type { RelayConfig } from '../config/config-types.ts';
import { runControlOp, type OpsContext, type ShowResult } from '../admin/control-ops.ts';
import { ControlError } from '../admin/control-protocol.ts';
import { assessStatus, type StatusReport } from '../admin/status-report.ts';
import { parseListen, type ListenAddress } from '../admin/metrics-server.ts';
import { isQueued } from '../destinations/registry.ts';
import type { Log } from '../log/logger.ts';
import type { DeliverySummary } from '../store/index.ts';
import { ChartSeries } from './chart-series.ts';
import { isLoopbackHost, loadWebAuth, type WebAuth } from './web-auth.ts';
import { webHandler, type WebHandler } from './web-server.ts';

/** Why `web.listen` cannot be served, or null when it can; same check for the daemon and `relay config check`. */
export function webConfigProblem(config: RelayConfig): string | null {
  const text = config.web.listen;
  if (text === null) return null;
  const listen = parseListen(text);
  if (!listen) return `web.listen ${JSON.stringify(text)} is not host:port (e.g. 127.0.0.1:9464)`;
  if (!config.web.auth && !isLoopbackHost(listen.host)) {
    return `web.listen ${text} is not a loopback address and web.auth is not set: refusing to serve the status pages to the network without credentials; set web.auth (bearer token or basic user:password in a file) or listen on 127.0.0.1`;
  }
  return null;
}

/** What `relay status` says about the pages: their URL, "off: <why>", or null when web.listen is unset. */
export function webStatusLine(config: RelayConfig): string | null {
  if (config.web.listen === null) return null;
  const problem = webConfigProblem(config);
  if (problem) return `off: ${problem}`;
  return `${webUrl(parseListen(config.web.listen)!)}${config.web.auth ? ` (${config.web.auth.type} auth)` : ''}`;
}

/** The page URL for `listen` (IPv6 in brackets). */
export function webUrl(listen: ListenAddress): string {
  return `http://${listen.host.includes(':') ? `[${listen.host}]` : listen.host}:${listen.port}/`;
}

/** Ready-to-mount web pages. */
export interface WebSetup {
  listen: ListenAddress;
  handler: WebHandler;
  auth: WebAuth | null;
  stop(): void;
}

/** Build the web pages for the daemon; null (with the reason logged) when they are off or refused. */
export function setupWeb(options: { config: () => RelayConfig; context: () => OpsContext; log: Log }): WebSetup | null {
  const { log } = options;
  const config = options.config();
  if (config.web.listen === null) return null;
  const problem = webConfigProblem(config);
  if (problem) {
    log.error(`web pages are off: ${problem}`);
    return null;
  }
  let auth: WebAuth | null = null;
  try {
    auth = config.web.auth ? loadWebAuth(config.web.auth) : null;
  } catch (err) {
    log.error(`web pages are off: ${(err as Error).message}`);
    return null;
  }
  const listen = parseListen(config.web.listen)!;
  const ctx = options.context;
  const charts = new ChartSeries(ctx().store);
  charts.load().catch((err: Error) => log.error('web charts: cannot read the attempts log', { error: err.message }));
  charts.sampleQueue();
  const sampler = setInterval(() => {
    try {
      charts.sampleQueue();
    } catch (err) {
      log.warn('web charts: queue sample failed', { error: (err as Error).message });
    }
  }, 60_000);
  sampler.unref();
  const handler = webHandler(
    {
      node: () => options.config().node,
      report: async () => assessStatus((await runControlOp(ctx(), 'status', {})) as StatusReport),
      deliveries: async (filter) => (await runControlOp(ctx(), 'deliveries', filter)) as DeliverySummary[],
      show: async (id) => {
        try {
          return (await runControlOp(ctx(), 'show', { id })) as ShowResult;
        } catch (err) {
          if (err instanceof ControlError && err.code === 'not-found') return null;
          throw err;
        }
      },
      destinations: () => options.config().destinations.map((d) => d.name),
      horizonMs: (name) => {
        const d = options.config().destinations.find((x) => x.name === name);
        return d && isQueued(d) ? d.retry.horizonMs : null;
      },
      charts,
    },
    { auth, log },
  );
  return { listen, handler, auth, stop: () => clearInterval(sampler) };
}
