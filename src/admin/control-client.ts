// The `relay` CLI's side of the control socket: connect (telling apart "no
// daemon" from "not allowed"), send requests, get results or ControlErrors.

import net from 'node:net';
import { formatDuration } from '../config/units.ts';
import { ControlError, LineSplitter, type ControlOp, type ControlResponse } from './control-protocol.ts';

/** The daemon accepted the request but did not answer in time (busy, hung, SIGSTOPped). */
export class NoAnswerError extends Error {
  override name = 'NoAnswerError';
  /** The request carried this deadline (epoch ms): the daemon drops it unapplied when it reads it later. */
  readonly deadline: number;
  constructor(message: string, deadline: number) {
    super(message);
    this.deadline = deadline;
  }
}

/** Margin between the deadline a request carries and the client's own timeout: work started before the deadline may still finish and answer. */
export const DEADLINE_MARGIN_MS = 500;

/** An open connection to the daemon. */
export interface ControlClient {
  readonly path: string;
  /** Send one request; resolves with its result, rejects with ControlError (refused) or Error (connection lost / timeout). */
  request<T = unknown>(op: ControlOp, args?: unknown, options?: { timeoutMs?: number }): Promise<T>;
  close(): void;
}

/** Why no daemon answered. */
export type ConnectFailure = {
  ok: false;
  /** absent: no socket file; refused: a file but nobody listening; denied: no permission; timeout; error. */
  code: 'absent' | 'refused' | 'denied' | 'timeout' | 'error';
  /** One line for the operator, naming the socket. */
  reason: string;
};

/** Result of connectControl. */
export type ConnectResult = { ok: true; client: ControlClient } | ConnectFailure;

/** Connect to the control socket at `path` (never throws). */
export function connectControl(path: string, options: { timeoutMs?: number } = {}): Promise<ConnectResult> {
  const timeoutMs = options.timeoutMs ?? 3000;
  return new Promise((resolve) => {
    const socket = net.connect(path);
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ ok: false, code: 'timeout', reason: `daemon did not accept a connection on ${path} within ${timeoutMs} ms (busy or hung? check its log)` });
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      resolve({ ok: true, client: wrap(socket, path) });
    });
    socket.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      if (err.code === 'ENOENT') resolve({ ok: false, code: 'absent', reason: `daemon is not running (no answer on ${path})` });
      else if (err.code === 'ECONNREFUSED') resolve({ ok: false, code: 'refused', reason: `daemon is not running (no answer on ${path}; the socket file is left from an earlier run)` });
      else if (err.code === 'EACCES' || err.code === 'EPERM') {
        resolve({ ok: false, code: 'denied', reason: `not allowed to use the control socket ${path} (${err.code}); run as the service user or a member of its group` });
      } else resolve({ ok: false, code: 'error', reason: `cannot reach the daemon on ${path}: ${err.code ?? err.message}` });
    });
  });
}

function wrap(socket: net.Socket, path: string): ControlClient {
  const splitter = new LineSplitter();
  const waiting = new Map<number, { resolve: (r: ControlResponse) => void; reject: (e: Error) => void }>();
  let nextId = 1;
  let failure: Error | null = null;
  const failAll = (err: Error): void => {
    failure ??= err;
    for (const w of waiting.values()) w.reject(failure);
    waiting.clear();
  };
  socket.on('data', (chunk: Buffer) => {
    let lines: string[];
    try {
      lines = splitter.push(chunk);
    } catch (err) {
      failAll(err as Error);
      socket.destroy();
      return;
    }
    for (const line of lines) {
      let response: ControlResponse;
      try {
        response = JSON.parse(line);
      } catch {
        failAll(new Error(`the daemon sent something that is not JSON on ${path}`));
        socket.destroy();
        return;
      }
      const w = waiting.get(response.id);
      if (!w) continue;
      waiting.delete(response.id);
      w.resolve(response);
    }
  });
  socket.on('error', (err) => failAll(new Error(`connection to the daemon on ${path} failed: ${err.message}`)));
  socket.on('close', () => failAll(new Error(`the daemon closed the control connection on ${path} (stopping or restarted?)`)));
  return {
    path,
    async request<T>(op: ControlOp, args: unknown = {}, opts: { timeoutMs?: number } = {}): Promise<T> {
      if (failure) throw failure;
      const id = nextId++;
      const timeoutMs = opts.timeoutMs ?? 30_000;
      // The daemon refuses a request it reads after its deadline: a command that gave up never takes effect later.
      const deadline = Date.now() + Math.max(timeoutMs - DEADLINE_MARGIN_MS, timeoutMs / 2);
      const response = await new Promise<ControlResponse>((resolve, reject) => {
        const timer = setTimeout(() => {
          waiting.delete(id);
          reject(new NoAnswerError(`the daemon did not answer "${op}" within ${formatDuration(timeoutMs)} on ${path} (busy or hung? check its log)`, deadline));
        }, timeoutMs);
        waiting.set(id, {
          resolve: (r) => (clearTimeout(timer), resolve(r)),
          reject: (e) => (clearTimeout(timer), reject(e)),
        });
        socket.write(JSON.stringify({ id, op, args, deadline }) + '\n');
      });
      if (!response.ok) throw new ControlError(response.code, response.error);
      return response.result as T;
    },
    close() {
      socket.end();
      socket.destroy();
    },
  };
}
