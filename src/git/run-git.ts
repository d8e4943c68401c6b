// Runs git against one repository through simple-git, and counts what it costs.
//
// One simple-git instance per git process: its input option feeds stdin
// (rev-list/log/cat-file --stdin, so argument lists never overflow), its
// outputHandler hands us stdout as raw byte chunks (messages and paths may be
// any bytes; raw()'s decoded string is ignored), its timeout plugin stops a
// git that produces no output for `timeoutMs`, and its errors option turns
// every non-zero exit into a GitCommandError naming the repository and the
// command (simple-git alone treats a non-zero exit without stderr as success).
// Per-call instances also keep simple-git from queueing one runner's calls
// behind each other (an instance runs its tasks one at a time).

import { existsSync } from 'node:fs';
import { GitError, GitPluginError, simpleGit, type SimpleGitOptions } from 'simple-git';
import { formatDuration } from '../config/units.ts';

/** Cost of the git work done so far (shared by one analysis). */
export interface GitStats {
  /** git processes started. */
  spawns: number;
  /** Wall time spent waiting on them, summed (ms). */
  gitMs: number;
}

/** Per-call options of GitRunner.run. */
export interface GitRunOptions {
  /** Written to git's stdin, which is then closed. */
  input?: string | Buffer;
  /** Receives stdout as it arrives; stdout is then not kept in the result. */
  onStdout?: (chunk: Buffer) => void;
}

/** What a git process produced. */
export interface GitResult {
  stdout: Buffer;
  stderr: string;
}

/** git exited non-zero, could not start, or went silent past the timeout; carries what an operator needs. */
export class GitCommandError extends GitError {
  readonly args: string[];
  /** null: git did not start, or was stopped (timedOut). */
  readonly exitCode: number | null;
  readonly stderr: string;
  /** Stopped after `timeoutMs` without output (analysis.gitTimeout). */
  readonly timedOut: boolean;
  constructor(message: string, args: string[], exitCode: number | null, stderr: string, timedOut = false) {
    super(undefined, message);
    this.name = 'GitCommandError';
    this.args = args;
    this.exitCode = exitCode;
    this.stderr = stderr;
    this.timedOut = timedOut;
  }
}

/** Default of analysis.gitTimeout: 5 minutes without a byte of output. */
export const DEFAULT_GIT_TIMEOUT_MS = 5 * 60_000;

/**
 * After the timeout plugin interrupted git, how long (at most; never more
 * than the timeout itself) we still wait for it to exit before giving up on it: a git blocked in the kernel (a stalled NFS
 * mount) cannot be killed, and must not hold the repository's lane.
 */
const EXIT_GRACE_MS = 10_000;

// Inherited GIT_* variables (GIT_DIR, GIT_INDEX_FILE, GIT_QUARANTINE_PATH …
// when started from a hook) would point git elsewhere; keep only these.
const KEPT_GIT_VARIABLES = /^GIT_(?:EXEC_PATH|CONFIG_NOSYSTEM|CONFIG_GLOBAL|CONFIG_SYSTEM|TRACE\w*)$/;
// Programs git could start on our behalf (editors, pagers, askpass): reading
// objects never needs them, and simple-git refuses to pass them on.
const DROPPED_VARIABLES = new Set(['EDITOR', 'VISUAL', 'PAGER', 'SSH_ASKPASS', 'PREFIX']);

/** The environment git runs with: stable messages, no prompts, no replace refs, no locks, no editor/pager. */
export function gitEnvironment(base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(base)) {
    if (name.startsWith('GIT_') && !KEPT_GIT_VARIABLES.test(name)) continue;
    if (DROPPED_VARIABLES.has(name.toUpperCase())) continue;
    env[name] = value;
  }
  env.LC_ALL = 'C';
  env.GIT_TERMINAL_PROMPT = '0';
  env.GIT_OPTIONAL_LOCKS = '0';
  env.GIT_NO_REPLACE_OBJECTS = '1';
  return env;
}

/** gitEnvironment() of the environment the relay started with, and its names (read once: it costs ~0.1 ms per read). */
let processGitEnvironment: { env: NodeJS.ProcessEnv; names: string[] } | null = null;

const EMPTY = Buffer.alloc(0);
const STDERR_KEPT = 65536;

/** The git subcommand in args (past `-c name=value` and other global options). */
function subcommand(args: readonly string[]): string {
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '-c') i++;
    else if (!args[i].startsWith('-')) return args[i];
  }
  return args[0] ?? '';
}

/** Runs git with `--git-dir` fixed to one repository, counting spawns. */
export class GitRunner {
  readonly gitDir: string;
  readonly stats: GitStats;
  readonly gitBinary: string;
  /** Silence (no stdout/stderr) after which git is stopped. */
  readonly timeoutMs: number;
  readonly #env: NodeJS.ProcessEnv;
  readonly #envNames: string[];

  constructor(gitDir: string, options: { gitBinary?: string; stats?: GitStats; timeoutMs?: number } = {}) {
    this.gitDir = gitDir;
    this.gitBinary = options.gitBinary ?? 'git';
    this.stats = options.stats ?? { spawns: 0, gitMs: 0 };
    this.timeoutMs = options.timeoutMs ?? DEFAULT_GIT_TIMEOUT_MS;
    processGitEnvironment ??= (() => {
      const env = gitEnvironment();
      return { env, names: Object.keys(env) };
    })();
    this.#env = processGitEnvironment.env;
    this.#envNames = processGitEnvironment.names;
  }

