// Keep-alive connection pools for one destination, with its TLS material and
// proxy. Proxying uses Node's built-in agent proxy support (`proxyEnv`,
// Node ≥ 24.5): CONNECT tunnels for https targets, absolute-form requests for
// http targets, credentials from the proxy URL — no extra dependency.
// proxyFor() only names the proxy for status and logs; Node decides the
// route. Kept rather than proxy-from-env (issue 14): that package reads
// process.env only, while a destination's own `proxy` must win over it.

import http from 'node:http';
import https from 'node:https';
import { DestinationSetupError } from '../kind.ts';
import { readTlsMaterial } from '../tls-config.ts';
import type { HttpDestination } from './config.ts';

/** The pools a destination's requests go through. */
export interface DestinationAgents {
  http: http.Agent;
  https: https.Agent;
  /** TLS options also passed per request (got's https options). */
  tls: { ca?: (string | Buffer)[]; cert?: Buffer; key?: Buffer; rejectUnauthorized: boolean };
  /** The proxy in use, redaction left to the caller; null for direct. */
  proxy: string | null;
  destroy(): void;
}

const PROXY_VARS = ['HTTP_PROXY', 'http_proxy', 'HTTPS_PROXY', 'https_proxy', 'NO_PROXY', 'no_proxy'] as const;

/** The proxy settings for a destination: its own `proxy` wins (for every host), else the environment's. */
export function proxyEnvFor(dest: Pick<HttpDestination, 'proxy'>, env: NodeJS.ProcessEnv = process.env): Record<string, string> | undefined {
  if (dest.proxy) return { HTTP_PROXY: dest.proxy, HTTPS_PROXY: dest.proxy };
  const out: Record<string, string> = {};
  for (const k of PROXY_VARS) if (env[k]) out[k] = env[k]!;
  return out.HTTP_PROXY || out.http_proxy || out.HTTPS_PROXY || out.https_proxy ? out : undefined;
}

/** Which proxy URL a request to `url` would use under `proxyEnv`, or null (for status and logs). */
export function proxyFor(url: string, proxyEnv: Record<string, string> | undefined): string | null {
  if (!proxyEnv) return null;
  const u = new URL(url);
  const proxy = u.protocol === 'https:' ? proxyEnv.https_proxy ?? proxyEnv.HTTPS_PROXY : proxyEnv.http_proxy ?? proxyEnv.HTTP_PROXY;
  if (!proxy) return null;
  const noProxy = (proxyEnv.no_proxy ?? proxyEnv.NO_PROXY ?? '').split(/[\s,]+/).filter(Boolean);
  const host = u.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  for (const entry of noProxy) {
    if (entry === '*') return null;
    const name = entry.toLowerCase().replace(/^\*?\.?/, '').replace(/:\d+$/, '');
    if (host === name || host.endsWith('.' + name)) return null;
  }
  return proxy;
}

/** Build the keep-alive agents of a destination (reads tls.ca/cert/key files). */
export function createAgents(dest: HttpDestination, env: NodeJS.ProcessEnv = process.env): DestinationAgents {
  const tlsOptions = readTlsMaterial(dest.tls, dest.name);
  const proxyEnv = proxyEnvFor(dest, env);
  const pool = { keepAlive: true, maxSockets: dest.concurrency, maxFreeSockets: dest.concurrency };
  let httpAgent: http.Agent;
  let httpsAgent: https.Agent;
  try {
    httpAgent = new http.Agent({ ...pool, proxyEnv });
    httpsAgent = new https.Agent({ ...pool, ...tlsOptions, proxyEnv });
  } catch (err) {
    throw new DestinationSetupError(`destination ${dest.name}: cannot use proxy settings (${(err as Error).message}); check proxy / HTTPS_PROXY / HTTP_PROXY`);
  }
  return {
    http: httpAgent,
    https: httpsAgent,
    tls: tlsOptions,
    proxy: proxyFor(dest.url.replace(/\{(\w+)\}/g, 'x'), proxyEnv),
    destroy() {
      httpAgent.destroy();
      httpsAgent.destroy();
    },
  };
}
