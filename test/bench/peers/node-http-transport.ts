// The drain benchmark's peer: HTTP delivery's transport as it was before got
// (issue 14), the same surface as src/destinations/http/transport.ts on plain
// node:http with the destination's keep-alive agents, per-phase timeouts
// (connect; response = request written → status line, then the longest
// silence in the body) and per-phase timings measured from socket events.
// test/bench/peers/use-node-http-transport.ts swaps it in for the sender.

import http from 'node:http';
import https from 'node:https';
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { AttemptTimings } from '../../../src/destinations/timings.ts';
import { TransportTimeout, type TimeoutPhase, type Transport, type TransportRequest, type TransportResponse, type TransportSetup } from '../../../src/destinations/http/transport.ts';

// The rest of the transport surface the sender imports, so this module can stand in for it.
export { errorTimings, PHASE_WORDS, timeoutSetting, TransportTimeout } from '../../../src/destinations/http/transport.ts';

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
