// Which servers greet: a NATS server speaks first (an INFO line). nats.js's
// connect() to a server that accepts TCP but never greets times out and
// leaves its socket open (the transport only closes sockets it finished
// connecting), so the sender reads the greeting itself, on a socket it
// closes, and hands nats.js only the servers that answered.

import net from 'node:net';
import { formatDuration } from '../../config/units.ts';

/** host:port of a `servers` entry (nats://, tls://, or bare host:port; credentials left out). */
export function natsHostPort(server: string): { host: string; port: number } {
  const u = new URL(/^[a-z]+:\/\//.test(server) ? server : `nats://${server}`);
  return { host: u.hostname.replace(/^\[|\]$/g, ''), port: Number(u.port || 4222) };
}

/** A server that could not be reached or did not greet as NATS. */
export class NatsGreetingError extends Error {
  override name = 'NatsGreetingError';
}

/** Resolves once `server` has sent its INFO line; the socket is closed either way, within `timeoutMs`. */
export function readNatsGreeting(server: string, timeoutMs: number): Promise<void> {
  const { host, port } = natsHostPort(server);
  const where = `${host.includes(':') ? `[${host}]` : host}:${port}`;
  return new Promise((resolve, reject) => {
    let connected = false;
    let buf = '';
    const socket = net.connect({ host, port });
    const done = (err: Error | null): void => {
      clearTimeout(timer);
      socket.removeAllListeners();
      socket.on('error', () => undefined);
      socket.destroy();
      if (err) reject(err);
      else resolve();
    };
    const timer = setTimeout(
      () => done(new NatsGreetingError(connected ? `${where} accepted the connection but sent no INFO greeting within ${formatDuration(timeoutMs)}` : `${where}: no answer within ${formatDuration(timeoutMs)}`)),
      timeoutMs,
    );
    socket.once('connect', () => (connected = true));
    socket.on('data', (chunk: Buffer) => {
      buf += chunk.toString('latin1');
      const end = buf.indexOf('\r\n');
      if (end === -1 && buf.length < 4096) return;
      const line = end === -1 ? buf : buf.slice(0, end);
      done(/^INFO\s+\{/.test(line) ? null : new NatsGreetingError(`${where} is not a NATS server (it said ${JSON.stringify(line.slice(0, 60))})`));
    });
    socket.once('error', (err: NodeJS.ErrnoException) => done(new NatsGreetingError(`${where}: ${err.code === 'ECONNREFUSED' ? 'connection refused (ECONNREFUSED): is the server running?' : (err.code ?? err.message)}`)));
    socket.once('close', () => done(new NatsGreetingError(`${where} closed the connection before its INFO greeting`)));
  });
}

/**
 * The servers that greet, in the configured order; throws the first
 * server's error when none does. Each probe is bounded by `timeoutMs`.
 */
export async function greetingServers(servers: readonly string[], timeoutMs: number): Promise<string[]> {
  const results = await Promise.allSettled(servers.map((s) => readNatsGreeting(s, timeoutMs)));
  const ok = servers.filter((_, i) => results[i].status === 'fulfilled');
  if (ok.length) return ok;
  const errors = results.map((r) => (r as PromiseRejectedResult).reason as Error);
  if (errors.length === 1) throw errors[0];
  throw new NatsGreetingError(errors.map((e) => e.message).join('; '));
}
