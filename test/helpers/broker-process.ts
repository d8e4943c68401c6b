// Shared plumbing of the broker test servers (nats-server, rabbitmq-server):
// a free port on 127.0.0.1, children spawned in their own process group so
// one signal reaches the server and everything it started, and a last-resort
// SIGKILL of every group still alive when the test process exits (a failed
// assertion, an uncaught error) or is ended by a signal (tap's timeout), so
// no broker outlives its test.

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import net from 'node:net';

const liveGroups = new Set<number>();
let exitHookInstalled = false;

function killAll(): void {
  for (const pgid of liveGroups) {
    try {
      process.kill(-pgid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', killAll);
  // tap ends a test file that runs out of time with a signal: the brokers go with it.
  for (const signal of ['SIGALRM', 'SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
    if (process.listenerCount(signal) > 0) continue;
    process.once(signal, () => {
      killAll();
      process.kill(process.pid, signal);
    });
  }
}

/** A port nobody listens on right now (the kernel's pick, then released). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

/** A child in its own process group, with its output kept for error messages. */
export interface GroupChild {
  child: ChildProcess;
  output(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Signal the whole group (no-op once it exited). */
  kill(signal: NodeJS.Signals): void;
  /** SIGTERM the group, SIGKILL it after `graceMs`; resolves once the leader exited. */
  stop(graceMs?: number): Promise<void>;
}

/** Spawn `command` as the leader of a new process group. */
export function spawnGroup(command: string, args: string[], options: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): GroupChild {
  installExitHook();
  const child = spawn(command, args, { env: options.env ?? process.env, cwd: options.cwd, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const keep = (chunk: Buffer): void => {
    out += chunk.toString();
    if (out.length > 64_000) out = out.slice(-32_000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const pgid = child.pid!;
  liveGroups.add(pgid);
  let alive = true;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => {
      alive = false;
      resolve({ code, signal });
    }),
  );
  const kill = (signal: NodeJS.Signals): void => {
    try {
      process.kill(-pgid, signal);
    } catch {
      // the group is gone
    }
  };
  return {
    child,
    output: () => out,
    exited,
    kill,
    async stop(graceMs = 10_000) {
      if (alive) {
        kill('SIGTERM');
        const timer = setTimeout(() => kill('SIGKILL'), graceMs);
        await exited;
        clearTimeout(timer);
      }
      // Stragglers of the group (helpers the server started) go too.
      kill('SIGKILL');
      liveGroups.delete(pgid);
    },
  };
}

/** Poll `attempt` until it resolves truthy; rejects with `what` and the last error after `timeoutMs`. */
export async function waitReady(attempt: () => Promise<boolean>, what: string, timeoutMs: number, dead?: () => string | null): Promise<void> {
  const end = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    const gone = dead?.();
    if (gone) throw new Error(`${what}: the server exited before it was ready:\n${gone}`);
    try {
      if (await attempt()) return;
    } catch (err) {
      last = (err as Error).message;
    }
    if (Date.now() > end) throw new Error(`${what}: not ready within ${timeoutMs} ms${last ? ` (last error: ${last})` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Why a broker suite must be skipped here, or false: skip only when the binary is missing and CI is not set. */
export function skipWithout(binary: string, name: string): string | false {
  if (existsSync(binary)) return false;
  if (process.env.CI) throw new Error(`${binary} is missing but CI is set: .ci/run installs ${name}; the broker tests must run in CI`);
  return `${binary} not found: install the Debian package ${name} to run this suite (skipped outside CI only)`;
}
