// HTTP delivery's transport (and `relay test`'s): one HTTP(S) exchange on
// got 16, configured down to what a webhook sender needs: the destination's
// keep-alive agents (proxy and TLS set up in ./agents.ts), no retries (the
// durable queue owns them), no redirects (the sender follows them itself so
// credentials never cross origins), no decompression, no cache, HTTP/1.1
// only, per-phase timeouts mapped from the config, and got's `timings` for
// each attempt's DNS / TCP / TLS / first byte / total.
//
// One got instance per destination (`got.extend` once, not per request). The
// stream interface: we keep only the first maxBodyBytes of the response and
// read the rest into the void, so the keep-alive connection stays reusable
// and a huge answer never sits in memory (responseType 'buffer' would hold it
// all). Why the body is written through the stream and why got is given its
// own `request` function: see createTransport(). What got costs beside a
// plain node:http transport (test/bench/peers/node-http-transport.ts): `npm
// run bench -- drain`, docs/benchmarks.md.

import type { Got, Timings } from 'got';
import http from 'node:http';
import https from 'node:https';
import type { Socket } from 'node:net';
import type { AttemptTimings } from '../timings.ts';

/** What came back. */
export interface TransportResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  /** The first maxBodyBytes of the body. */
  body: Buffer;
  /** Total body bytes received. */
  bodyBytes: number;
  timings: AttemptTimings | null;
}

/** The phase a request ran out of time in (got's names). */
export type TimeoutPhase = 'lookup' | 'connect' | 'secureConnect' | 'send' | 'response';

/** How each phase reads in an error ("timeout waiting for …"). */
export const PHASE_WORDS: Record<TimeoutPhase, string> = {
  lookup: 'dns lookup',
  connect: 'connect',
  secureConnect: 'tls handshake',
  send: 'request to be sent',
  response: 'response',
};

/** The config setting that bounds a phase: DNS, TCP and TLS are timeout.connect; sending and waiting for the answer, timeout.response. */
export function timeoutSetting(phase: TimeoutPhase): 'connect' | 'response' {
  return phase === 'send' || phase === 'response' ? 'response' : 'connect';
}

/** A request that ran out of time in one phase. */
export class TransportTimeout extends Error {
  override name = 'TransportTimeout';
  readonly code = 'ETIMEDOUT';
  readonly phase: TimeoutPhase;
  readonly ms: number;
  constructor(phase: TimeoutPhase, ms: number) {
    super(`timeout waiting for ${PHASE_WORDS[phase]} after ${ms}ms`);
    this.phase = phase;
    this.ms = ms;
  }
}

/** A destination's connection setup, fixed for its lifetime. */
export interface TransportSetup {
  agents: { http: http.Agent; https: https.Agent };
  tls?: { ca?: (string | Buffer)[]; cert?: Buffer; key?: Buffer; rejectUnauthorized: boolean };
  /** DNS lookup, TCP connect, TLS handshake (new connections only). */
  connectTimeoutMs: number;
  /** Sending the request, waiting for the status line, then the longest silence in the body. */
  responseTimeoutMs: number;
  maxBodyBytes: number;
}

/** One request of an exchange. */
export interface TransportRequest {
  url: URL;
  method: string;
  headers: Record<string, string>;
  body?: Buffer;
  signal?: AbortSignal;
  /** Called with the request's socket (`relay test` reads the peer's address and certificate from it). */
  onSocket?: (socket: Socket) => void;
}

/** Sends requests over one destination's connections. */
export interface Transport {
  /** Resolves with the response; rejects with a network error, TransportTimeout or an abort (signal). The error carries `timings` when any were measured. */
  send(request: TransportRequest): Promise<TransportResponse>;
}

/** The timings a failed request carried, if any. */
export function errorTimings(err: unknown): AttemptTimings | null {
  return (err as { timings?: AttemptTimings | null })?.timings ?? null;
}

/** got's timings as the attempts log keeps them (whole ms; a phase that did not happen is null). */
export function attemptTimings(t: Timings | undefined, reusedSocket: boolean): AttemptTimings | null {
  if (!t) return null;
  const p = t.phases;
  // A reused keep-alive socket had no DNS/TCP/TLS for this request (got
  // reports the original connection's phases there; that would mislead).
  const fresh = (v: number | undefined): number | null => (reusedSocket || v === undefined ? null : v);
  return {
    dnsMs: fresh(p.dns),
    tcpMs: fresh(p.tcp),
    tlsMs: fresh(p.tls),
    // got has no first-byte phase when the answer came before the request
    // had finished uploading (a receiver may answer once it has the body's
    // bytes): the answer took no time after the request, so 0.
    firstByteMs: p.firstByte ?? (t.response !== undefined ? 0 : null),
    totalMs: p.total ?? null,
    reused: reusedSocket,
  };
}

type GotModule = typeof import('got');
let gotModule: Promise<GotModule> | null = null;

