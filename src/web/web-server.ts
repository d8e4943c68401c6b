// The read-only web pages as one request handler: mounted on the metrics
// listener when `web.listen` equals `metrics.listen`, else on a listener of
// its own. GET/HEAD only; every page is built per request from the same
// sources as the CLI (status report, delivery queries, the `show` operation),
// each with bounded queries.

import http from 'node:http';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import type { ShowResult } from '../admin/control-ops.ts';
import type { StatusReport } from '../admin/status-report.ts';
import { parseDuration } from '../config/units.ts';
import type { Log } from '../log/logger.ts';
import type { DeliveryFilter, DeliverySummary } from '../store/index.ts';
import { ChartSeries, RANGES, type ChartRange } from './chart-series.ts';
import { CHARTS_JS, RELAY_CSS } from './web-assets.ts';
import type { WebAuth } from './web-auth.ts';
import { chartsPage, deliveriesPage, deliveryPage, messagePage, overviewPage, type DeliveriesForm } from './pages.ts';

/** Rows per deliveries page. */
export const PAGE_SIZE = 50;

/** What the pages read; each function answers from the store/daemon, already redacted. */
export interface WebSources {
  node: () => string;
  /** The assessed status report (`relay status`). */
  report: () => Promise<StatusReport>;
  /** Deliveries matching a filter (redacted like `relay deliveries`). */
  deliveries: (filter: DeliveryFilter) => Promise<DeliverySummary[]>;
  /** One delivery as `relay show` gets it; null when unknown. */
  show: (id: string) => Promise<ShowResult | null>;
  /** Configured destination names, for the filter form. */
  destinations: () => string[];
  /** Retry horizon of a configured destination, null when not configured. */
  horizonMs: (destination: string) => number | null;
  charts: ChartSeries;
}

/** Handles one request if it is a web path; false when it is not (the caller answers). */
export type WebHandler = (req: http.IncomingMessage, res: http.ServerResponse) => boolean;

/** Paths the web pages own. */
export function isWebPath(path: string): boolean {
  return path === '/' || path === '/charts' || path === '/deliveries' || path.startsWith('/deliveries/') || path.startsWith('/static/') || path.startsWith('/api/');
}

const UPLOT = (() => {
  const require = createRequire(import.meta.url);
  let js: string | null = null;
  let css: string | null = null;
  return {
    js: () => (js ??= readFileSync(require.resolve('uplot/dist/uPlot.iife.min.js'), 'utf8')),
    css: () => (css ??= readFileSync(require.resolve('uplot/dist/uPlot.min.css'), 'utf8')),
  };
})();

/** Security headers of every answer: nothing from elsewhere, no framing, no caching of possibly private pages. */
const HEADERS = {
  'content-security-policy': "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
};

/** A time from the filter form: "2026-11-30 14:00" / ISO (UTC when no zone), or a duration meaning "that long ago". */
export function parseFormTime(text: string, now: number): number | null {
  const t = text.trim();
  if (!t) return null;
  const ago = parseDuration(t);
  if (ago !== null && /[a-z]$/i.test(t)) return now - ago;
  const iso = /^\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?$/.test(t) ? t.replace(' ', 'T') + (t.length > 10 ? 'Z' : 'T00:00Z') : t;
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? null : ms;
}

/** Form values → store filter; an error message when a value is not understood. */
export function filterFromForm(form: DeliveriesForm, now: number): { filter: DeliveryFilter; error: string | null } {
  const filter: DeliveryFilter = {};
  const errors: string[] = [];
  if (form.destination) filter.destination = form.destination;
  if (form.state === 'failed') filter.failed = true;
  else if (form.state) {
    if (['pending', 'in_flight', 'delivered', 'dead', 'dropped'].includes(form.state)) filter.state = form.state as DeliveryFilter['state'];
    else errors.push(`state "${form.state}" is not one of pending, in_flight, delivered, dead, dropped, failed`);
  }
  if (form.repo) filter.repo = form.repo;
  if (form.trigger) filter.trigger = form.trigger;
  if (form.status) {
    const s = Number(form.status);
    if (Number.isInteger(s) && s >= 100 && s <= 599) filter.status = s;
    else errors.push(`HTTP status "${form.status}" is not a number from 100 to 599`);
  }
  for (const key of ['since', 'until'] as const) {
    if (!form[key]) continue;
    const ms = parseFormTime(form[key], now);
    if (ms === null) errors.push(`"${form[key]}" is not a time: write 2026-11-30 14:00 (UTC) or a duration ago such as 2h`);
    else filter[key] = ms;
  }
  return { filter, error: errors.length ? errors.join('; ') : null };
}

