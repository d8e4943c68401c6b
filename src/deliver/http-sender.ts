// Sends one delivery to an http destination (got, keep-alive agents) and
// reports what happened as a value; it never throws for network or HTTP
// failures. Auth and the signature are added here, at send time, from the
// current config: they are never stored, and a rotated secret applies to
// queued deliveries too. Redirects are followed only with followRedirects,
// and then credentials and signatures never go to another origin.

import got, { type Response } from 'got';
import { createHmac } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { HttpDestination } from '../config/config-types.ts';
import { destinationSecrets, isSecretHeader, redactText, redactUrl } from '../log/redact.ts';
import { RELAY_VERSION } from '../version.ts';
import { createAgents, type DestinationAgents } from './agents.ts';

/** The request to send: a queued delivery's stored parts plus its repository for URL placeholders. */
export interface OutgoingDelivery {
  id: string;
  headers: Record<string, string>;
  body: Buffer;
  signatureHeader: string | null;
  projectKey: string;
  repoSlug: string;
  repoId: number | null;
}

/** What one attempt produced. Text fields are redacted. */
export interface SendResult {
  /** HTTP status of the final response, or null when none arrived. */
  status: number | null;
  /** Network error / timeout text, or null. */
  error: string | null;
  retryAfter: string | null;
  /** Location of a 3xx that was not followed. */
  location: string | null;
  /** First ≤ 2 KiB of the response body. */
  responseExcerpt: string | null;
  latencyMs: number;
  /** URL of the (last) request. */
  url: string;
}

/** Sends deliveries for one destination over its own connection pools. */
export interface HttpSender {
  readonly destination: HttpDestination;
  send(delivery: OutgoingDelivery, signal?: AbortSignal): Promise<SendResult>;
  /** Close pooled connections. */
  close(): void;
}

/** Longest response excerpt kept in the attempts log. */
export const EXCERPT_BYTES = 2048;
const MAX_REDIRECTS = 5;
const RELAY_USER_AGENT = `bitbucket-relay/${RELAY_VERSION}`;

/** The destination URL with {projectKey}, {repoSlug} and {repoId} filled in (URL-encoded). */
export function destinationUrl(template: string, repo: { projectKey: string; repoSlug: string; repoId: number | null }): string {
  const values: Record<string, string> = {
    projectKey: repo.projectKey,
    repoSlug: repo.repoSlug,
    repoId: repo.repoId === null ? '' : String(repo.repoId),
  };
  return template.replace(/\{(projectKey|repoSlug|repoId)\}/g, (_m, k: string) => encodeURIComponent(values[k]));
}

/** `sha256=<hex HMAC-SHA256 of the exact body bytes>` (Bitbucket DC / GitHub scheme). */
export function signatureValue(secret: string, body: Uint8Array): string {
  return 'sha256=' + createHmac('sha256', secret).update(body).digest('hex');
}

/** Set a header, replacing any spelling of the same name. */
function setHeader(headers: Record<string, string>, name: string, value: string): void {
  const lower = name.toLowerCase();
  for (const k of Object.keys(headers)) if (k.toLowerCase() === lower) delete headers[k];
  headers[name] = value;
}

/**
 * Every header of a request, later layers winning: defaults (content-type,
 * user-agent) < format headers < config `headers` < X-Relay-Delivery < auth < signature.
 */
export function requestHeaders(dest: HttpDestination, delivery: OutgoingDelivery): Record<string, string> {
  const headers: Record<string, string> = { 'content-type': 'application/json', 'user-agent': RELAY_USER_AGENT };
  for (const layer of [delivery.headers, dest.headers]) for (const [k, v] of Object.entries(layer)) setHeader(headers, k, v);
  setHeader(headers, 'X-Relay-Delivery', delivery.id);
  if (dest.auth?.bearer) setHeader(headers, 'Authorization', `Bearer ${dest.auth.bearer}`);
  else if (dest.auth?.username !== undefined && dest.auth.password !== undefined) {
    setHeader(headers, 'Authorization', 'Basic ' + Buffer.from(`${dest.auth.username}:${dest.auth.password}`).toString('base64'));
  }
  if (dest.secret && delivery.signatureHeader) setHeader(headers, delivery.signatureHeader, signatureValue(dest.secret, delivery.body));
  return headers;
}

/** Headers safe to send to another origin after a redirect: no credentials, no signature. */
export function crossOriginHeaders(headers: Record<string, string>, signatureHeader: string | null): Record<string, string> {
  const out: Record<string, string> = {};
  const sig = signatureHeader?.toLowerCase();
  for (const [k, v] of Object.entries(headers)) {
    if (isSecretHeader(k) || k.toLowerCase() === sig) continue;
    out[k] = v;
  }
  return out;
}

