// Real repositories for tests: a bare "server" repository with a post-receive
// hook, a working clone that commits and pushes to it, and the ref lines the
// hook saw for each push. Everything lives in one temp dir; call cleanup().

import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseRefLines, type RefLine } from '../../src/git/ref-lines.ts';

/** Options of a commit made by the fixture. */
export interface CommitOptions {
  /** Seconds since the epoch; default: a clock that ticks one minute per commit. */
  time?: number;
  /** Timezone offset like "+0200" (default "+0000"). */
  tz?: string;
  author?: { name: string; email: string };
  /** Writes an `encoding` header and the message in that encoding (git -c i18n.commitEncoding). */
  encoding?: string;
  /** Allow a commit that changes nothing. */
  allowEmpty?: boolean;
}

/** A bare repository + working clone pair in a temp dir. */
export interface GitFixture {
  /** The temp dir holding everything. */
  root: string;
  /** The bare repository pushes go to (what the daemon analyzes). */
  bare: string;
  /** The working clone. */
  work: string;
  /** Environment the fixture runs git with (isolated HOME, no system config). */
  env: NodeJS.ProcessEnv;
  /** Runs git in the working clone; returns trimmed stdout. */
  git(args: string[], input?: string | Buffer): string;
  /** Runs git in the bare repository; returns trimmed stdout. */
  gitBare(args: string[], input?: string | Buffer): string;
  /** Writes a file in the working clone (directories created). */
  write(file: string, content: string | Buffer): void;
  remove(file: string): void;
  rename(from: string, to: string): void;
  symlink(file: string, target: string): void;
  setExecutable(file: string, executable: boolean): void;
  /** Stages everything and commits; returns the new commit's sha. */
  commit(message: string | Buffer, options?: CommitOptions): string;
  /**
   * Stages everything and writes the commit object byte for byte (git commit
   * would re-encode a non-UTF-8 message); moves the current branch to it.
   */
  commitBytes(message: Buffer, options?: { encoding?: string; authorName?: Buffer }): string;
  /** `git push <args>` from the clone; returns the ref lines the post-receive hook saw. */
  push(args: string[], env?: NodeJS.ProcessEnv): RefLine[];
  /** Full sha of a revision in the clone. */
  rev(revision: string): string;
  cleanup(): void;
}

const BASE_TIME = 1_700_000_000;

/** git with the fixture's isolated environment. */
function runGit(cwd: string, env: NodeJS.ProcessEnv, args: string[], input?: string | Buffer): string {
  return execFileSync('git', args, { cwd, env, input, stdio: ['pipe', 'pipe', 'pipe'], maxBuffer: 1 << 28 }).toString('utf8').trim();
}

/**
 * Installs the hook that records ref lines. Today a minimal capturing hook
 * (stdin → one file per push); when the project's hooks/post-receive lands,
 * this is the one place to switch to it (spool dir + parseSpoolRecord).
 */
export function installCaptureHook(bare: string, captureDir: string): void {
  mkdirSync(captureDir, { recursive: true });
  const hook = path.join(bare, 'hooks', 'post-receive');
  writeFileSync(hook, `#!/bin/sh\ncat > '${captureDir}/push.$$'\n`);
  chmodSync(hook, 0o755);
}

/** Ref lines recorded by the capture hook since the last call (and forgets them). */
export function takeCapturedRefLines(captureDir: string): RefLine[] {
  const lines: RefLine[] = [];
  for (const name of readdirSync(captureDir).sort()) {
    const file = path.join(captureDir, name);
    lines.push(...parseRefLines(readFileSync(file, 'utf8')).lines);
    unlinkSync(file);
  }
  return lines;
}

