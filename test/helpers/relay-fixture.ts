// A whole relay for end-to-end tests: temp spool/store, a config file, bare
// repositories with the REAL hooks/post-receive installed, and the daemon as a
// real child process (`node bin/relay.js daemon`) that can be SIGTERMed or
// SIGKILLed. Pushes are real `git push`es through the hook.

import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { copyFileSync, chmodSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { openStore } from '../../src/store/store.ts';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
/** The project's hook and CLI entry. */
export const HOOK_PATH = path.join(ROOT, 'hooks', 'post-receive');
export const RELAY_BIN = path.join(ROOT, 'bin', 'relay.js');

/** A bare repository with our hook, and a clone that pushes to it. */
export interface TestRepo {
  bare: string;
  work: string;
  /** Commit a file change in the clone; returns the sha. */
  commit(file: string, content: string, message: string): string;
  /** `git push <args>` through the real hook; returns stderr (the pusher's `remote:` lines). */
  push(args: string[], env?: NodeJS.ProcessEnv): string;
  git(args: string[]): string;
}

/** A running (or stopped) daemon child process. */
export interface DaemonProcess {
  child: ChildProcess;
  /** Everything it printed (stdout + stderr). */
  output(): string;
  /** Parsed JSON log lines so far. */
  logLines(): Record<string, any>[];
  /** Resolves with the exit code (or signal) once it ends. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Wait until a log line satisfies `pred`. */
  waitForLog(pred: (line: Record<string, any>) => boolean, timeoutMs?: number): Promise<Record<string, any>>;
}

/** Options of createRelayFixture. */
export interface RelayFixtureOptions {
  /** Extra config merged over the fixture's (destinations etc.). */
  config?: Record<string, unknown>;
  prefix?: string;
}

/** A temp relay installation. */
export interface RelayFixture {
  root: string;
  spoolDir: string;
  storePath: string;
  configFile: string;
  /** Env for git pushes (hook finds the spool through RELAY_SPOOL_DIR). */
  pushEnv: NodeJS.ProcessEnv;
  writeConfig(config: Record<string, unknown>): void;
  createRepo(name: string): TestRepo;
  startDaemon(extraArgs?: string[], env?: NodeJS.ProcessEnv): Promise<DaemonProcess>;
  /** Run `relay <args>` to completion. */
  relay(args: string[], env?: NodeJS.ProcessEnv): { status: number | null; stdout: string; stderr: string };
  /** Spool records waiting in incoming/. */
  incoming(): string[];
  cleanup(): Promise<void>;
}

const GIT_ENV = {
  GIT_AUTHOR_NAME: 'Ada Author',
  GIT_AUTHOR_EMAIL: 'ada@example.com',
  GIT_COMMITTER_NAME: 'Cy Committer',
  GIT_COMMITTER_EMAIL: 'cy@example.com',
  GIT_CONFIG_NOSYSTEM: '1',
  LC_ALL: 'C',
};

/** Create temp dirs and a config (file destination `archive` at `<root>/events.jsonl` unless overridden). */
export function createRelayFixture(options: RelayFixtureOptions = {}): RelayFixture {
  const root = mkdtempSync(path.join(os.tmpdir(), options.prefix ?? 'relay-e2e-'));
  const spoolDir = path.join(root, 'spool');
  const storePath = path.join(root, 'state', 'relay.db');
  const configFile = path.join(root, 'relay.yaml');
  const home = path.join(root, 'home');
  mkdirSync(home);
  // install.sh creates these; the hook only writes into an existing incoming/.
  mkdirSync(path.join(spoolDir, 'incoming'), { recursive: true });
  mkdirSync(path.join(spoolDir, 'quarantine'), { recursive: true });
  const baseEnv = { ...process.env, ...GIT_ENV, HOME: home };
  const pushEnv = { ...baseEnv, RELAY_SPOOL_DIR: spoolDir, RELAY_HOOK_ENV: path.join(root, 'no-hook.env') };
  const daemons: DaemonProcess[] = [];

  const baseConfig = {
    spool: { dir: spoolDir },
    store: { path: storePath },
    admin: { socket: path.join(root, 'relay.sock') },
    log: { format: 'json', level: 'debug' },
    destinations: [{ name: 'archive', type: 'file', path: path.join(root, 'events.jsonl') }],
  };
  const writeConfig = (config: Record<string, unknown>): void => {
    writeFileSync(configFile, stringify({ ...baseConfig, ...config }));
  };
  writeConfig(options.config ?? {});

  const git = (cwd: string, args: string[], env: NodeJS.ProcessEnv = baseEnv): string =>
    execFileSync('git', args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] }).toString().trim();

  return {
    root,
    spoolDir,
    storePath,
    configFile,
    pushEnv,
    writeConfig,
    createRepo(name) {
      const bare = path.join(root, 'repos', `${name}.git`);
      const work = path.join(root, 'work', name);
      mkdirSync(bare, { recursive: true });
      git(bare, ['init', '--quiet', '--bare', '--initial-branch=main']);
      copyFileSync(HOOK_PATH, path.join(bare, 'hooks', 'post-receive'));
      chmodSync(path.join(bare, 'hooks', 'post-receive'), 0o755);
      mkdirSync(work, { recursive: true });
      git(work, ['init', '--quiet', '--initial-branch=main']);
      git(work, ['remote', 'add', 'origin', bare]);
      return {
        bare,
        work,
        commit(file, content, message) {
          mkdirSync(path.dirname(path.join(work, file)), { recursive: true });
          writeFileSync(path.join(work, file), content);
          git(work, ['add', '-A']);
          git(work, ['commit', '--quiet', '--no-verify', '-m', message]);
          return git(work, ['rev-parse', 'HEAD']);
        },
        push(args, env = {}) {
          const r = execFileSync('git', ['push', ...args], { cwd: work, env: { ...pushEnv, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
          return r.toString();
        },
        git: (args) => git(work, args),
      };
    },
    async startDaemon(extraArgs = [], env = {}) {
      const child = spawn(process.execPath, [RELAY_BIN, 'daemon', '--config', configFile, ...extraArgs], {
        env: { ...baseEnv, ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      const waiters: { pred: (l: Record<string, any>) => boolean; resolve: (l: Record<string, any>) => void }[] = [];
      const lines: Record<string, any>[] = [];
      let partial = '';
      const onData = (chunk: Buffer): void => {
        out += chunk.toString();
        partial += chunk.toString();
        const parts = partial.split('\n');
        partial = parts.pop() ?? '';
        for (const text of parts) {
          let line: Record<string, any>;
          try {
            line = JSON.parse(text);
          } catch {
            continue;
          }
          lines.push(line);
          for (const w of [...waiters]) {
            if (w.pred(line)) {
              waiters.splice(waiters.indexOf(w), 1);
              w.resolve(line);
            }
          }
        }
      };
      child.stdout!.on('data', onData);
      child.stderr!.on('data', onData);
      const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
        child.on('exit', (code, signal) => resolve({ code, signal })),
      );
      const proc: DaemonProcess = {
        child,
        output: () => out,
        logLines: () => lines,
        exited,
        waitForLog(pred, timeoutMs = 20_000) {
          const found = lines.find(pred);
          if (found) return Promise.resolve(found);
          return new Promise((resolve, reject) => {
            const timer = setTimeout(() => reject(new Error(`timed out waiting for a log line; output so far:\n${out.slice(-4000)}`)), timeoutMs);
            waiters.push({ pred, resolve: (l) => (clearTimeout(timer), resolve(l)) });
            void exited.then(() => setTimeout(() => reject(new Error(`daemon exited while waiting; output:\n${out.slice(-4000)}`)), 100));
          });
        },
      };
      daemons.push(proc);
      await Promise.race([
        // Loading the sources took over 20 s under load 28 (2 cores, the whole team): wait for the fact, bounded generously.
        proc.waitForLog((l) => l.message === 'relay daemon started', 60_000),
        exited.then((e) => {
          throw new Error(`daemon exited at start (${JSON.stringify(e)}):\n${out}`);
        }),
      ]);
      return proc;
    },
    relay(args, env = {}) {
      try {
        const stdout = execFileSync(process.execPath, [RELAY_BIN, ...args], { env: { ...baseEnv, RELAY_CONFIG: configFile, ...env }, stdio: ['ignore', 'pipe', 'pipe'] }).toString();
        return { status: 0, stdout, stderr: '' };
      } catch (err) {
        const e = err as { status: number | null; stdout: Buffer; stderr: Buffer };
        return { status: e.status, stdout: e.stdout?.toString() ?? '', stderr: e.stderr?.toString() ?? '' };
      }
    },
    incoming() {
      const dir = path.join(spoolDir, 'incoming');
      return existsSync(dir) ? (execFileSync('ls', ['-A', dir]).toString().split('\n').filter(Boolean)) : [];
    },
    async cleanup() {
      for (const d of daemons) {
        if (d.child.exitCode === null && d.child.signalCode === null) {
          d.child.kill('SIGKILL');
          await d.exited;
        }
      }
      rmSync(root, { recursive: true, force: true });
    },
  };
}

/** Poll `check` until it returns a truthy value (or time out with `what`). */
export async function waitUntil<T>(check: () => T | Promise<T>, what: string, timeoutMs = 20_000, stepMs = 50): Promise<NonNullable<Awaited<T>>> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v as NonNullable<Awaited<T>>;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

/**
 * Reason texts of the entries in a quarantine directory. An entry counts only
 * once it has been moved in: its reason file is written (and synced) before
 * the move, so it may exist, still empty, a moment earlier.
 */
export function quarantinedReasons(quarantineDir: string): string[] {
  const names = readdirSync(quarantineDir);
  return names
    .filter((n) => !n.endsWith('.reason.txt') && names.includes(`${n}.reason.txt`))
    .sort()
    .map((n) => readFileSync(path.join(quarantineDir, `${n}.reason.txt`), 'utf8'));
}

/** Events archived by a file destination. */
export function readJsonLines(file: string): any[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
}

/** Deliveries to `destination` not yet delivered (a read-only look at the daemon's store). */
export function undeliveredCount(fx: Pick<RelayFixture, 'storePath'>, destination: string): number {
  const store = openStore(fx.storePath, { readOnly: true });
  try {
    return (store.db.prepare(`SELECT count(*) AS n FROM deliveries WHERE destination = ? AND state != 'delivered'`).get(destination) as { n: number }).n;
  } finally {
    store.close();
  }
}
