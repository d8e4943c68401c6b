// Where an operator command gets its answers: the daemon's control socket
// when it answers; otherwise the store itself — read-only for questions, and
// for actions read-write only under the store lock (which a live daemon
// holds), so the CLI never writes beside a running daemon.

import { configRedactor } from '../destinations/registry.ts';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { RelayConfig } from '../config/config-types.ts';
import { ConfigError, DEFAULT_PATHS, configPath, defaultConfig, formatConfigProblem, loadConfig, type ConfigProblem } from '../config/load-config.ts';
import { describeUnitSetting, readUnitEnvironment, unitFilePath } from '../config/unit-environment.ts';
import { connectControl, NoAnswerError, type ControlClient, type ConnectFailure } from '../admin/control-client.ts';
import { parseDuration } from '../config/units.ts';
import { ControlError, type ControlOp } from '../admin/control-protocol.ts';
import { claimStoreLock, StoreLockedError, type StoreLock } from '../store/store-lock.ts';
import { openStore, type Store } from '../store/index.ts';
import { EXIT, type CliIo } from './cli-io.ts';

/** The config as the CLI sees it: valid, or paths recovered from a broken file. */
export interface CliConfig {
  file: string;
  /** The validated config, or a stand-in with the paths found (destinations empty) when `valid` is false. */
  config: RelayConfig;
  valid: boolean;
  /** Formatted problems (file:line:column: …) when not valid. */
  problems: string[];
  /** Every problem is "cannot read" (this user lacks permission), not a mistake in the file. */
  unreadableOnly: boolean;
  /**
   * Every problem comes from a ${NAME} unset in this shell (and what the empty
   * value broke): the service may well have it, so a running daemon's own
   * config is the judge (status), not this shell's.
   */
  envOnly: boolean;
  /** About variables unset in this shell that the unit's environment supplied (the config then validated). */
  envNotes: string[];
  /** --timeout: how long to wait for the daemon's answer (default READ_TIMEOUT_MS / WRITE_TIMEOUT_MS). */
  timeoutMs?: number;
}

/** How long a read command waits for the daemon before it reads the store itself. */
export const READ_TIMEOUT_MS = 5_000;
/** How long a write command waits for the daemon (the request expires unapplied after that). */
export const WRITE_TIMEOUT_MS = 30_000;

/**
 * Load the config for an operator command. A broken file does not stop read
 * commands (at 3 a.m. the config may be what is broken): the socket, store and
 * spool paths are taken from whatever of the file still parses.
 */
export function loadCliConfig(explicit: string | undefined, env: NodeJS.ProcessEnv, socketOverride?: string, timeout?: string): CliConfig {
  const file = resolve(configPath(explicit, env));
  const withSocket = (c: RelayConfig): RelayConfig => (socketOverride ? { ...c, admin: { socket: resolve(socketOverride) } } : c);
  // parseCommand has already refused a --timeout that is not a duration.
  const timeoutMs = timeout === undefined ? undefined : (parseDuration(timeout) ?? undefined);
  const valid = (config: RelayConfig, envNotes: string[]): CliConfig => ({ file, config: withSocket(config), valid: true, problems: [], unreadableOnly: false, envOnly: false, envNotes, timeoutMs });
  let problems: ConfigProblem[];
  try {
    return valid(loadConfig(file, env), []);
  } catch (err) {
    problems = err instanceof ConfigError ? err.problems : [{ file, line: null, column: null, path: '', message: (err as Error).message }];
  }
  let unset = unsetVariables(problems);
  let envNotes: string[] = [];
  let unsetPaths = new Set<string>();
  if (unset.size > 0) {
    // An admin shell lacks what systemd gives the service: take those from the unit (when readable) and judge again.
    const unit = readUnitEnvironment(unitFilePath(env));
    const supplied: Record<string, string> = {};
    for (const name of unset.keys()) {
      const v = unit.vars.get(name);
      if (v) supplied[name] = v.value;
    }
    envNotes = Object.keys(supplied).map((name) => `\${${name}} is unset in this shell; ${describeUnitSetting(unit, name)} (used for this check)`);
    if (envNotes.length > 0) {
      try {
        return valid(loadConfig(file, { ...env, ...supplied }), envNotes);
      } catch (err) {
        if (err instanceof ConfigError) problems = err.problems;
        unset = unsetVariables(problems);
      }
    }
    unsetPaths = new Set(problems.filter((p) => UNSET_VAR.test(p.message)).map((p) => p.path));
    problems = problems.map((p) => {
      const name = UNSET_VAR.exec(p.message)?.[1];
      return name ? { ...p, message: `\${${name}} is unset in this shell; ${describeUnitSetting(unit, name)}` } : p;
    });
  }
  const unreadableOnly = problems.every((p) => /\b(EACCES|EPERM)\b/.test(p.message));
  const envOnly = unsetPaths.size > 0 && problems.every((p) => unsetPaths.has(p.path));
  return { file, config: withSocket(fallbackConfig(file)), valid: false, problems: problems.map(formatConfigProblem), unreadableOnly, envOnly, envNotes, timeoutMs };
}

