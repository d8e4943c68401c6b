// `relay test`'s transport: the same surface as ./transport.ts (HTTP
// delivery's node:http transport), on got 16, whose `timings` give the DNS /
// TCP / TLS / first byte steps of the ping. Delivery stays on node:http: in
// the drain benchmark got reached ×0.40 its throughput (see transport.ts).
//
// One HTTP(S) exchange on got 16, configured down to what a webhook sender
// needs: the destination's keep-alive agents (proxy and TLS set up in
// ./agents.ts), no retries (the durable queue owns them), no redirects (the
// sender follows them itself so credentials never cross origins), no
// decompression, no cache, HTTP/1.1 only, and per-phase timeouts mapped from
// the config, and its `timings`.
//
// One got instance per destination (`got.extend` once, not per request). The
// stream interface: we keep only the first maxBodyBytes of the response and
// read the rest into the void, so the keep-alive connection stays reusable
// and a huge answer never sits in memory (responseType 'buffer' would hold it
// all). Why the body is written through the stream: see send().

import got, { type Got, type Timings, TimeoutError } from 'got';
import type http from 'node:http';
import type { Socket } from 'node:net';
import type { AttemptTimings } from '../timings.ts';
import { PHASE_WORDS, TransportTimeout, type TimeoutPhase, type Transport, type TransportSetup } from './transport.ts';

// The rest of the transport surface, so this module can stand in for ./transport.ts (the drain benchmark's got peer).
export { errorTimings, PHASE_WORDS, TransportTimeout } from './transport.ts';

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
    firstByteMs: p.firstByte ?? null,
    totalMs: p.total ?? null,
    reused: reusedSocket,
  };
}

/** Build the got transport of one destination (`relay test`). */
export function createTransport(setup: TransportSetup): Transport {
  const connect = setup.connectTimeoutMs;
  const response = setup.responseTimeoutMs;
  const client: Got = got.extend({
    agent: { http: setup.agents.http, https: setup.agents.https },
    https: setup.tls
      ? { certificateAuthority: setup.tls.ca, certificate: setup.tls.cert, key: setup.tls.key, rejectUnauthorized: setup.tls.rejectUnauthorized }
      : {},
    http2: false,
    retry: { limit: 0 },
    throwHttpErrors: false,
    followRedirect: false,
    decompress: false,
    cache: undefined,
    // timeout.total (the sender's deadline, through `signal`) bounds the whole attempt, body included.
    timeout: { lookup: connect, connect, secureConnect: connect, send: response, response },
  });
  return {
    send: (o) =>
      new Promise((resolve, reject) => {
        let reused = false;
        let settled = false;
        // The body is written into got's stream, not given as its `body`
        // option. With `body`, got writes it, waits for the write callback,
        // then ends the request — unless the answer came first (a receiver
        // may answer once it has content-length bytes), when it destroys the
        // request and with it the keep-alive socket. On a busy destination
        // that was most requests: a new TCP (and TLS) connection per delivery,
        // ×2.7 the CPU of node:http in the drain benchmark. Written through
        // the stream, the request is ended normally and the socket goes back
        // to the pool. (`body` also structuredClone()s the Buffer per request.)
        const headers = o.body ? { ...o.headers, 'content-length': String(o.body.length) } : o.headers;
        const stream = client.stream(o.url, { method: o.method as 'POST', headers, signal: o.signal });
        const fail = (err: Error): void => {
          if (settled) return;
          settled = true;
          const timings = attemptTimings(stream.timings, reused);
          if (err instanceof TimeoutError && err.event in PHASE_WORDS) {
            const phase = err.event as TimeoutPhase;
            const ms = phase === 'send' || phase === 'response' ? response : connect;
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
      }),
  };
}
