// Install, remove and verify our post-receive hook in Bitbucket repositories.
// Only ever touches `hooks/post-receive.d/90_bitbucket_relay` (and creates
// `post-receive.d/` when missing); Bitbucket's trampoline and callback are
// read, never written. Writes are byte-compared first (idempotent) and atomic
// (dot-named temp file + rename: the trampoline's `*` glob skips dotfiles, so a
// concurrent push never runs a half-written hook).

import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, chown, lstat, mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HOOK_FILE_NAME, isRepositoryId, repositoriesDir, repositoryHookPaths } from './bitbucket-layout.ts';

/** Mode our hook file gets: executable by the Bitbucket user, not writable by it. */
export const HOOK_MODE = 0o755;

/** A repository directory under `<home>/shared/data/repositories/`. */
export interface BitbucketRepository {
  /** Numeric repository id (the directory name). */
  id: string;
  /** Absolute path of the bare repository. */
  path: string;
}

/** An operator-actionable problem with the hook installation (bad home, unreadable hook source). */
export class HookInstallError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'HookInstallError';
  }
}

/** The hook script to install, read once. */
export interface HookSource {
  path: string;
  bytes: Buffer;
}

/** Path of the project's own `hooks/post-receive` (from src/install/ and dist/src/install/ alike). */
export function defaultHookSourcePath(): string {
  const candidates = ['../../hooks/post-receive', '../../../hooks/post-receive'].map((p) => fileURLToPath(new URL(p, import.meta.url)));
  return candidates.find((p) => existsSync(p)) ?? candidates[0];
}

/** Read the hook script to install (default: the project's `hooks/post-receive`). */
export async function readHookSource(path: string = defaultHookSourcePath()): Promise<HookSource> {
  try {
    const bytes = await readFile(path);
    if (!bytes.subarray(0, 2).equals(Buffer.from('#!'))) {
      throw new HookInstallError(`hook source ${path} does not start with "#!"; pass --hook with the relay's hooks/post-receive`);
    }
    return { path, bytes };
  } catch (err) {
    if (err instanceof HookInstallError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    throw new HookInstallError(`cannot read hook source ${path} (${code}); pass --hook FILE pointing at the relay's hooks/post-receive`);
  }
}

/**
 * Repositories under `<home>/shared/data/repositories`, by numeric id.
 * Throws HookInstallError when that directory does not exist (wrong home).
 */
export async function listRepositories(bitbucketHome: string): Promise<BitbucketRepository[]> {
  const dir = repositoriesDir(bitbucketHome);
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new HookInstallError(
      code === 'ENOENT'
        ? `${dir} does not exist: --bitbucket-home (or bitbucket.home) must be Bitbucket's home directory, the one holding shared/data/repositories (e.g. /var/atlassian/application-data/bitbucket)`
        : `cannot list ${dir} (${code}); run as root or as the Bitbucket user`,
    );
  }
  const repos: BitbucketRepository[] = [];
  for (const name of names.filter(isRepositoryId)) {
    const path = join(dir, name);
    try {
      if ((await stat(path)).isDirectory()) repos.push({ id: name, path });
    } catch {
      // Deleted while listing: nothing to do for it.
    }
  }
  return repos.sort((a, b) => Number(a.id) - Number(b.id));
}

/** The repository with `id`, or HookInstallError naming what to check. */
export async function findRepository(bitbucketHome: string, id: string): Promise<BitbucketRepository> {
  if (!isRepositoryId(id)) throw new HookInstallError(`--repo ${JSON.stringify(id)} is not a repository id; use the number from shared/data/repositories/<id> (Repository settings shows it)`);
  const path = join(repositoriesDir(bitbucketHome), id);
  if (!existsSync(path)) throw new HookInstallError(`repository ${id} not found: ${path} does not exist`);
  return { id, path };
}

/** How our hook stands in one repository. */
export type HookState =
  /** Present, identical to the source, executable. */
  | 'ok'
  /** Not there. */
  | 'missing'
  /** There, but with other content or not executable. */
  | 'outdated'
  /** The repository has no hooks/ directory (being created, or not a Bitbucket repository). */
  | 'no-hooks-dir';

/** Result of inspecting one repository. */
export interface HookStatus {
  repository: BitbucketRepository;
  state: HookState;
  /** Whether Bitbucket's `hooks/post-receive` trampoline exists; without it nothing in post-receive.d runs. */
  trampoline: boolean;
}