/** Create the sender of a destination (builds its agents; throws DestinationSetupError on unreadable TLS files). */
export function createHttpSender(dest: HttpDestination, options: { env?: NodeJS.ProcessEnv } = {}): HttpSender {
  const agents = createAgents(dest, options.env);
  const secrets = destinationSecrets(dest);
  const redact = (text: string): string => redactText(text, secrets);
  return {
    destination: dest,
    send: (delivery, signal) => sendOne(dest, agents, delivery, redact, signal),
    close: () => agents.destroy(),
  };
}

async function sendOne(
  dest: HttpDestination,
  agents: DestinationAgents,
  delivery: OutgoingDelivery,
  redact: (text: string) => string,
  signal?: AbortSignal,
): Promise<SendResult> {
  const started = performance.now();
  let url = new URL(destinationUrl(dest.url, delivery));
  const origin = url.origin;
  let headers = requestHeaders(dest, delivery);
  let method: string = dest.method;
  let body: Buffer | undefined = delivery.body;
  const elapsed = (): number => Math.round(performance.now() - started);
  try {
    for (let hop = 0; ; hop++) {
      const res = await request(dest, agents, url, method, headers, body, signal);
      const location = res.headers.location ?? null;
      const redirect = res.statusCode >= 300 && res.statusCode < 400 && location !== null;
      if (redirect && dest.followRedirects && hop < MAX_REDIRECTS) {
        const next = new URL(location, url);
        if (next.origin !== origin) {
          headers = crossOriginHeaders(headers, delivery.signatureHeader);
          // Credentials in the original URL stay with the original host.
          next.username = '';
          next.password = '';
        }
        if (res.statusCode === 303) {
          method = 'GET';
          body = undefined;
          headers = Object.fromEntries(Object.entries(headers).filter(([k]) => !/^content-/i.test(k)));
        }
        url = next;
        continue;
      }
      return {
        status: res.statusCode,
        error: null,
        retryAfter: headerText(res.headers['retry-after']),
        location: redirect ? redactUrl(new URL(location, url).toString()) : null,
        responseExcerpt: excerpt(res.rawBody, redact),
        latencyMs: elapsed(),
        url: redactUrl(url.toString()),
      };
    }
  } catch (err) {
    return {
      status: null,
      error: redact(describeError(err, dest)),
      retryAfter: null,
      location: null,
      responseExcerpt: null,
      latencyMs: elapsed(),
      url: redactUrl(url.toString()),
    };
  }
}

function request(
  dest: HttpDestination,
  agents: DestinationAgents,
  url: URL,
  method: string,
  headers: Record<string, string>,
  body: Buffer | undefined,
  signal: AbortSignal | undefined,
): Promise<Response<Uint8Array>> {
  const { connectMs, responseMs } = dest.timeout;
  return got(url, {
    method: method as 'POST',
    headers,
    body,
    agent: { http: agents.http, https: agents.https },
    https: {
      rejectUnauthorized: agents.tls.rejectUnauthorized,
      certificateAuthority: agents.tls.ca,
      certificate: agents.tls.cert,
      key: agents.tls.key,
    },
    // connect/secureConnect bound reaching the host; response bounds the wait
    // for the status line; request is a backstop for a trickling body.
    timeout: { connect: connectMs, secureConnect: connectMs, response: responseMs, request: connectMs + 2 * responseMs },
    retry: { limit: 0 },
    throwHttpErrors: false,
    followRedirect: false,
    responseType: 'buffer',
    signal,
  }) as unknown as Promise<Response<Uint8Array>>;
}

function headerText(v: string | string[] | undefined): string | null {
  if (v === undefined) return null;
  return Array.isArray(v) ? v.join(', ') : v;
}

function excerpt(raw: Uint8Array | undefined, redact: (text: string) => string): string | null {
  if (!raw || raw.length === 0) return null;
  const text = Buffer.from(raw.buffer, raw.byteOffset, Math.min(raw.byteLength, EXCERPT_BYTES)).toString('utf8');
  return redact(raw.length > EXCERPT_BYTES ? text + '…' : text);
}

/** One line saying what failed, with the code an operator can search for. */
function describeError(err: unknown, dest: HttpDestination): string {
  const e = err as { name?: string; code?: string; message?: string; timings?: unknown; event?: string };
  if (e.name === 'TimeoutError') {
    const phase = e.event ?? 'request';
    const limit = phase === 'connect' || phase === 'secureConnect' ? `timeout.connect ${dest.timeout.connectMs}ms` : `timeout.response ${dest.timeout.responseMs}ms`;
    return `timeout waiting for ${phase} (${limit})`;
  }
  if (e.name === 'AbortError' || e.code === 'ERR_ABORTED') return 'aborted (daemon stopping)';
  const code = e.code && !String(e.message).includes(e.code) ? `${e.code}: ` : '';
  return `${code}${e.message ?? String(err)}`;
}