/** The loader's message for a `${NAME}` not in the environment. */
const UNSET_VAR = /^\$\{([A-Za-z_][A-Za-z0-9_]*)\} is not set in the environment/;

/** `${NAME}` references the loader found unset: name → key path of the value holding it. */
function unsetVariables(problems: ConfigProblem[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const p of problems) {
    const name = UNSET_VAR.exec(p.message)?.[1];
    if (name) out.set(name, p.path);
  }
  return out;
}

/** Paths (node, spool, store, socket) from a config file that does not validate; defaults for what cannot be read. */
function fallbackConfig(file: string): RelayConfig {
  let raw: Record<string, any> = {};
  try {
    const parsed = parseYaml(readFileSync(file, 'utf8'));
    if (parsed && typeof parsed === 'object') raw = parsed;
  } catch {
    /* unreadable or not YAML: defaults */
  }
  const pick = (section: string, key: string, dflt: string): string => {
    const v = raw[section]?.[key];
    if (typeof v !== 'string' || v.includes('${')) return dflt;
    return isAbsolute(v) ? v : resolve(dirname(file), v);
  };
  const config = defaultConfig({ node: typeof raw.node === 'string' ? raw.node : undefined });
  return {
    ...config,
    file,
    spool: { ...config.spool, dir: pick('spool', 'dir', DEFAULT_PATHS.spool) },
    store: { ...config.store, path: pick('store', 'path', DEFAULT_PATHS.store) },
    admin: { socket: pick('admin', 'socket', DEFAULT_PATHS.socket) },
  };
}

/** An answered connection to the daemon. */
export interface DaemonTarget {
  kind: 'daemon';
  client: ControlClient;
  call<T>(op: ControlOp, args?: unknown, options?: { timeoutMs?: number }): Promise<T>;
  close(): void;
}

/** The store, opened by the CLI itself because the daemon did not answer. */
export interface LocalTarget {
  kind: 'local';
  store: Store;
  /** Why the daemon was not used (e.g. "daemon is not running (no answer on …)"). */
  reason: string;
  call<T>(op: ControlOp, args?: unknown, options?: { timeoutMs?: number }): Promise<T>;
  close(): void;
}

/** Where the command's operations run. */
export type Target = DaemonTarget | LocalTarget;

/** Result of openTarget: a target, or the message and exit status to give up with. */
export type TargetResult = { ok: true; target: Target } | { ok: false; status: number; message: string; daemonDown: ConnectFailure | null };

/** Connect to the daemon, else open the store (read-only for 'read'; locked read-write for 'write'). */
export async function openTarget(cli: CliConfig, mode: 'read' | 'write', command: string): Promise<TargetResult> {
  const { config } = cli;
  const conn = await connectControl(config.admin.socket);
  if (conn.ok) {
    const client = conn.client;
    const timeoutMs = cli.timeoutMs ?? (mode === 'read' ? READ_TIMEOUT_MS : WRITE_TIMEOUT_MS);
    return { ok: true, target: { kind: 'daemon', client, call: (op, args, options) => client.request(op, args, { timeoutMs, ...options }), close: () => client.close() } };
  }
  const storePath = config.store.path;
  if (mode === 'read') {
    let store: Store;
    try {
      store = openStore(storePath, { readOnly: true });
    } catch (err) {
      return { ok: false, status: EXIT.unavailable, message: `${conn.reason}\nand the store cannot be read either: ${(err as Error).message}`, daemonDown: conn };
    }
    return { ok: true, target: localTarget(store, cli, conn.reason, null) };
  }

  // Writing without the daemon: only when the daemon is really gone (a denied or hung socket is not "gone").
  if (conn.code === 'denied' || conn.code === 'timeout' || conn.code === 'error') {
    return { ok: false, status: EXIT.unavailable, message: `${conn.reason}; not changing the store behind the daemon's back`, daemonDown: conn };
  }
  if (!existsSync(storePath)) {
    return { ok: false, status: EXIT.unavailable, message: `${conn.reason}, and store ${storePath} does not exist yet (start the daemon once, or check store.path)`, daemonDown: conn };
  }
  let lock: StoreLock;
  try {
    lock = claimStoreLock(storePath, `relay ${command}`);
  } catch (err) {
    const holder = err instanceof StoreLockedError ? err.holder : null;
    const message = holder?.role === 'daemon'
      ? `the relay daemon (pid ${holder.pid}) holds store ${storePath} but does not answer on ${config.admin.socket}: it may be starting, stopping or hung (check its log / systemctl status bitbucket-relay); not changing the store behind it`
      : (err as Error).message;
    return { ok: false, status: EXIT.unavailable, message, daemonDown: conn };
  }
  let store: Store;
  try {
    store = openStore(storePath, { limits: { maxBytes: config.store.maxBytes } });
    store.redact = configRedactor(config);
  } catch (err) {
    lock.release();
    return { ok: false, status: EXIT.unavailable, message: `${conn.reason}, and the store cannot be opened for writing: ${(err as Error).message}`, daemonDown: conn };
  }
  return { ok: true, target: localTarget(store, cli, conn.reason, lock) };
}

