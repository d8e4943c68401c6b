// Sends one delivery to an http destination (got, keep-alive agents: ./transport.ts) and
// reports what happened as a value; it never throws for network or HTTP
// failures. Auth and the signature are added here, at send time, from the
// current config: they are never stored, and a rotated secret applies to
// queued deliveries too. Redirects are followed only with followRedirects,
// and then credentials and signatures never go to another origin.

import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { resolveDestinationUrl } from '../../route/destination-url.ts';
import { isSecretHeader, redactResponseHeaders, redactText, redactUrl } from '../../log/redact.ts';
import { RELAY_VERSION } from '../../version.ts';
import { signatureHeaderNames, signBody } from '../../formats/sign.ts';
import type { OutgoingDelivery, Sender } from '../kind.ts';
import { createAgents } from './agents.ts';
import { toSendResult, type HttpExchange } from './classify.ts';
import type { HttpDestination } from './config.ts';
import { httpSecrets, redactHttpUrl } from './secrets.ts';
import { createTransport, errorTimings, PHASE_WORDS, timeoutSetting, TransportTimeout, type Transport, type TransportResponse } from './transport.ts';

export type { OutgoingDelivery } from '../kind.ts';
export type { HttpExchange } from './classify.ts';

/** Sends deliveries for one destination over its own connection pools. */
export interface HttpSender extends Sender {
  readonly destination: HttpDestination;
  /** The HTTP exchange itself, unclassified (`relay test` diagnoses it; `onSocket` sees each request's socket). */
  exchange(delivery: OutgoingDelivery, signal?: AbortSignal, onSocket?: (socket: Socket) => void): Promise<HttpExchange>;
  /** Close pooled connections. */
  close(): void;
}

/** Longest response excerpt kept in the attempts log. */
export const EXCERPT_BYTES = 2048;
const MAX_REDIRECTS = 5;
const RELAY_USER_AGENT = `bitbucket-relay/${RELAY_VERSION}`;

/** The Authorization header value of a destination's `auth`, or null. */
function authorization(dest: HttpDestination): string | null {
  if (dest.auth?.bearer) return `Bearer ${dest.auth.bearer}`;
  if (dest.auth?.username !== undefined && dest.auth.password !== undefined) {
    return 'Basic ' + Buffer.from(`${dest.auth.username}:${dest.auth.password}`).toString('base64');
  }
  return null;
}

/**
 * Every header of a request, later layers winning (names compared without
 * case): defaults (content-type, user-agent) < format headers < config
 * `headers` < X-Relay-Delivery < auth < signature.
 */
export function requestHeaders(dest: HttpDestination, delivery: OutgoingDelivery): Record<string, string> {
  const byName = new Map<string, [string, string]>();
  const put = (name: string, value: string): void => void byName.set(name.toLowerCase(), [name, value]);
  put('content-type', 'application/json');
  put('user-agent', RELAY_USER_AGENT);
  for (const k in delivery.headers) put(k, delivery.headers[k]);
  for (const k in dest.headers) put(k, dest.headers[k]);
  put('X-Relay-Delivery', delivery.id);
  const auth = authorization(dest);
  if (auth) put('Authorization', auth);
  if (dest.secret && delivery.signatureHeader) {
    const signature = signBody(dest.secret, delivery.body);
    for (const name of signatureHeaderNames(delivery.signatureHeader)) put(name, signature);
  }
  const out: Record<string, string> = {};
  for (const [name, value] of byName.values()) out[name] = value;
  return out;
}

/** Headers safe to send to another origin after a redirect: no credentials, no signature. */
function crossOriginHeaders(headers: Record<string, string>, signatureHeader: string | null): Record<string, string> {
  const out: Record<string, string> = {};
  const signatures = new Set(signatureHeaderNames(signatureHeader).map((name) => name.toLowerCase()));
  for (const [k, v] of Object.entries(headers)) {
    if (isSecretHeader(k) || signatures.has(k.toLowerCase())) continue;
    out[k] = v;
  }
  return out;
}

/** Create the sender of an http destination (builds its agents; throws DestinationSetupError on unreadable TLS files). */
export function createHttpSender(dest: HttpDestination, options: { env?: NodeJS.ProcessEnv } = {}): HttpSender {
  const agents = createAgents(dest, options.env);
  const secrets = httpSecrets(dest);
  const ctx: SenderContext = {
    dest,
    transport: createTransport({
      agents,
      tls: agents.tls,
      connectTimeoutMs: dest.timeout.connectMs,
      responseTimeoutMs: dest.timeout.responseMs,
      maxBodyBytes: EXCERPT_BYTES,
    }),
    redact: (text) => redactText(text, secrets),
    // Placeholders survive redaction, so the printable URL is filled like the real one.
    printableUrl: redactHttpUrl(dest),
  };
  return {
    destination: dest,
    exchange: (delivery, signal, onSocket) => sendOne(ctx, delivery, signal, onSocket),
    send: async (delivery, signal) => toSendResult(await sendOne(ctx, delivery, signal)),
    close: () => agents.destroy(),
  };
}

interface SenderContext {
  dest: HttpDestination;
  transport: Transport;
  redact: (text: string) => string;
  printableUrl: string;
}