/** Creates a bare repository (default branch main) with the capture hook, and a working clone. */
export function createGitFixture(prefix = 'relay-git-'): GitFixture {
  const root = mkdtempSync(path.join(os.tmpdir(), prefix));
  const bare = path.join(root, 'server', 'PROJ', 'repo.git');
  const work = path.join(root, 'work');
  const captureDir = path.join(root, 'captured');
  const home = path.join(root, 'home');
  mkdirSync(home);
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: home,
    LC_ALL: 'C',
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_AUTHOR_NAME: 'Ada Author',
    GIT_AUTHOR_EMAIL: 'ada@example.com',
    GIT_COMMITTER_NAME: 'Cy Committer',
    GIT_COMMITTER_EMAIL: 'cy@example.com',
  };
  mkdirSync(bare, { recursive: true });
  runGit(bare, env, ['init', '--quiet', '--bare', '--initial-branch=main']);
  installCaptureHook(bare, captureDir);
  runGit(root, env, ['init', '--quiet', '--initial-branch=main', work]);
  runGit(work, env, ['remote', 'add', 'origin', bare]);
  let clock = BASE_TIME;

  const fixture: GitFixture = {
    root,
    bare,
    work,
    env,
    git: (args, input) => runGit(work, env, args, input),
    gitBare: (args, input) => runGit(bare, env, args, input),
    write(file, content) {
      const target = path.join(work, file);
      mkdirSync(path.dirname(target), { recursive: true });
      writeFileSync(target, content);
    },
    remove(file) {
      rmSync(path.join(work, file));
    },
    rename(from, to) {
      mkdirSync(path.dirname(path.join(work, to)), { recursive: true });
      renameSync(path.join(work, from), path.join(work, to));
    },
    symlink(file, target) {
      symlinkSync(target, path.join(work, file));
    },
    setExecutable(file, executable) {
      chmodSync(path.join(work, file), executable ? 0o755 : 0o644);
    },
    commit(message, options = {}) {
      clock += 60;
      const time = options.time ?? clock;
      const date = `@${time} ${options.tz ?? '+0000'}`;
      const commitEnv = { ...env, GIT_AUTHOR_DATE: date, GIT_COMMITTER_DATE: date };
      if (options.author) Object.assign(commitEnv, { GIT_AUTHOR_NAME: options.author.name, GIT_AUTHOR_EMAIL: options.author.email });
      runGit(work, commitEnv, ['add', '-A']);
      const messageFile = path.join(root, 'message.txt');
      writeFileSync(messageFile, message);
      const config = options.encoding ? ['-c', `i18n.commitEncoding=${options.encoding}`] : [];
      runGit(work, commitEnv, [...config, 'commit', '--quiet', '--no-verify', '--cleanup=verbatim', ...(options.allowEmpty ? ['--allow-empty'] : []), '-F', messageFile]);
      return runGit(work, env, ['rev-parse', 'HEAD']);
    },
    commitBytes(message, options = {}) {
      clock += 60;
      runGit(work, env, ['add', '-A']);
      const tree = runGit(work, env, ['write-tree']);
      let parent = '';
      try {
        parent = `parent ${runGit(work, env, ['rev-parse', '--verify', '--quiet', 'HEAD'])}\n`;
      } catch {
        parent = ''; // first commit of the clone
      }
      const author = Buffer.concat([options.authorName ?? Buffer.from('Ada Author'), Buffer.from(` <ada@example.com> ${clock} +0000\n`)]);
      const object = Buffer.concat([
        Buffer.from(`tree ${tree}\n${parent}author `), author,
        Buffer.from(`committer Cy Committer <cy@example.com> ${clock} +0000\n`),
        Buffer.from(options.encoding ? `encoding ${options.encoding}\n` : ''),
        Buffer.from('\n'), message,
      ]);
      const sha = runGit(work, env, ['hash-object', '-t', 'commit', '-w', '--stdin'], object);
      runGit(work, env, ['update-ref', 'HEAD', sha]);
      return sha;
    },
    push(args, extraEnv = {}) {
      takeCapturedRefLines(captureDir);
      runGit(work, { ...env, ...extraEnv }, ['push', '--quiet', ...args]);
      return takeCapturedRefLines(captureDir);
    },
    rev: (revision) => runGit(work, env, ['rev-parse', revision]),
    cleanup() {
      rmSync(root, { recursive: true, force: true });
    },
  };
  return fixture;
}

/** Options of fastImportHistory. */
export interface FastImportOptions {
  /** Branch to write, e.g. "refs/heads/main". */
  ref: string;
  commits: number;
  filesPerCommit: number;
  /** Revision the first commit continues from (default: the ref's current tip, or a root commit). */
  from?: string;
  /**
   * First commit's time (s); one second per commit after it. Default: well
   * before the fixture's commit clock, so dates increase along history (git's
   * walks stop early only without clock skew).
   */
  startTime?: number;
  /** Distinguishes file names and messages of separate imports. */
  label?: string;
}

/**
 * Writes a linear history fast (git fast-import: thousands of commits per
 * second) into the repository at cwd; each commit edits a few small files.
 */
export function fastImportHistory(cwd: string, env: NodeJS.ProcessEnv, options: FastImportOptions): void {
  const label = options.label ?? 'f';
  const start = options.startTime ?? BASE_TIME - 10_000_000;
  const chunks: string[] = [];
  const data = (text: string) => `data ${Buffer.byteLength(text)}\n${text}\n`;
  for (let i = 0; i < options.commits; i++) {
    const when = `${start + i} +0000`;
    chunks.push(`commit ${options.ref}\n`);
    chunks.push(`author Imp Orter <imp@example.com> ${when}\ncommitter Imp Orter <imp@example.com> ${when}\n`);
    chunks.push(data(`${label} commit ${i} PROJ-${i + 1}\n\nBody of commit ${i}.\n`));
    if (i === 0 && options.from) chunks.push(`from ${options.from}\n`);
    for (let f = 0; f < options.filesPerCommit; f++) {
      chunks.push(`M 100644 inline ${label}/dir${f % 10}/file${(i * options.filesPerCommit + f) % 500}.txt\n`);
      chunks.push(data(`line ${i}\nfile ${f}\n`));
    }
  }
  execFileSync('git', ['fast-import', '--quiet'], { cwd, env, input: chunks.join(''), stdio: ['pipe', 'pipe', 'pipe'], maxBuffer: 1 << 28 });
}
