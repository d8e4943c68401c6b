// HTTP delivery's transport: one HTTP(S) exchange on node:http with the
// destination's keep-alive agents (proxy and TLS set up in ./agents.ts) and
// the timeouts a webhook sender needs — connect (TCP + TLS handshake, new
// sockets only), response (request written → status line, then the longest
// silence in the body) — and each attempt's per-phase timings (DNS, TCP,
// TLS, first byte, total; the same record got's `timings` give `relay test`,
// see ./got-transport.ts). Only the first `maxBodyBytes` of the response are
// kept; the rest is read and discarded so the keep-alive connection stays
// reusable. Redirects, retries and proxies are handled by the caller and the
// agents.
//
// Why not got here (issue 14): `npm run bench -- drain` as installed, got
// configured down (./got-transport.ts) against this transport, alternating
// in the same run: got ×0.40 the deliveries/s, ×2.0 the CPU per delivery,
// ×1.7 the peak RSS (202 MB, over the 150 MB goal). docs/design-notes.md
// has the figures and the profile.

import http from 'node:http';
import https from 'node:https';
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
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
  /** TCP connect + TLS handshake (new connections only). */
  connectTimeoutMs: number;
  /** From the request written to the status line, then the longest silence in the body. */
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

/** Build the node:http transport of one destination. */
export function createTransport(setup: TransportSetup): Transport {
  return { send: (o) => transportRequest(setup, o) };
}

/** Phase marks of one request (performance.now()), turned into AttemptTimings. */
class PhaseClock {
  readonly start = performance.now();
  reused = false;
  socket: number | null = null;
  lookup: number | null = null;
  connect: number | null = null;
  secure: number | null = null;
  written: number | null = null;
  firstByte: number | null = null;
  timings(secure: boolean): AttemptTimings {
    const end = performance.now();
    const d = (a: number | null, b: number | null): number | null => (a === null || b === null ? null : Math.round(b - a));
    const fresh = !this.reused;
    // No 'lookup' event for an IP literal: DNS took 0.
    const lookup = this.lookup ?? (this.connect !== null ? this.socket : null);
    return {
      dnsMs: fresh ? d(this.socket, lookup) : null,
      tcpMs: fresh ? d(lookup, this.connect) : null,
      tlsMs: fresh && secure ? d(this.connect, this.secure) : null,
      // The answer can come before the request is flushed (a receiver may answer early).
      firstByteMs: this.firstByte === null ? null : Math.max(0, d(this.written ?? this.firstByte, this.firstByte) ?? 0),
      totalMs: Math.round(end - this.start),
      reused: this.reused,
    };
  }
}

function transportRequest(setup: TransportSetup, o: TransportRequest): Promise<TransportResponse> {
  return new Promise((resolve, reject) => {
    const secure = o.url.protocol === 'https:';
    const clock = new PhaseClock();
    const headers = { ...o.headers, 'content-length': String(o.body?.length ?? 0) };
    if (!o.body) delete (headers as Record<string, string>)['content-length'];
    const options: https.RequestOptions = { method: o.method, headers, agent: secure ? setup.agents.https : setup.agents.http, signal: o.signal };
    if (secure && setup.tls) Object.assign(options, setup.tls);
    const req = (secure ? https : http).request(o.url, options);
    // One timer, re-armed per phase; refresh() when the duration stays the same (cheap).
    let timer: NodeJS.Timeout | null = null;
    let timerMs = 0;
    let phase: TimeoutPhase = 'response';
    let settled = false;
    const arm = (next: TimeoutPhase, ms: number): void => {
      phase = next;
      if (timer && ms === timerMs) {
        timer.refresh();
        return;
      }
      if (timer) clearTimeout(timer);
      timerMs = ms;
      timer = setTimeout(() => req.destroy(new TransportTimeout(phase, timerMs)), ms);
    };
    const disarm = (): void => {
      if (timer) clearTimeout(timer);
      timer = null;
    };
    const fail = (err: Error): void => {
      disarm();
      if (settled) return;
      settled = true;
      reject(Object.assign(err, { timings: clock.timings(secure) }));
    };
    req.on('error', fail);
    req.on('socket', (socket: Socket) => {
      clock.socket = performance.now();
      o.onSocket?.(socket);
      // A pooled keep-alive socket is already connected: no connect phase.
      if (!socket.connecting) {
        clock.reused = true;
        return;
      }
      arm('connect', setup.connectTimeoutMs);
      socket.once('lookup', () => (clock.lookup = performance.now()));
      socket.once('connect', () => {
        clock.connect = performance.now();
        if (secure) phase = 'secureConnect';
      });
      // Connected: sending and waiting for the status line are bounded by the response timeout.
      socket.once(secure ? 'secureConnect' : 'connect', () => {
        if (secure) clock.secure = performance.now();
        arm('response', setup.responseTimeoutMs);
      });
    });
    req.on('finish', () => {
      clock.written = performance.now();
      arm('response', setup.responseTimeoutMs);
    });
    req.on('response', (res) => {
      clock.firstByte = performance.now();
      arm('response', setup.responseTimeoutMs);
      const chunks: Buffer[] = [];
      let kept = 0;
      let total = 0;
      res.on('data', (chunk: Buffer) => {
        timer?.refresh();
        total += chunk.length;
        if (kept < setup.maxBodyBytes) {
          const part = chunk.subarray(0, setup.maxBodyBytes - kept);
          chunks.push(part);
          kept += part.length;
        }
      });
      res.on('error', fail);
      res.on('end', () => {
        disarm();
        if (settled) return;
        settled = true;
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks), bodyBytes: total, timings: clock.timings(secure) });
      });
    });
    req.end(o.body);
  });
}
