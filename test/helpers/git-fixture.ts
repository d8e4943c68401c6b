// Real repositories for tests: a bare "server" repository with the project's
// post-receive hook, a working clone that commits and pushes to it, and the
// spool record (ref lines, BB_* env) the hook wrote for each push. Everything
// lives in one temp dir; call cleanup().

import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Test } from 'tap';
import { parseSpoolRecord, type SpoolRecord } from '../../src/intake/spool-record.ts';
import type { RefLine } from '../../src/git/ref-lines.ts';

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
  /** Like push, returning the whole spool record the hook wrote (repo path, env, ref lines). */
  pushRecord(args: string[], env?: NodeJS.ProcessEnv): SpoolRecord;
  /** Full sha of a revision in the clone. */
  rev(revision: string): string;
  cleanup(): void;
}

const BASE_TIME = 1_700_000_000;

/** git with the fixture's isolated environment. */
function runGit(cwd: string, env: NodeJS.ProcessEnv, args: string[], input?: string | Buffer): string {
  return execFileSync('git', args, { cwd, env, input, stdio: ['pipe', 'pipe', 'pipe'], maxBuffer: 1 << 28 }).toString('utf8').trim();
}

/** The project's post-receive hook (hooks/post-receive). */
export const PROJECT_HOOK = fileURLToPath(new URL('../../hooks/post-receive', import.meta.url));

/**
 * Installs the project's real hook (hooks/post-receive) into the bare
 * repository; pushes made with RELAY_SPOOL_DIR=<spoolDir> leave one spool
 * record per push in <spoolDir>/incoming.
 */
export function installCaptureHook(bare: string, spoolDir: string): void {
  mkdirSync(path.join(spoolDir, 'incoming'), { recursive: true });
  const hook = path.join(bare, 'hooks', 'post-receive');
  copyFileSync(PROJECT_HOOK, hook);
  chmodSync(hook, 0o755);
}

/** Spool records the hook wrote since the last call, oldest first (and removes them). */
export function takeSpoolRecords(spoolDir: string): SpoolRecord[] {
  const incoming = path.join(spoolDir, 'incoming');
  const records: SpoolRecord[] = [];
  const names = readdirSync(incoming).filter((n) => n.endsWith('.push'));
  const stamped = names.map((name) => ({ name, mtimeNs: statSync(path.join(incoming, name), { bigint: true }).mtimeNs })).sort((a, b) => (a.mtimeNs < b.mtimeNs ? -1 : a.mtimeNs > b.mtimeNs ? 1 : 0));
  for (const { name, mtimeNs } of stamped) {
    const file = path.join(incoming, name);
    const parsed = parseSpoolRecord(readFileSync(file), { name, mtimeNs });
    if (!parsed.ok) throw new Error(`hook wrote an unreadable spool record ${file}: ${parsed.reason}`);
    records.push(parsed.record);
    unlinkSync(file);
  }
  return records;
}

/** Creates a bare repository (default branch main) with the capture hook, and a working clone. */
export function createGitFixture(prefix = 'relay-git-'): GitFixture {
  const root = mkdtempSync(path.join(os.tmpdir(), prefix));
  const bare = path.join(root, 'server', 'PROJ', 'repo.git');
  const work = path.join(root, 'work');
  const spoolDir = path.join(root, 'spool');
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
    RELAY_SPOOL_DIR: spoolDir,
  };
  mkdirSync(bare, { recursive: true });
  runGit(bare, env, ['init', '--quiet', '--bare', '--initial-branch=main']);
  installCaptureHook(bare, spoolDir);
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
      return fixture.pushRecord(args, extraEnv).refLines;
    },
    pushRecord(args, extraEnv = {}) {
      takeSpoolRecords(spoolDir);
      runGit(work, { ...env, ...extraEnv }, ['push', '--quiet', ...args]);
      const records = takeSpoolRecords(spoolDir);
      if (records.length !== 1) throw new Error(`expected one spool record for git push ${args.join(' ')}, found ${records.length}`);
      return records[0];
    },
    rev: (revision) => runGit(work, env, ['rev-parse', revision]),
    cleanup() {
      rmSync(root, { recursive: true, force: true });
    },
  };
  return fixture;
}

/** A fixture removed when the test ends. */
export function gitFixtureFor(t: Test, prefix?: string): GitFixture {
  const fx = createGitFixture(prefix);
  t.teardown(() => fx.cleanup());
  return fx;
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