function localTarget(store: Store, cli: CliConfig, reason: string, lock: StoreLock | null): LocalTarget {
  return {
    kind: 'local',
    store,
    reason,
    call: async <T>(op: ControlOp, args?: unknown) => {
      // Loaded only when needed: it pulls in the formats and the HTTP stack.
      const { runControlOp } = await import('../admin/control-ops.ts');
      return (await runControlOp({ store, config: cli.config }, op, args ?? {})) as T;
    },
    close() {
      store.close();
      lock?.release();
    },
  };
}

/** The one line a command prints (to stderr) when it works without the daemon. */
export function localNotice(target: LocalTarget): string {
  return `${target.reason}; ${target.store.readOnly ? 'reading' : 'changing'} the store directly: ${target.store.path}`;
}

/** Print an error from a target call and return the exit status it maps to. */
export function reportCallError(io: CliIo, command: string, err: unknown): number {
  if (err instanceof ControlError) {
    io.stderr.write(`relay ${command}: ${err.message}\n`);
    return err.code === 'bad-request' || err.code === 'unknown-op' ? EXIT.usage : err.code === 'internal' ? EXIT.unavailable : EXIT.attention;
  }
  const e = err as Error;
  io.stderr.write(`relay ${command}: ${e.message}\n`);
  return e.name === 'StoreError' ? EXIT.attention : EXIT.unavailable;
}

/**
 * Open a target for `command`, run `body` with it, close it. Prints why the
 * daemon was not used (stderr), and maps refusals and errors to exit statuses.
 */
export async function withTarget(io: CliIo, cli: CliConfig, mode: 'read' | 'write', command: string, body: (target: Target) => Promise<number>): Promise<number> {
  if (mode === 'write' && !cli.valid && !cli.unreadableOnly) {
    // Without a daemon the CLI acts on its own reading of the config; it must be sound.
    const conn = await connectControl(cli.config.admin.socket);
    if (!conn.ok) {
      io.stderr.write(`relay ${command}: ${conn.reason}, and ${cli.file} does not validate:\n${cli.problems.map((p) => `  ${p}`).join('\n')}\nfix it first (relay config check)\n`);
      return EXIT.config;
    }
    conn.client.close();
  }
  const opened = await openTarget(cli, mode, command);
  if (!opened.ok) {
    io.stderr.write(`relay ${command}: ${opened.message}\n`);
    return opened.status;
  }
  const { target } = opened;
  if (target.kind === 'local') io.stderr.write(`${localNotice(target)}\n`);
  let fallback: Target | null = null;
  try {
    return await body(target);
  } catch (err) {
    if (!(err instanceof NoAnswerError)) return reportCallError(io, command, err);
    if (mode === 'write') {
      // The request carried its deadline: the daemon refuses it if it reads it later.
      io.stderr.write(
        `relay ${command}: ${err.message}\nnot applied: the request expired at ${new Date(err.deadline).toISOString()} and the daemon drops it if it reads it later; ` +
          'run the command again once `relay status` shows the daemon answering\n',
      );
      return EXIT.unavailable;
    }
    // A hung daemon must not leave the operator without answers: the store has them.
    target.close();
    let store: Store;
    try {
      store = openStore(cli.config.store.path, { readOnly: true });
    } catch (storeErr) {
      io.stderr.write(`relay ${command}: ${err.message}\nand the store cannot be read either: ${(storeErr as Error).message}\n`);
      return EXIT.unavailable;
    }
    const local = localTarget(store, cli, err.message.replace(/^the daemon/, 'daemon'), null);
    fallback = local;
    io.stderr.write(`${localNotice(local)}\n`);
    try {
      return await body(local);
    } catch (localErr) {
      return reportCallError(io, command, localErr);
    }
  } finally {
    target.close();
    fallback?.close();
  }
}
