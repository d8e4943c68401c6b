// Network trouble for tests. startTcpProxy is a cuttable TCP relay that plays
// the firewall/VPN between the daemon and a receiver, switchable at runtime:
//   pass    forward both ways
//   refuse  stop listening: connections are refused
//   reset   accept, then reset (RST) at once
//   hang    accept and never forward (packets dropped); open relays freeze too
//   drop-replies  open relays still forward to the receiver, but its replies
//           are dropped (a request that arrives and an ack that is lost);
//           new connections pass
// startHttpProxy is a tiny forward proxy (CONNECT tunnels and absolute-form
// http requests) that records what went through it.

import net from 'node:net';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** What the cuttable proxy does with connections. */
export type ProxyMode = 'pass' | 'refuse' | 'reset' | 'hang' | 'drop-replies';

/** A running cuttable proxy. */
export interface TcpProxy {
  port: number;
  mode: ProxyMode;
  /** Connections accepted so far. */
  accepted: number;
  /** Switch behaviour; open connections are reset (refuse, reset) or frozen (hang). */
  setMode(mode: ProxyMode): Promise<void>;
  close(): Promise<void>;
}

interface Relay {
  client: net.Socket;
  upstream: net.Socket | null;
}

/** Start a cuttable proxy on 127.0.0.1 in front of target. */
export async function startTcpProxy(target: { host?: string; port: number }, initial: ProxyMode = 'pass'): Promise<TcpProxy> {
  const relays = new Set<Relay>();
  let mode: ProxyMode = initial;
  let listening = false;
  let port = 0;

  const server = net.createServer((client) => {
    proxy.accepted++;
    const relay: Relay = { client, upstream: null };
    relays.add(relay);
    client.on('close', () => {
      relays.delete(relay);
      relay.upstream?.destroy();
    });
    client.on('error', () => {});
    if (mode === 'reset') {
      client.resetAndDestroy();
      return;
    }
    if (mode === 'hang') return; // accepted, never forwarded
    const upstream = net.connect(target.port, target.host ?? '127.0.0.1');
    relay.upstream = upstream;
    upstream.on('error', () => client.destroy());
    upstream.on('close', () => client.destroy());
    client.pipe(upstream);
    upstream.pipe(client);
  });

  const listen = (): Promise<void> =>
    new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        port = (server.address() as AddressInfo).port;
        listening = true;
        resolve();
      });
    });
  const unlisten = (): Promise<void> =>
    new Promise((resolve) => {
      if (!listening) return resolve();
      listening = false;
      server.close(() => resolve());
    });

  const proxy: TcpProxy = {
    port: 0,
    mode,
    accepted: 0,
    async setMode(next) {
      mode = next;
      proxy.mode = next;
      for (const r of [...relays]) {
        if (next === 'refuse' || next === 'reset') {
          r.client.resetAndDestroy();
          r.upstream?.destroy();
        } else if (next === 'hang' && r.upstream) {
          // Freeze: stop moving bytes either way, keep both ends open.
          r.client.unpipe(r.upstream);
          r.upstream.unpipe(r.client);
          r.client.pause();
          r.upstream.pause();
        } else if (next === 'drop-replies' && r.upstream) {
          r.upstream.unpipe(r.client);
          r.upstream.on('data', () => {});
        }
      }
      if (next === 'refuse') await unlisten();
      else if (!listening) await listen();
    },
    async close() {
      for (const r of relays) {
        r.client.destroy();
        r.upstream?.destroy();
      }
      await unlisten();
    },
  };
  if (initial === 'refuse') {
    // Reserve a port, then stop listening so connections are refused.
    await listen();
    await unlisten();
  } else await listen();
  proxy.port = port;
  return proxy;
}

/** One request seen by the forward proxy. */
export interface ProxiedRequest {
  method: string;
  /** host:port for CONNECT, the absolute URL otherwise. */
  target: string;
  proxyAuthorization: string | null;
}

/** A running forward proxy. */
export interface HttpProxy {
  url: string;
  port: number;
  requests: ProxiedRequest[];
  close(): Promise<void>;
}

/** Start a forward proxy on 127.0.0.1; with `auth` ("user:pass") it answers 407 without it. */
export async function startHttpProxy(options: { auth?: string } = {}): Promise<HttpProxy> {
  const requests: ProxiedRequest[] = [];
  const sockets = new Set<net.Socket>();
  const expected = options.auth ? 'Basic ' + Buffer.from(options.auth).toString('base64') : null;
  const allowed = (h: string | undefined): boolean => expected === null || h === expected;

  const server = http.createServer((req, res) => {
    const auth = req.headers['proxy-authorization'] ?? null;
    requests.push({ method: req.method ?? '', target: req.url ?? '', proxyAuthorization: auth });
    if (!allowed(auth ?? undefined)) {
      res.writeHead(407, { 'proxy-authenticate': 'Basic realm="test"' }).end();
      return;
    }
    const headers = { ...req.headers };
    delete headers['proxy-authorization'];
    delete headers['proxy-connection'];
    const up = http.request(req.url ?? '', { method: req.method, headers }, (upRes) => {
      res.writeHead(upRes.statusCode ?? 502, upRes.headers);
      upRes.pipe(res);
    });
    up.on('error', () => res.writeHead(502).end());
    req.pipe(up);
  });
  server.on('connect', (req: http.IncomingMessage, client: net.Socket, head: Buffer) => {
    const auth = req.headers['proxy-authorization'] ?? null;
    requests.push({ method: 'CONNECT', target: req.url ?? '', proxyAuthorization: auth });
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    client.on('error', () => {});
    if (!allowed(auth ?? undefined)) {
      client.end('HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm="test"\r\n\r\n');
      return;
    }
    const [host, port] = (req.url ?? '').split(':');
    const upstream = net.connect(Number(port), host, () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    sockets.add(upstream);
    upstream.on('close', () => {
      sockets.delete(upstream);
      client.destroy();
    });
    upstream.on('error', () => client.destroy());
  });
  server.on('connection', (s: net.Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