/** True when the status needs the operator's attention (`verify` exits non-zero). */
export function needsAttention(status: HookStatus): boolean {
  return status.state !== 'ok' || !status.trampoline;
}

/** Inspect our hook in one repository against the source bytes. */
export async function inspectHook(repository: BitbucketRepository, source: HookSource): Promise<HookStatus> {
  const paths = repositoryHookPaths(repository.path);
  const trampoline = existsSync(paths.trampoline);
  if (!existsSync(paths.hooksDir)) return { repository, state: 'no-hooks-dir', trampoline };
  let current: Buffer;
  let mode: number;
  try {
    mode = (await lstat(paths.hookFile)).mode;
    current = await readFile(paths.hookFile);
  } catch {
    return { repository, state: 'missing', trampoline };
  }
  const same = current.equals(source.bytes) && (mode & 0o777) === HOOK_MODE;
  return { repository, state: same ? 'ok' : 'outdated', trampoline };
}

/** What `installHook` did. */
export type InstallOutcome = 'installed' | 'updated' | 'unchanged' | 'skipped-no-hooks-dir';

/** Result of installing into one repository. */
export interface InstallResult {
  repository: BitbucketRepository;
  outcome: InstallOutcome;
  trampoline: boolean;
}

/** Options of `installHook`. */
export interface InstallOptions {
  /** Report what would change without writing. */
  dryRun?: boolean;
}

/**
 * Put our hook into one repository: idempotent (unchanged bytes and mode are
 * left alone), atomic, owned like the repository's hooks/ directory when run
 * as root (so Bitbucket can still manage and delete the directory).
 */
export async function installHook(repository: BitbucketRepository, source: HookSource, options: InstallOptions = {}): Promise<InstallResult> {
  const status = await inspectHook(repository, source);
  const done = (outcome: InstallOutcome): InstallResult => ({ repository, outcome, trampoline: status.trampoline });
  if (status.state === 'no-hooks-dir') return done('skipped-no-hooks-dir');
  if (status.state === 'ok') return done('unchanged');
  const outcome = status.state === 'missing' ? 'installed' : 'updated';
  if (options.dryRun) return done(outcome);

  const paths = repositoryHookPaths(repository.path);
  const owner = await stat(paths.hooksDir);
  const asRoot = process.getuid?.() === 0;
  if (!existsSync(paths.scriptsDir)) {
    await mkdir(paths.scriptsDir, { mode: 0o755 });
    if (asRoot) await chown(paths.scriptsDir, owner.uid, owner.gid);
  }
  const temp = join(paths.scriptsDir, `.${HOOK_FILE_NAME}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`);
  try {
    await writeFile(temp, source.bytes, { mode: 0o600, flag: 'wx' });
    if (asRoot) await chown(temp, owner.uid, owner.gid);
    await chmod(temp, HOOK_MODE);
    await rename(temp, paths.hookFile);
  } catch (err) {
    await rm(temp, { force: true });
    const code = (err as NodeJS.ErrnoException).code;
    const hint = code === 'EROFS'
      ? `read-only here; under systemd the unit needs ReadWritePaths=-${dirname(repository.path)} (install.sh adds it when it knows the Bitbucket home)`
      : `run as root or as the Bitbucket user that owns ${paths.hooksDir}`;
    throw new HookInstallError(`cannot write ${paths.hookFile} (${code}); ${hint}`);
  }
  return done(outcome);
}

/** Result of removing our hook from one repository. */
export interface UninstallResult {
  repository: BitbucketRepository;
  outcome: 'removed' | 'absent';
}

/** Remove our hook (only our file) from one repository. */
export async function uninstallHook(repository: BitbucketRepository, options: InstallOptions = {}): Promise<UninstallResult> {
  const { hookFile } = repositoryHookPaths(repository.path);
  if (!existsSync(hookFile)) return { repository, outcome: 'absent' };
  if (!options.dryRun) {
    try {
      await rm(hookFile);
    } catch (err) {
      throw new HookInstallError(`cannot remove ${hookFile} (${(err as NodeJS.ErrnoException).code}); run as root or as the Bitbucket user`);
    }
  }
  return { repository, outcome: 'removed' };
}

/** Which repositories an operation covers: one id, or all of them. */
export async function selectRepositories(bitbucketHome: string, repoId?: string): Promise<BitbucketRepository[]> {
  return repoId === undefined ? listRepositories(bitbucketHome) : [await findRepository(bitbucketHome, repoId)];
}
