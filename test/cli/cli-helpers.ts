// Helpers for operator-CLI tests: a temp relay installation (config, spool,
// store, socket), a real `relay daemon` child process on it, and `relay`
// commands run either in this process with captured streams (fast; the same
// code path) or as real child processes (exit status of the real binary).

import { spawn, execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Writable } from 'node:stream';
import net from 'node:net';
import { main } from '../../src/cli/main.ts';
import type { CliIo } from '../../src/cli/cli-io.ts';
import { connectControl } from '../../src/admin/control-client.ts';
import type { GitFixture } from '../helpers/git-fixture.ts';

/** The `relay` executable. */
export const RELAY_BIN = fileURLToPath(new URL('../../bin/relay.js', import.meta.url));

/** Something with teardown (a tap Test). */
export interface HasTeardown {
  teardown(fn: () => unknown): void;
}

/** A temp installation: paths plus a config writer. */
export interface RelayHome {
  dir: string;
  configFile: string;
  socket: string;
  storePath: string;
  spoolDir: string;
  /** Write relay.yaml: the fixed paths plus `body` (destinations etc.). */
  writeConfig(body: string): void;
}

/**
 * Commit a change in `git`'s work tree and `git push` it to main through the
 * real hook into `home`'s spool. `content` defaults to the message; `env`
 * adds what a Bitbucket hook script would set (BB_PROJECT_KEY …).
 */
export function pushChange(git: GitFixture, home: Pick<RelayHome, 'spoolDir'>, message: string, options: { file?: string; content?: string; env?: NodeJS.ProcessEnv } = {}): void {
  git.write(options.file ?? 'file.txt', options.content ?? message);
  git.commit(message);
  execFileSync('git', ['push', '--quiet', 'origin', 'HEAD:refs/heads/main'], { cwd: git.work, env: { ...git.env, RELAY_SPOOL_DIR: home.spoolDir, ...options.env } });
}

/** Create a temp installation, removed at teardown. */
export function makeRelayHome(t: HasTeardown, prefix = 'relay-cli-'): RelayHome {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const home: RelayHome = {
    dir,
    configFile: join(dir, 'relay.yaml'),
    socket: join(dir, 'run', 'relay.sock'),
    storePath: join(dir, 'state', 'relay.db'),
    spoolDir: join(dir, 'spool'),
    writeConfig(body) {
      writeFileSync(home.configFile, `node: test-node
spool: { dir: ${home.spoolDir} }
store: { path: ${home.storePath} }
admin: { socket: ${home.socket} }
log: { format: json, level: debug }
${body}`);
    },
  };
  mkdirSync(join(home.spoolDir, 'incoming'), { recursive: true });
  return home;
}

/** What a command printed and returned. */
export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** A writable that keeps what it is given, optionally claiming to be a terminal. */
export function captureStream(tty = false): Writable & { text(): string; isTTY?: boolean; columns?: number } {
  const chunks: string[] = [];
  const w = new Writable({
    write(chunk, _enc, cb) {
      chunks.push(chunk.toString());
      cb();
    },
  }) as Writable & { text(): string; isTTY?: boolean; columns?: number };
  w.text = () => chunks.join('');
  if (tty) {
    w.isTTY = true;
    w.columns = 100;
  }
  return w;
}

/** Run `relay <args>` in this process with captured output. */
export async function relay(args: string[], options: { env?: NodeJS.ProcessEnv; tty?: boolean } = {}): Promise<CommandResult> {
  const stdout = captureStream(options.tty);
  const stderr = captureStream(options.tty);
  const io: CliIo = { stdin: process.stdin, stdout, stderr, env: { PATH: process.env.PATH, TZ: process.env.TZ, ...options.env } };
  const code = await main(args, io);
  return { code, stdout: stdout.text(), stderr: stderr.text() };
}

