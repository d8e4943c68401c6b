// The daemon's control socket: a unix socket (mode 0660, so the service
// user's group may administer) answering newline-delimited JSON requests (see
// control-protocol.ts). Requests on one connection are answered in order;
// connections are independent. A socket file left by a crashed daemon is
// replaced; one a live daemon answers on is not.

import net from 'node:net';
import { chmodSync, lstatSync, mkdirSync, unlinkSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Log } from '../log/logger.ts';
import { ControlError, LineSplitter, isControlOp, CONTROL_OPS, type ControlOp, type ControlResponse } from './control-protocol.ts';

/** Answers one request; throw ControlError for operator-facing refusals. */
export type ControlHandler = (op: ControlOp, args: unknown) => unknown | Promise<unknown>;

/** Options of startControlServer. */
export interface ControlServerOptions {
  /** Socket path (`admin.socket`). */
  path: string;
  handle: ControlHandler;
  log: Log;
  /** File mode of the socket (default 0o660). */
  mode?: number;
}

/** A listening control socket. */
export interface ControlServer {
  readonly path: string;
  /** Stop listening, end connections, remove the socket file. */
  close(): Promise<void>;
}

/** The socket cannot be used; the message names the path and the fix. */
export class ControlSocketError extends Error {
  override name = 'ControlSocketError';
}

/** True when something accepts connections on the unix socket at `path`. */
function answers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(path);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

async function clearStaleSocket(path: string): Promise<void> {
  let st;
  try {
    st = lstatSync(path);
  } catch {
    return; // nothing there
  }
  if (!st.isSocket()) throw new ControlSocketError(`admin.socket ${path} exists and is not a socket; remove it or point admin.socket elsewhere`);
  if (await answers(path)) throw new ControlSocketError(`another process (a second relay daemon?) answers on ${path}; stop it, or give this daemon its own admin.socket`);
  unlinkSync(path);
}

/** Listen on the control socket. Throws ControlSocketError when it cannot. */
export async function startControlServer(options: ControlServerOptions): Promise<ControlServer> {
  const { path, log } = options;
  // sun_path holds 108 bytes on Linux (104 on BSDs): longer paths cannot be bound.
  if (Buffer.byteLength(path) > 103) throw new ControlSocketError(`admin.socket ${path} is longer than a unix socket path may be (103 bytes); choose a shorter path`);
  try {
    // Normally systemd's RuntimeDirectory made it; create it for other setups.
    mkdirSync(dirname(path), { recursive: true, mode: 0o750 });
  } catch (err) {
    throw new ControlSocketError(`cannot create ${dirname(path)} for admin.socket (${(err as NodeJS.ErrnoException).code}); create it for the service user or change admin.socket`);
  }
  await clearStaleSocket(path);
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    serveConnection(socket, options.handle, log);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      const hint = err.code === 'EACCES' ? `the service user may not write ${dirname(path)}` : err.code === 'EADDRINUSE' ? 'another process holds it' : 'check admin.socket';
      reject(new ControlSocketError(`cannot listen on admin.socket ${path} (${err.code}): ${hint}`));
    });
    server.listen(path, () => resolve());
  });
  try {
    chmodSync(path, options.mode ?? 0o660);
  } catch (err) {
    server.close();
    throw new ControlSocketError(`cannot set the mode of ${path} (${(err as NodeJS.ErrnoException).code})`);
  }
  let closing: Promise<void> | null = null;
  return {
    path,
    close() {
      closing ??= new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      });
      return closing;
    },
  };
}

function serveConnection(socket: net.Socket, handle: ControlHandler, log: Log): void {
  const splitter = new LineSplitter();
  // Requests of one connection are answered strictly in order.
  let chain: Promise<void> = Promise.resolve();
  const send = (response: ControlResponse): void => {
    if (!socket.destroyed) socket.write(JSON.stringify(response) + '\n');
  };
  socket.on('error', () => {});
  socket.on('data', (chunk: Buffer) => {
    let lines: string[];
    try {
      lines = splitter.push(chunk);
    } catch (err) {
      send({ id: 0, ok: false, code: 'bad-request', error: (err as Error).message });
      socket.end();
      return;
    }
    for (const line of lines) {
      if (line.trim() === '') continue;
      chain = chain.then(() => answer(line, handle, log).then(send));
    }
  });
}

async function answer(line: string, handle: ControlHandler, log: Log): Promise<ControlResponse> {
  let request: { id?: unknown; op?: unknown; args?: unknown; deadline?: unknown };
  try {
    request = JSON.parse(line);
  } catch {
    return { id: 0, ok: false, code: 'bad-request', error: 'request is not JSON; send one {"id":1,"op":"status"} object per line' };
  }
  const id = typeof request?.id === 'number' ? request.id : 0;
  const op = typeof request?.op === 'string' ? request.op : '';
  if (!isControlOp(op)) {
    return { id, ok: false, code: 'unknown-op', error: `unknown operation ${JSON.stringify(request?.op ?? null)}; known: ${CONTROL_OPS.join(', ')} (is the relay CLI newer than the daemon? restart the daemon)` };
  }
  if (typeof request.deadline === 'number' && Date.now() > request.deadline) {
    // Read after the caller gave up (the daemon was stopped or busy): acting now would surprise the operator.
    log.warn('control request expired before it was read; not applied', { op, lateMs: Date.now() - request.deadline });
    return { id, ok: false, code: 'refused', error: `"${op}" arrived after its deadline (${new Date(request.deadline).toISOString()}); not applied` };
  }
  try {
    return { id, ok: true, result: (await handle(op, request.args ?? {})) ?? null };
  } catch (err) {
    if (err instanceof ControlError) return { id, ok: false, code: err.code, error: err.message };
    const e = err as Error;
    // Store and config errors carry operator-facing messages; anything else is a bug worth logging.
    if (e.name === 'StoreError') return { id, ok: false, code: 'refused', error: e.message };
    log.error('control request failed', { op, error: e.message });
    return { id, ok: false, code: 'internal', error: `${op} failed in the daemon: ${e.message}` };
  }
}