async function sendOne(ctx: SenderContext, delivery: OutgoingDelivery, signal?: AbortSignal, onSocket?: (socket: Socket) => void): Promise<HttpExchange> {
  const { dest, transport, redact } = ctx;
  const started = performance.now();
  const repository = { projectKey: delivery.projectKey, slug: delivery.repoSlug, id: delivery.repoId };
  let redirected = false;
  const printable = (): string => (redirected ? redactUrl(url.toString()) : resolveDestinationUrl(ctx.printableUrl, repository, { forDisplay: true }));
  let url: URL;
  try {
    url = new URL(resolveDestinationUrl(dest.url, repository));
  } catch (err) {
    // A URL this repository cannot fill ({repoId} unknown): a config problem,
    // recorded like a failed attempt so it retries once the url is fixed.
    return { status: null, error: redact((err as Error).message), retryAfter: null, location: null, responseExcerpt: null, latencyMs: 0, url: printable(), timings: null };
  }
  const origin = url.origin;
  let headers = requestHeaders(dest, delivery);
  let method: string = dest.method;
  let body: Buffer | undefined = delivery.body;
  const elapsed = (): number => Math.round(performance.now() - started);
  // timeout.total: the per-phase timeouts reset on every byte, so a body
  // trickled forever would hold the lane; this bounds the whole attempt.
  const deadline = new AttemptDeadline(dest.timeout.totalMs, signal);
  try {
    for (let hop = 0; ; hop++) {
      const res = await request(transport, url, method, headers, body, deadline.signal, onSocket);
      const location = res.headers.location ?? null;
      const redirect = res.status >= 300 && res.status < 400 && location !== null;
      if (redirect && dest.followRedirects && hop < MAX_REDIRECTS) {
        const next = new URL(location, url);
        if (next.origin !== origin) {
          headers = crossOriginHeaders(headers, delivery.signatureHeader);
          // Credentials in the original URL stay with the original host.
          next.username = '';
          next.password = '';
        }
        if (res.status === 303) {
          method = 'GET';
          body = undefined;
          headers = Object.fromEntries(Object.entries(headers).filter(([k]) => !/^content-/i.test(k)));
        }
        url = next;
        redirected = true;
        continue;
      }
      return {
        status: res.status,
        error: null,
        retryAfter: headerText(res.headers['retry-after']),
        location: redirect ? redactUrl(new URL(location, url).toString()) : null,
        responseExcerpt: excerpt(res, redact),
        responseHeaders: redactResponseHeaders(res.headers, redact),
        latencyMs: elapsed(),
        url: printable(),
        timings: res.timings,
      };
    }
  } catch (err) {
    return {
      status: null,
      error: redact(deadline.expired ? `timeout: the attempt took longer than timeout.total ${dest.timeout.totalMs}ms` : describeError(err, dest)),
      retryAfter: null,
      location: null,
      responseExcerpt: null,
      latencyMs: elapsed(),
      url: printable(),
      timings: errorTimings(err),
    };
  } finally {
    deadline.clear();
  }
}

/** An attempt's overall deadline, also following the caller's abort signal (daemon stopping). */
class AttemptDeadline {
  private readonly controller = new AbortController();
  private readonly timer: NodeJS.Timeout;
  private readonly outer: AbortSignal | undefined;
  private readonly onOuterAbort = (): void => this.controller.abort(this.outer?.reason);
  expired = false;
  constructor(ms: number, outer?: AbortSignal) {
    this.outer = outer;
    this.timer = setTimeout(() => {
      this.expired = true;
      this.controller.abort();
    }, ms);
    if (outer?.aborted) this.onOuterAbort();
    else outer?.addEventListener('abort', this.onOuterAbort, { once: true });
  }
  get signal(): AbortSignal {
    return this.controller.signal;
  }
  clear(): void {
    clearTimeout(this.timer);
    this.outer?.removeEventListener('abort', this.onOuterAbort);
  }
}

function request(
  transport: Transport,
  url: URL,
  method: string,
  headers: Record<string, string>,
  body: Buffer | undefined,
  signal: AbortSignal | undefined,
  onSocket: ((socket: Socket) => void) | undefined,
): Promise<TransportResponse> {
  // Credentials in the URL (https://user:pass@host) become Basic auth, as curl does.
  if (url.username && !Object.keys(headers).some((k) => k.toLowerCase() === 'authorization')) {
    headers = { ...headers, authorization: 'Basic ' + Buffer.from(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`).toString('base64') };
  }
  return transport.send({ url, method, headers, body, signal, onSocket });
}

function headerText(v: string | string[] | undefined): string | null {
  if (v === undefined) return null;
  return Array.isArray(v) ? v.join(', ') : v;
}

function excerpt(res: TransportResponse, redact: (text: string) => string): string | null {
  if (res.bodyBytes === 0) return null;
  const text = res.body.toString('utf8');
  return redact(res.bodyBytes > res.body.length ? text + '…' : text);
}

/** One line saying what failed, with the code an operator can search for. */
function describeError(err: unknown, dest: HttpDestination): string {
  if (err instanceof TransportTimeout) {
    const limit = timeoutSetting(err.phase) === 'response' ? `timeout.response ${dest.timeout.responseMs}ms` : `timeout.connect ${dest.timeout.connectMs}ms`;
    return `timeout waiting for ${PHASE_WORDS[err.phase]} (${limit})`;
  }
  const e = err as { name?: string; code?: string; message?: string };
  if (e.name === 'AbortError' || e.code === 'ABORT_ERR' || e.code === 'ERR_ABORTED') return 'aborted (daemon stopping)';
  const code = e.code && !String(e.message).includes(e.code) ? `${e.code}: ` : '';
  return `${code}${e.message ?? String(err)}`;
}