/** Run the real `relay` binary as a child process. */
export function relayProcess(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CommandResult> {
  return new Promise((resolve) => {
    execFile(process.execPath, [RELAY_BIN, ...args], { env: { PATH: process.env.PATH, ...env }, timeout: 30_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** A `relay daemon` child process. */
export interface DaemonProcess {
  pid: number;
  /** Parsed JSON log lines so far. */
  logs: Record<string, unknown>[];
  /** Raw stderr so far. */
  stderr(): string;
  /** Resolve when a log line satisfies `match` (rejects after timeoutMs). */
  waitForLog(match: (line: Record<string, unknown>) => boolean, what: string, timeoutMs?: number): Promise<Record<string, unknown>>;
  signal(sig: NodeJS.Signals): void;
  /** SIGTERM and wait; resolves with the exit code. */
  stop(): Promise<number | null>;
}

/** Start `relay daemon --config FILE` and wait until its control socket answers. */
export async function startDaemon(t: HasTeardown, home: RelayHome, env: NodeJS.ProcessEnv = {}): Promise<DaemonProcess> {
  const proc = spawn(process.execPath, [RELAY_BIN, 'daemon', '--config', home.configFile], {
    env: { PATH: process.env.PATH, HOME: home.dir, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: Record<string, unknown>[] = [];
  let errText = '';
  let buf = '';
  const waiters = new Set<() => void>();
  proc.stdout!.on('data', (c: Buffer) => {
    buf += c.toString();
    const lines = buf.split('\n');
    buf = lines.pop()!;
    for (const l of lines) {
      try {
        logs.push(JSON.parse(l));
      } catch {
        logs.push({ message: l });
      }
    }
    for (const w of waiters) w();
  });
  proc.stderr!.on('data', (c: Buffer) => (errText += c.toString()));
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  let running = true;
  void exited.then(() => (running = false));
  const daemon: DaemonProcess = {
    pid: proc.pid!,
    logs,
    stderr: () => errText,
    waitForLog(match, what, timeoutMs = 10_000) {
      return new Promise((resolve, reject) => {
        const check = (): boolean => {
          const hit = logs.find(match);
          if (hit) {
            waiters.delete(check as () => void);
            clearTimeout(timer);
            resolve(hit);
            return true;
          }
          return false;
        };
        const timer = setTimeout(() => {
          waiters.delete(check as () => void);
          reject(new Error(`daemon did not log ${what} within ${timeoutMs} ms; log:\n${logs.map((l) => JSON.stringify(l)).join('\n')}\n${errText}`));
        }, timeoutMs);
        if (!check()) waiters.add(check as () => void);
      });
    },
    signal(sig) {
      if (running) proc.kill(sig);
    },
    async stop() {
      if (running) proc.kill('SIGTERM');
      return exited;
    },
  };
  t.teardown(async () => {
    if (running) {
      proc.kill('SIGKILL');
      await exited;
    }
  });
  const until = Date.now() + 15_000;
  for (;;) {
    if (!running) throw new Error(`daemon exited at start:\n${errText}\n${logs.map((l) => JSON.stringify(l)).join('\n')}`);
    const conn = await connectControl(home.socket, { timeoutMs: 500 });
    if (conn.ok) {
      conn.client.close();
      break;
    }
    if (Date.now() > until) throw new Error(`daemon socket ${home.socket} did not answer within 15 s:\n${errText}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return daemon;
}

/** Poll `check` until it returns true (rejects after timeoutMs naming `what`). */
export async function eventually(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** A free TCP port on 127.0.0.1 (bound and released). */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

/** Replace times, ages, pids and sizes in status/deliveries output with stable placeholders. */
export function normalizeOutput(text: string, home?: RelayHome): string {
  let out = text;
  if (home) out = out.split(home.dir).join('<home>');
  return out
    .replace(/\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(\.\d+)?Z?/g, '<time>')
    .replace(/\b(\d+d )?(\d+h )?(\d+m )?\d+(ms|s|m|h|d)( \d+(s|m|h))?( ago)?\b/g, (m) => (m.endsWith('ago') ? '<age> ago' : '<dur>'))
    .replace(/pid \d+/g, 'pid <pid>')
    .replace(/\d+(\.\d+)? (B|KiB|MiB|GiB)\b/g, '<size>');
}