/** The handler for the web paths; `auth` null means no credentials are asked (loopback). */
export function webHandler(src: WebSources, options: { auth: WebAuth | null; log: Log }): WebHandler {
  const { auth, log } = options;
  return (req, res) => {
    const url = new URL(req.url ?? '/', 'http://relay.invalid');
    const path = url.pathname;
    if (!isWebPath(path)) return false;
    const reply = (status: number, type: string, body: string | Buffer, extra: Record<string, string> = {}): void => {
      res.writeHead(status, { ...HEADERS, 'content-type': type, ...extra });
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    const html = (status: number, body: string): void => reply(status, 'text/html; charset=utf-8', body);
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      reply(405, 'text/plain; charset=utf-8', 'read-only: GET and HEAD only\n', { allow: 'GET, HEAD' });
      return true;
    }
    if (auth && !auth.allows(req.headers.authorization)) {
      reply(401, 'text/plain; charset=utf-8', 'authentication required (web.auth)\n', { 'www-authenticate': auth.challenge });
      return true;
    }
    const started = performance.now();
    route(src, url, reply, html).then(
      () => log.debug('web request', { path, ms: Math.round(performance.now() - started) }),
      (err: Error) => {
        log.error('web request failed', { path, error: err.message });
        if (!res.headersSent) html(500, messagePage('Error', `the page could not be built: ${err.message}`, src.node()));
        else res.destroy();
      },
    );
    return true;
  };
}

type Reply = (status: number, type: string, body: string | Buffer, extra?: Record<string, string>) => void;

async function route(src: WebSources, url: URL, reply: Reply, html: (status: number, body: string) => void): Promise<void> {
  const path = url.pathname;
  const q = (k: string): string => (url.searchParams.get(k) ?? '').trim();
  const node = src.node();
  const now = Date.now();
  const json = (body: unknown): void => reply(200, 'application/json; charset=utf-8', JSON.stringify(body));
  switch (path) {
    case '/':
      return html(200, overviewPage(await src.report(), { node }));
    case '/api/status':
      return json(await src.report());
    case '/charts':
    case '/api/charts': {
      const range = (q('range') || '1h') as ChartRange;
      if (!(range in RANGES)) return html(400, messagePage('Bad range', `range must be one of ${Object.keys(RANGES).join(', ')}`, node));
      if (path === '/charts') return html(200, chartsPage(range, { node }));
      return json(src.charts.data(range, src.destinations()));
    }
    case '/deliveries': {
      const form: DeliveriesForm = { destination: q('destination'), state: q('state'), repo: q('repo'), trigger: q('trigger'), status: q('status'), since: q('since'), until: q('until') };
      const { filter, error } = filterFromForm(form, now);
      const before = q('before') || undefined;
      // One row more than shown says whether an older page exists.
      const rows = error ? [] : await src.deliveries({ ...filter, before, limit: PAGE_SIZE + 1 });
      const list = rows.slice(0, PAGE_SIZE);
      const nextBefore = rows.length > PAGE_SIZE ? list[list.length - 1].id : null;
      return html(error ? 400 : 200, deliveriesPage(list, form, { node, destinations: src.destinations(), nextBefore, error, now }));
    }
    case '/static/relay.css':
      return reply(200, 'text/css; charset=utf-8', RELAY_CSS);
    case '/static/charts.js':
      return reply(200, 'text/javascript; charset=utf-8', CHARTS_JS);
    case '/static/uPlot.iife.min.js':
      return reply(200, 'text/javascript; charset=utf-8', UPLOT.js());
    case '/static/uPlot.min.css':
      return reply(200, 'text/css; charset=utf-8', UPLOT.css());
  }
  if (path.startsWith('/deliveries/')) {
    const id = decodeURIComponent(path.slice('/deliveries/'.length));
    const r = /^[0-9a-z-]{4,80}$/i.test(id) ? await src.show(id) : null;
    if (!r) return html(404, messagePage('No such delivery', `no delivery with id "${id}" (it may have been pruned by retention)`, node));
    return html(200, deliveryPage(r, { node, now, horizonMs: src.horizonMs(r.delivery.destination) }));
  }
  html(404, messagePage('Not found', `nothing at ${path}`, node));
}

/** A web listener of its own (when web.listen differs from metrics.listen). */
export interface WebServer {
  readonly address: { host: string; port: number };
  close(): Promise<void>;
}

/** Listen on `listen` and answer with `handler` (404 for other paths). */
export async function startWebServer(listen: { host: string; port: number }, handler: WebHandler): Promise<WebServer> {
  const server = http.createServer((req, res) => {
    if (!handler(req, res)) res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('not found\n');
  });
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      const hint = err.code === 'EADDRINUSE' ? 'another process uses that port' : err.code === 'EADDRNOTAVAIL' ? 'no local interface has that address' : err.code === 'EACCES' ? 'ports below 1024 need privileges' : 'check web.listen';
      reject(new Error(`cannot listen on web.listen ${listen.host}:${listen.port} (${err.code}): ${hint}`));
    });
    server.listen(listen.port, listen.host, () => resolve());
  });
  const addr = server.address() as AddressInfo;
  return {
    address: { host: listen.host, port: addr.port },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