  /** Runs `git --git-dir=<dir> <args…>`; rejects with GitCommandError on a non-zero exit, a failed start or a timeout. */
  run(args: string[], options: GitRunOptions = {}): Promise<GitResult> {
    const fullArgs = [`--git-dir=${this.gitDir}`, ...args];
    const command = `git ${subcommand(args)}`;
    const started = performance.now();
    this.stats.spawns++;
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let errBytes = 0;
    const stderrText = () => Buffer.concat(err).toString('utf8');
    const silence = formatDuration(this.timeoutMs);
    const timedOut = () =>
      new GitCommandError(`${command} in ${this.gitDir} produced no output for ${silence} (analysis.gitTimeout) and was stopped`, args, null, stderrText(), true);

    return new Promise<GitResult>((resolve, reject) => {
      let settled = false;
      let backstop: NodeJS.Timeout | undefined;
      const settle = (fn: () => void): void => {
        if (settled) return;
        settled = true;
        clearTimeout(backstop);
        this.stats.gitMs += performance.now() - started;
        fn();
      };
      // Re-armed on every byte like the timeout plugin, EXIT_GRACE_MS later than it.
      const arm = (): void => {
        clearTimeout(backstop);
        backstop = setTimeout(() => settle(() => reject(timedOut())), this.timeoutMs + Math.min(EXIT_GRACE_MS, this.timeoutMs));
        backstop.unref();
      };
      const gitOptions: Partial<SimpleGitOptions> = {
        // simple-git needs an existing directory; a missing repository is git's to report (exit 128, "not a git repository").
        baseDir: existsSync(this.gitDir) ? this.gitDir : process.cwd(),
        binary: this.gitBinary,
        maxConcurrentProcesses: 1,
        timeout: { block: this.timeoutMs },
        // Always something to write: simple-git leaves stdin open for an empty input, and a `--stdin` git would wait on it.
        input: () => (options.input === undefined || options.input.length === 0 ? EMPTY : options.input),
        errors: (error, result) => {
          // `error` is what simple-git's own check made of the exit (a GitError from its output), or a plugin's.
          if (error instanceof GitPluginError) return error.plugin === 'timeout' ? timedOut() : error;
          if (result.exitCode === 0) return undefined;
          if (result.exitCode < 0) {
            // Node reports a failed spawn as a negative errno exit (-2: ENOENT).
            const hint = result.exitCode === -2 ? ` — "${this.gitBinary}" was not found; install git or set the git binary path` : '';
            return new GitCommandError(`could not start git${hint}: ${Buffer.concat(result.stdErr).toString('utf8').split('\n')[0]}`, args, null, '');
          }
          const stderr = stderrText();
          const firstLines = stderr.trim().split('\n').slice(0, 3).join(' / ');
          return new GitCommandError(`${command} failed (exit ${result.exitCode}) in ${this.gitDir}: ${firstLines || 'no message'}`, args, result.exitCode, stderr);
        },
        // Exactly the variables gitEnvironment() chose (simple-git would otherwise refuse GIT_* ones).
        allowEnvironment: this.#envNames,
        // The binary comes from the operator's config (analysis.gitBinary), --git-dir is ours, and the
        // GIT_EXEC_PATH / GIT_CONFIG_GLOBAL / GIT_CONFIG_SYSTEM kept above are the relay's own environment: none is input.
        unsafe: { allowUnsafeCustomBinary: true, allowUnsafeConfigPaths: true, allowUnsafeExec: true },
      };
      let git;
      try {
        git = simpleGit(gitOptions).env(this.#env);
      } catch (error) {
        settle(() => reject(new GitCommandError(`could not start ${command} in ${this.gitDir}: ${(error as Error).message}`, args, null, '')));
        return;
      }
      git.outputHandler((_bin, stdout, stderr) => {
        arm();
        // A streamed stdout (git log of a large push) would also be collected
        // whole by simple-git, whose result we ignore: detach its collector
        // (the only 'data' listener when the handler is called; the timeout
        // plugin attaches its own after this) so the output is held once.
        if (options.onStdout) for (const listener of stdout.listeners('data')) stdout.off('data', listener as (chunk: Buffer) => void);
        let quiet = true;
        stdout.on('data', (chunk: Buffer) => {
          arm();
          quiet = false;
          if (options.onStdout) options.onStdout(chunk);
          else out.push(chunk);
        });
        stderr.on('data', (chunk: Buffer) => {
          arm();
          quiet = false;
          // Keep the head of stderr only: enough to explain, never unbounded.
          if (errBytes < STDERR_KEPT) err.push(chunk);
          errBytes += chunk.length;
        });
        // simple-git's completion step waits a fixed 50 ms more for a git
        // that wrote nothing at all (rev-list of a branch created on known
        // commits, of a deleted ref, of a tag): 63 ms instead of 3 ms per call
        // here. An empty chunk once stdout has ended tells it the output is
        // complete; every listener takes a zero-length chunk as nothing.
        stdout.once('end', () => {
          if (quiet) stdout.emit('data', EMPTY);
        });
      });
      git.raw(fullArgs).then(
        () => settle(() => resolve({ stdout: Buffer.concat(out), stderr: stderrText() })),
        (error: unknown) =>
          settle(() => reject(error instanceof GitCommandError ? error : new GitCommandError(`${command} in ${this.gitDir}: ${(error as Error)?.message ?? String(error)}`, args, null, stderrText()))),
      );
    });
  }
}
