// A real webhook receiver for tests: HTTP or HTTPS on 127.0.0.1, records every
// request, and answers as scripted per request (status, headers such as
// Retry-After, body, delay, hang forever, trickle a body forever, or destroy
// the socket).
//
// Run directly (`node test/helpers/receiver.ts`) it is a bench receiver in its
// own process: it answers 200 to everything, sends {port} over IPC when
// listening, and answers a {type:'stats'} message with {count, bytes,
// orderViolations} ({type:'reset'} forgets the order state): requests carrying X-Bench-Lane / X-Bench-Seq must arrive
// with increasing seq per lane.

import http from 'node:http';
import https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';

/** One request the receiver got. */
export interface ReceivedRequest {
  /** 1-based arrival number. */
  n: number;
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  time: number;
  /** Subject CN of the client certificate (HTTPS with requestCert), else null. */
  clientCertCN: string | null;
}

/** How to answer one request. */
export interface ResponsePlan {
  status?: number;
  headers?: Record<string, string>;
  body?: string;
  /** Wait this long before answering. */
  delayMs?: number;
  /** Never answer (the socket stays open until close()). */
  hang?: boolean;
  /** Destroy the connection instead of answering. */
  destroy?: boolean;
  /** Answer the status line, then one body byte every this many ms, never ending (until close()). */
  trickleMs?: number;
  /** Answer the status line and the first body bytes, then go silent without ending (until close()). */
  stallBody?: boolean;
}

/** Decides the answer to a request; undefined → 200 "ok". */
export type Responder = (req: ReceivedRequest) => ResponsePlan | undefined;

/** A running receiver. */
export interface Receiver {
  url: string;
  port: number;
  requests: ReceivedRequest[];
  /** Replace the script: a function, or plans used in order (then 200). */
  respond(script: Responder | ResponsePlan[]): void;
  /** Resolve once `count` requests arrived (rejects after timeoutMs). */
  waitFor(count: number, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

/** Options of startReceiver. */
export interface ReceiverOptions {
  tls?: { key: string | Buffer; cert: string | Buffer; ca?: string | Buffer; requestCert?: boolean };
  respond?: Responder | ResponsePlan[];
  /** Listen on this port (default: any free one). */
  port?: number;
}

function toResponder(script: Responder | ResponsePlan[] | undefined): Responder {
  if (script === undefined) return () => undefined;
  if (typeof script === 'function') return script;
  const plans = [...script];
  return () => plans.shift();
}

/** Start a receiver on 127.0.0.1. */
export async function startReceiver(options: ReceiverOptions = {}): Promise<Receiver> {
  const requests: ReceivedRequest[] = [];
  let responder = toResponder(options.respond);
  const waiters: { count: number; resolve: () => void }[] = [];
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();

  const handler = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const peer = (req.socket as TLSSocket).getPeerCertificate?.();
      const received: ReceivedRequest = {
        n: requests.length + 1,
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks),
        time: Date.now(),
        clientCertCN: peer && peer.subject ? String(peer.subject.CN) : null,
      };
      requests.push(received);
      for (const w of [...waiters]) {
        if (requests.length >= w.count) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve();
        }
      }
      const plan = responder(received) ?? {};
      const answer = (): void => {
        if (plan.destroy) {
          req.socket.destroy();
          return;
        }
        if (plan.hang) return;
        if (plan.stallBody) {
          res.writeHead(plan.status ?? 200, { 'content-type': 'text/plain', ...plan.headers });
          res.write('partial');
          return;
        }
        if (plan.trickleMs) {
          res.writeHead(plan.status ?? 200, { 'content-type': 'text/plain', ...plan.headers });
          const drip = setInterval(() => res.write('.'), plan.trickleMs);
          timers.add(drip);
          res.on('close', () => {
            clearInterval(drip);
            timers.delete(drip);
          });
          return;
        }
        res.writeHead(plan.status ?? 200, { 'content-type': 'text/plain', ...plan.headers });
        res.end(plan.body ?? 'ok');
      };
      if (plan.delayMs) {
        const t = setTimeout(() => {
          timers.delete(t);
          answer();
        }, plan.delayMs);
        timers.add(t);
      } else answer();
    });
  };

  const server = options.tls
    ? https.createServer({ key: options.tls.key, cert: options.tls.cert, ca: options.tls.ca, requestCert: options.tls.requestCert ?? false, rejectUnauthorized: options.tls.requestCert ?? false }, handler)
    : http.createServer(handler);
  server.keepAliveTimeout = 30_000;
  server.on(options.tls ? 'secureConnection' : 'connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `${options.tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    port,
    requests,
    respond(script) {
      responder = toResponder(script);
    },
    waitFor(count, timeoutMs = 10_000) {
      if (requests.length >= count) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const w = { count, resolve: () => (clearTimeout(t), resolve()) };
        const t = setTimeout(() => {
          waiters.splice(waiters.indexOf(w), 1);
          reject(new Error(`receiver got ${requests.length} of ${count} requests within ${timeoutMs} ms`));
        }, timeoutMs);
        waiters.push(w);
      });
    },
    async close() {
      for (const t of timers) clearTimeout(t);
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

// ---- standalone bench receiver ---------------------------------------------

if (import.meta.main) {
  let count = 0;
  let bytes = 0;
  let orderViolations = 0;
  const lastSeq = new Map<string, number>();
  const server = http.createServer((req, res) => {
    req.on('data', (c: Buffer) => (bytes += c.length));
    req.on('end', () => {
      count++;
      const lane = req.headers['x-bench-lane'];
      if (typeof lane === 'string') {
        const seq = Number(req.headers['x-bench-seq']);
        if (seq <= (lastSeq.get(lane) ?? -1)) orderViolations++;
        lastSeq.set(lane, seq);
      }
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '2' });
      res.end('ok');
    });
  });
  server.keepAliveTimeout = 60_000;
  server.listen(0, '127.0.0.1', () => {
    process.send?.({ type: 'listening', port: (server.address() as AddressInfo).port });
  });
  process.on('message', (m: { type: string }) => {
    if (m.type === 'stats') process.send?.({ type: 'stats', count, bytes, orderViolations });
    if (m.type === 'reset') {
      lastSeq.clear();
      process.send?.({ type: 'reset' });
    }
    if (m.type === 'exit') {
      server.closeAllConnections();
      server.close(() => process.exit(0));
    }
  });
  process.on('disconnect', () => process.exit(0));
}
