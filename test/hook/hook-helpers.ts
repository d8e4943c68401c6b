// Test helpers around the real post-receive hook: temp dirs, bare repositories
// with the hook installed, real `git push`, and running the hook directly.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, mkdirSync, copyFileSync, chmodSync, writeFileSync, readdirSync, readFileSync, statSync, openSync, writeSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Absolute path of hooks/post-receive in this checkout. */
export const HOOK_PATH = fileURLToPath(new URL('../../hooks/post-receive', import.meta.url));

/** The shells the hook must work under (argv prefix). */
export const SHELLS: Record<string, string[]> = {
  dash: ['dash'],
  'bash --posix': ['bash', '--posix'],
};

/** A minimal, predictable environment for child git/hook processes (no RELAY_* leaking in). */
export function baseEnv(home: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: home,
    LANG: 'C.UTF-8',
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_AUTHOR_NAME: 'Test Author',
    GIT_AUTHOR_EMAIL: 'author@example.com',
    GIT_COMMITTER_NAME: 'Test Committer',
    GIT_COMMITTER_EMAIL: 'committer@example.com',
    GIT_TERMINAL_PROMPT: '0',
    ...extra,
  };
}

/** mkdtemp under the OS temp dir; removed when the test ends. */
export function tempDir(t: { teardown(fn: () => void): void }, prefix = 'relay-hook-'): string {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Creates <root>/incoming (and quarantine) and returns the spool dir. */
export function makeSpool(root: string, name = 'spool'): string {
  const spool = path.join(root, name);
  mkdirSync(path.join(spool, 'incoming'), { recursive: true });
  mkdirSync(path.join(spool, 'quarantine'), { recursive: true });
  return spool;
}

/** Runs git, throwing with its stderr on failure. */
export function git(cwd: string, args: string[], env: Record<string, string>, input?: string): string {
  const r = spawnSync('git', args, { cwd, env, input, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`git ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
  return r.stdout;
}

/** Where the hook goes in a bare repository. */
export type HookPlacement = 'post-receive' | 'post-receive.d';

/**
 * A Bitbucket-style trampoline: runs every executable in hooks/post-receive.d
 * in sorted order, each with the same stdin (as Bitbucket's does).
 */
export const TRAMPOLINE = `#!/bin/sh
stdin_copy=$(mktemp) || exit 0
cat >"$stdin_copy"
for hook in "$(dirname "$0")"/post-receive.d/*; do
  [ -x "$hook" ] || continue
  "$hook" <"$stdin_copy" || :
done
rm -f "$stdin_copy"
exit 0
`;

/** A bare repository with our hook installed (directly, or under post-receive.d via a trampoline). */
export function makeBareRepo(root: string, name: string, placement: HookPlacement, env: Record<string, string>, hookShell?: string): string {
  const repo = path.join(root, name);
  git(root, ['init', '-q', '--bare', repo], env);
  const hooks = path.join(repo, 'hooks');
  const hookText = readFileSync(HOOK_PATH, 'utf8');
  // Optionally pin the interpreter (e.g. to test bash --posix instead of /bin/sh).
  const text = hookShell ? hookText.replace(/^#!.*\n/, `#!${hookShell}\n`) : hookText;
  if (placement === 'post-receive') {
    writeFileSync(path.join(hooks, 'post-receive'), text, { mode: 0o755 });
  } else {
    mkdirSync(path.join(hooks, 'post-receive.d'));
    writeFileSync(path.join(hooks, 'post-receive'), TRAMPOLINE, { mode: 0o755 });
    // Another hook before ours, as Bitbucket has its own callback there.
    writeFileSync(path.join(hooks, 'post-receive.d', '10-other'), '#!/bin/sh\ncat >/dev/null\n', { mode: 0o755 });
    writeFileSync(path.join(hooks, 'post-receive.d', '20-bitbucket-relay'), text, { mode: 0o755 });
  }
  return repo;
}

/** A work repository with one commit on main, pushing to `remote`. */
export function makeWorkRepo(root: string, name: string, env: Record<string, string>): string {
  const work = path.join(root, name);
  git(root, ['init', '-q', '-b', 'main', work], env);
  writeFileSync(path.join(work, 'README'), 'hello\n');
  git(work, ['add', 'README'], env);
  git(work, ['commit', '-q', '-m', 'first'], env);
  return work;
}

/** Adds one commit touching `file` in `work`; returns its sha. */
export function commit(work: string, env: Record<string, string>, file = 'file.txt', message = 'change'): string {
  const p = path.join(work, file);
  let prev = '';
  try { prev = readFileSync(p, 'utf8'); } catch { /* new file */ }
  writeFileSync(p, `${prev}${Date.now()} ${Math.random()}\n`);
  git(work, ['add', file], env);
  git(work, ['commit', '-q', '-m', message], env);
  return git(work, ['rev-parse', 'HEAD'], env).trim();
}

/** `git push` with the given env; returns exit status and stderr (where `remote:` lines appear). */
export function push(work: string, remote: string, refspecs: string[], env: Record<string, string>): { status: number | null; stderr: string } {
  const r = spawnSync('git', ['push', '--porcelain', remote, ...refspecs], { cwd: work, env, encoding: 'utf8' });
  return { status: r.status, stderr: r.stderr };
}

/** Runs the hook directly under `shell` with stdin and env. */
export function runHook(shell: string[], opts: { env: Record<string, string>; stdin?: string | Buffer; cwd: string }): { status: number | null; stderr: string; stdout: string } {
  const r = spawnSync(shell[0], [...shell.slice(1), HOOK_PATH], {
    cwd: opts.cwd,
    env: opts.env,
    input: opts.stdin ?? '',
    encoding: 'utf8',
  });
  return { status: r.status, stderr: r.stderr, stdout: r.stdout };
}

/** Names of the files in <spool>/incoming, sorted. */
export function incomingFiles(spool: string): string[] {
  return readdirSync(path.join(spool, 'incoming')).sort();
}

/** Reads one record file with what the parser needs. */
export function readRecordFile(file: string): { bytes: Buffer; meta: { name: string; mtimeNs: bigint } } {
  const st = statSync(file, { bigint: true });
  return { bytes: readFileSync(file), meta: { name: path.basename(file), mtimeNs: st.mtimeNs } };
}

/** Makes a file or directory read-only/writable (for non-root permission tests). */
export function chmod(p: string, mode: number): void {
  chmodSync(p, mode);
}

/** Copies the hook somewhere else (e.g. for variants in benchmarks). */
export function copyHook(to: string): void {
  copyFileSync(HOOK_PATH, to);
  chmodSync(to, 0o755);
}

/** Whether tests run as root (modes do not stop root; mounts can). */
export const isRoot = process.getuid?.() === 0;

/** Whether this process can mount a tmpfs (root with CAP_SYS_ADMIN): probed once. */
export const canMount = ((): boolean => {
  if (!isRoot) return false;
  const probe = mkdtempSync(path.join(tmpdir(), 'relay-mount-probe-'));
  try {
    const m = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=16k', 'tmpfs', probe]);
    if (m.status !== 0) return false;
    spawnSync('umount', [probe]);
    return true;
  } finally {
    rmSync(probe, { recursive: true, force: true });
  }
})();

/**
 * Mounts a small tmpfs at `dir` (root only; "ro" in options remounts it
 * read-only after mounting); unmounted at teardown. False when not possible.
 */
export function mountTmpfs(t: { teardown(fn: () => void): void }, dir: string, options: string): boolean {
  if (!canMount) return false;
  const parts = options.split(',');
  const rw = parts.filter((o) => o !== 'ro').join(',');
  const m = spawnSync('mount', ['-t', 'tmpfs', '-o', rw, 'tmpfs', dir], { encoding: 'utf8' });
  if (m.status !== 0) return false;
  t.teardown(() => { spawnSync('umount', [dir]); });
  if (parts.includes('ro') && spawnSync('mount', ['-o', 'remount,ro', dir]).status !== 0) return false;
  return true;
}

/** Writes to `file` until the filesystem reports ENOSPC (a real full disk). */
export function fillUp(file: string): void {
  const fd = openSync(file, 'w');
  const chunk = Buffer.alloc(4096, 1);
  try {
    for (;;) writeSync(fd, chunk);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
  } finally {
    closeSync(fd);
  }
}
