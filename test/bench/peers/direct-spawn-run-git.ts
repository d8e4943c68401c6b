// The git runner before simple-git (direct node:child_process spawn), kept as
// the intake benchmark's peer: intake.bench.ts compiles it over
// dist/src/git/run-git.js of a second installed tree and drains the same
// backlog with it in the same run. Same exported surface as src/git/run-git.ts.

import { spawn } from 'node:child_process';

/** Cost of the git work done so far (shared by one analysis). */
export interface GitStats {
  /** git processes started. */
  spawns: number;
  /** Wall time spent waiting on them, summed (ms). */
  gitMs: number;
}

/** Same constant as src/git/run-git.ts (unused here: this runner has no timeout). */
export const DEFAULT_GIT_TIMEOUT_MS = 5 * 60_000;

/** Per-call options of GitRunner.run. */
export interface GitRunOptions {
  /** Written to git's stdin, which is then closed. */
  input?: string | Buffer;
  /** Receives stdout as it arrives; stdout is then not buffered in the result. */
  onStdout?: (chunk: Buffer) => void;
}

/** What a git process produced. */
export interface GitResult {
  stdout: Buffer;
  stderr: string;
}

/** git exited non-zero (or could not start); carries what an operator needs. */
export class GitCommandError extends Error {
  readonly args: string[];
  readonly exitCode: number | null;
  readonly stderr: string;
  readonly timedOut = false;
  constructor(message: string, args: string[], exitCode: number | null, stderr: string) {
    super(message);
    this.name = 'GitCommandError';
    this.args = args;
    this.exitCode = exitCode;
    this.stderr = stderr;
  }
}

// Inherited GIT_* variables (GIT_DIR, GIT_INDEX_FILE, GIT_QUARANTINE_PATH …
// when started from a hook) would point git elsewhere; keep only these.
const KEPT_GIT_VARIABLES = /^GIT_(?:EXEC_PATH|CONFIG_NOSYSTEM|CONFIG_GLOBAL|CONFIG_SYSTEM|TRACE\w*)$/;

/** The environment git runs with: stable messages, no prompts, no replace refs, no locks. */
export function gitEnvironment(base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(base)) {
    if (name.startsWith('GIT_') && !KEPT_GIT_VARIABLES.test(name)) continue;
    env[name] = value;
  }
  env.LC_ALL = 'C';
  env.GIT_TERMINAL_PROMPT = '0';
  env.GIT_OPTIONAL_LOCKS = '0';
  env.GIT_NO_REPLACE_OBJECTS = '1';
  return env;
}

/** gitEnvironment() of the environment the relay started with (read once: it costs ~0.1 ms per read). */
let processGitEnvironment: NodeJS.ProcessEnv | null = null;

/** Runs git with `--git-dir` fixed to one repository, counting spawns. */
export class GitRunner {
  readonly gitDir: string;
  readonly stats: GitStats;
  readonly gitBinary: string;
  readonly #env: NodeJS.ProcessEnv;

  constructor(gitDir: string, options: { gitBinary?: string; stats?: GitStats; timeoutMs?: number } = {}) {
    this.gitDir = gitDir;
    this.gitBinary = options.gitBinary ?? 'git';
    this.stats = options.stats ?? { spawns: 0, gitMs: 0 };
    this.#env = processGitEnvironment ??= gitEnvironment();
  }

  /** Runs `git --git-dir=<dir> <args…>`; rejects with GitCommandError on a non-zero exit. */
  run(args: string[], options: GitRunOptions = {}): Promise<GitResult> {
    const fullArgs = [`--git-dir=${this.gitDir}`, ...args];
    const started = performance.now();
    this.stats.spawns++;
    return new Promise<GitResult>((resolve, reject) => {
      const child = spawn(this.gitBinary, fullArgs, { env: this.#env, stdio: ['pipe', 'pipe', 'pipe'] });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      let errBytes = 0;
      child.stdout.on('data', (chunk: Buffer) => (options.onStdout ? options.onStdout(chunk) : out.push(chunk)));
      child.stderr.on('data', (chunk: Buffer) => {
        // Keep the head of stderr only: enough to explain, never unbounded.
        if (errBytes < 65536) err.push(chunk);
        errBytes += chunk.length;
      });
      // git may exit before reading all of stdin (e.g. a bad object): not our error to report.
      child.stdin.on('error', () => {});
      child.on('error', (error: NodeJS.ErrnoException) => {
        this.stats.gitMs += performance.now() - started;
        const hint = error.code === 'ENOENT' ? ` — "${this.gitBinary}" was not found; install git or set the git binary path` : '';
        reject(new GitCommandError(`could not start git${hint}: ${error.message}`, args, null, ''));
      });
      child.on('close', (code) => {
        this.stats.gitMs += performance.now() - started;
        const stderr = Buffer.concat(err).toString('utf8');
        if (code === 0) {
          resolve({ stdout: Buffer.concat(out), stderr });
          return;
        }
        const firstLines = stderr.trim().split('\n').slice(0, 3).join(' / ');
        reject(new GitCommandError(`git ${args[0]} failed (exit ${code}) in ${this.gitDir}: ${firstLines || 'no message'}`, args, code, stderr));
      });
      if (options.input !== undefined) child.stdin.end(options.input);
      else child.stdin.end();
    });
  }
}