/** got, loaded on first use: ~100 ms and ~30 MB RSS that CLI commands which send nothing (status, config check) never pay. */
function loadGot(): Promise<GotModule> {
  return (gotModule ??= import('got'));
}

/** Build the transport of one destination. */
export function createTransport(setup: TransportSetup): Transport {
  const ready = loadGot().then((mod) => ({ TimeoutError: mod.TimeoutError, client: gotClient(mod.default, setup) }));
  // A got that cannot load fails each send (an attempt error), never the process.
  ready.catch(() => {});
  return {
    send: async (o) => {
      const { client, TimeoutError } = await ready;
      return sendOne(client, TimeoutError, setup, o);
    },
  };
}

/** The destination's got instance (`got.extend` once, not per request). */
function gotClient(got: Got, setup: TransportSetup): Got {
  const connect = setup.connectTimeoutMs;
  const response = setup.responseTimeoutMs;
  return got.extend({
    agent: { http: setup.agents.http, https: setup.agents.https },
    https: setup.tls
      ? { certificateAuthority: setup.tls.ca, certificate: setup.tls.cert, key: setup.tls.key, rejectUnauthorized: setup.tls.rejectUnauthorized }
      : {},
    // got hands node:http about thirty options per request, most of them
    // undefined, and node copies them twice more (ClientRequest, the
    // agent). Only these are ever set here; passing just them cut got's
    // allocation per request by a fifth in the drain benchmark, and with it
    // the garbage collector's share.
    request: (url: URL, native: https.RequestOptions, callback?: (res: http.IncomingMessage) => void) => {
      const secure = url.protocol === 'https:';
      const options: https.RequestOptions = { method: native.method, headers: native.headers, agent: native.agent };
      if (secure && setup.tls) Object.assign(options, setup.tls);
      return (secure ? https : http).request(url, options, callback);
    },
    http2: false,
    retry: { limit: 0 },
    throwHttpErrors: false,
    followRedirect: false,
    decompress: false,
    cache: undefined,
    // `socket` (idle socket) is timeout.response's second half: the longest
    // silence while the body is read. timeout.total (the sender's deadline,
    // through `signal`) bounds the whole attempt, a trickled body included.
    timeout: { lookup: connect, connect, secureConnect: connect, send: response, response, socket: response },
  });
}

function sendOne(client: Got, TimeoutError: GotModule['TimeoutError'], setup: TransportSetup, o: TransportRequest): Promise<TransportResponse> {
  return new Promise((resolve, reject) => {
    let reused = false;
    let settled = false;
    // The body is written into got's stream, not given as its `body`
    // option. With `body`, got writes it, waits for the write callback,
    // then ends the request — unless the answer came first (a receiver
    // may answer once it has content-length bytes), when it destroys the
    // request and with it the keep-alive socket. On a busy destination
    // that was most requests: a new TCP (and TLS) connection per delivery,
    // ×2.7 the CPU in the drain benchmark. Written through the stream, the
    // request is ended normally and the socket goes back to the pool.
    // (`body` also structuredClone()s the Buffer per request.)
    const headers = o.body ? { ...o.headers, 'content-length': String(o.body.length) } : o.headers;
    const stream = client.stream(o.url, { method: o.method as 'POST', headers, signal: o.signal });
    const fail = (err: Error): void => {
      if (settled) return;
      settled = true;
      const timings = attemptTimings(stream.timings, reused);
      if (err instanceof TimeoutError && (err.event in PHASE_WORDS || err.event === 'socket')) {
        const phase = err.event === 'socket' ? 'response' : (err.event as TimeoutPhase);
        const ms = timeoutSetting(phase) === 'response' ? setup.responseTimeoutMs : setup.connectTimeoutMs;
        reject(Object.assign(new TransportTimeout(phase, ms), { timings }));
        return;
      }
      reject(Object.assign(err, { timings }));
    };
    stream.on('request', (req: http.ClientRequest) =>
      req.once('socket', (socket: Socket) => {
        reused = req.reusedSocket;
        o.onSocket?.(socket);
      }));
    stream.on('error', fail);
    const chunks: Buffer[] = [];
    let kept = 0;
    let total = 0;
    stream.on('data', (chunk: Buffer) => {
      total += chunk.length;
      if (kept < setup.maxBodyBytes) {
        const part = chunk.subarray(0, setup.maxBodyBytes - kept);
        chunks.push(part);
        kept += part.length;
      }
    });
    stream.on('end', () => {
      if (settled) return;
      settled = true;
      const res = stream.response!;
      resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks), bodyBytes: total, timings: attemptTimings(stream.timings ?? res.timings, reused) });
    });
    // got ends a GET/HEAD request itself.
    if (o.body) stream.end(o.body);
    else if (o.method !== 'GET' && o.method !== 'HEAD') stream.end();
  });
}
