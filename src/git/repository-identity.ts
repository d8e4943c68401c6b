// Which Bitbucket repository a push went to, and how to link to it.
//
// Order (DESIGN.md "Repository identity"):
//   1. BB_PROJECT_KEY + BB_REPO_SLUG (hook scripts), or STASH_PROJECT_KEY +
//      STASH_REPO_NAME (Stash External Hooks);
//   2. Bitbucket's `repository-config` file in the repository directory
//      (`[bitbucket] project = KEY`, `repository = slug`);
//   3. a configured mapping by path;
//   4. the directory: slug = its name without ".git", project key = its parent's name.
// Numeric id from ".../repositories/<id>"; links from BB_BASE_URL (STASH_BASE_URL)
// or the configured base URL.

import type { Dirent } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import type { RepositoryInfo } from '../event/push-event.ts';
import { envBoolean, firstEnv, type HookEnv } from '../event/hook-context.ts';
import { gitConfigValue, parseGitConfig, type GitConfigEntry } from './git-config-file.ts';
import type { RepositoryMappingEntry } from './analysis-options.ts';

/** The repository cannot be read at all; analysis cannot produce an event. */
export class RepositoryUnreadableError extends Error {
  readonly repoPath: string;
  constructor(repoPath: string, message: string) {
    super(message);
    this.name = 'RepositoryUnreadableError';
    this.repoPath = repoPath;
  }
}

/** A repository located on disk, with the config files analysis reads (no git spawned). */
export interface OpenedRepository {
  /** Absolute path as given (not symlink-resolved: Bitbucket's id lives in it). */
  repoPath: string;
  gitDir: string;
  /** Parsed `repository-config`, null when absent. */
  repositoryConfig: GitConfigEntry[] | null;
  /** Parsed `config` of the repository, null when absent. */
  gitConfig: GitConfigEntry[] | null;
  /** Branch HEAD names ("main"), null when HEAD is detached or not a branch. */
  defaultBranch: string | null;
}

async function readOptional(p: string): Promise<string | null> {
  try {
    return await readFile(p, 'utf8');
  } catch {
    return null;
  }
}

/** A directory's entries by name, null when it cannot be listed. */
async function listOptional(dir: string): Promise<Map<string, Dirent> | null> {
  try {
    return new Map((await readdir(dir, { withFileTypes: true })).map((e) => [e.name, e]));
  } catch {
    return null;
  }
}

/** Whether a listed entry is a directory (a symlink is followed). */
async function isDirectoryEntry(dir: string, entry: Dirent | undefined): Promise<boolean> {
  if (!entry) return false;
  if (!entry.isSymbolicLink()) return entry.isDirectory();
  try {
    return (await stat(path.join(dir, entry.name))).isDirectory();
  } catch {
    return false;
  }
}

/**
 * Finds the git directory of a bare repository (Bitbucket's layout) or of a
 * work tree, and reads its config files. Throws RepositoryUnreadableError with
 * what to check when the path is not a readable repository. Runs once per
 * push, so it lists directories instead of probing for files one by one
 * (each probe of an absent file costs an exception on the main thread).
 */
export async function openRepository(repoPath: string): Promise<OpenedRepository> {
  const absolute = path.resolve(repoPath);
  let top: Map<string, Dirent>;
  try {
    top = new Map((await readdir(absolute, { withFileTypes: true })).map((e) => [e.name, e]));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOTDIR') throw new RepositoryUnreadableError(absolute, `repository ${absolute} is not a directory`);
    throw new RepositoryUnreadableError(absolute, `repository ${absolute} cannot be read (${code}): check the repository path in the spool record and that the relay user may read it`);
  }
  let gitDir = absolute;
  let entries: Map<string, Dirent> | null = top;
  const dotGit = top.get('.git');
  if (await isDirectoryEntry(absolute, dotGit)) gitDir = path.join(absolute, '.git');
  else if (dotGit) {
    const pointer = /^gitdir: (.+)$/m.exec((await readOptional(path.join(absolute, '.git'))) ?? '');
    if (pointer) gitDir = path.resolve(absolute, pointer[1].trim());
  }
  if (gitDir !== absolute) entries = await listOptional(gitDir);
  const present = (name: string) => entries?.has(name) ?? false;
  const readIfPresent = (name: string) => (present(name) ? readOptional(path.join(gitDir, name)) : Promise.resolve(null));
  const [head, repositoryConfigText, gitConfigText] = await Promise.all([readIfPresent('HEAD'), readIfPresent('repository-config'), readIfPresent('config')]);
  // A linked worktree's git dir has no objects/ of its own, only a commondir pointer.
  const hasObjects = present('commondir') || (await isDirectoryEntry(gitDir, entries?.get('objects')));
  if (head === null || !hasObjects) {
    throw new RepositoryUnreadableError(absolute, `${absolute} is not a git repository (no readable HEAD and objects/ in ${gitDir}): check the repository path and the relay user's permissions`);
  }
  return {
    repoPath: absolute,
    gitDir,
    repositoryConfig: repositoryConfigText === null ? null : parseGitConfig(repositoryConfigText),
    gitConfig: gitConfigText === null ? null : parseGitConfig(gitConfigText),
    defaultBranch: /^ref: refs\/heads\/(.+?)\s*$/.exec(head)?.[1] ?? null,
  };
}

/** Inputs of repositoryIdentity (all already read; the function is pure). */
export interface IdentityInput {
  repoPath: string;
  env: HookEnv;
  repositoryConfig: GitConfigEntry[] | null;
  mappings: readonly RepositoryMappingEntry[];
  baseUrl: string | null;
  /** HEAD's branch, when known (openRepository reads it). */
  defaultBranch?: string | null;
}

/** Bitbucket's numeric repository id from a path ending in ".../repositories/<id>", else null. */
export function repositoryIdFromPath(repoPath: string): number | null {
  const match = /(?:^|\/)repositories\/(\d+)\/*$/.exec(repoPath.replace(/\/\.git\/*$/, ''));
  return match ? Number(match[1]) : null;
}

function trimSlashes(url: string): string {
  return url.replace(/\/+$/, '');
}

/** Resolves project key, slug, id and links for a repository (see the order above). */
export function repositoryIdentity(input: IdentityInput): RepositoryInfo {
  const { env } = input;
  let projectKey: string;
  let slug: string;
  let identitySource: RepositoryInfo['identitySource'];
  const envKey = firstEnv(env, 'BB_PROJECT_KEY', 'STASH_PROJECT_KEY');
  const envSlug = firstEnv(env, 'BB_REPO_SLUG', 'STASH_REPO_NAME');
  const fileKey = input.repositoryConfig ? gitConfigValue(input.repositoryConfig, 'bitbucket.project') : null;
  const fileSlug = input.repositoryConfig ? gitConfigValue(input.repositoryConfig, 'bitbucket.repository') : null;
  const normalized = trimSlashes(input.repoPath);
  const mapping = input.mappings.find((m) => trimSlashes(path.resolve(m.path)) === normalized);
  if (envKey && envSlug) {
    [projectKey, slug, identitySource] = [envKey, envSlug, 'env'];
  } else if (fileKey && fileSlug) {
    [projectKey, slug, identitySource] = [fileKey, fileSlug, 'repository-config'];
  } else if (mapping) {
    [projectKey, slug, identitySource] = [mapping.projectKey, mapping.slug, 'config'];
  } else {
    const dir = normalized.endsWith('/.git') ? path.dirname(normalized) : normalized;
    slug = path.basename(dir).replace(/\.git$/, '');
    projectKey = path.basename(path.dirname(dir)) || slug;
    identitySource = 'directory';
  }
  const envBase = firstEnv(env, 'BB_BASE_URL', 'STASH_BASE_URL');
  const baseUrl = envBase ? trimSlashes(envBase) : input.baseUrl ? trimSlashes(input.baseUrl) : null;
  const repoUrl = baseUrl ? `${baseUrl}/projects/${encodeURIComponent(projectKey)}/repos/${encodeURIComponent(slug)}` : null;
  const clone = firstEnv(env, 'BB_REPO_CLONE_HTTP', 'STASH_REPO_CLONE_HTTP')
    ?? (baseUrl ? `${baseUrl}/scm/${encodeURIComponent(projectKey.toLowerCase())}/${encodeURIComponent(slug)}.git` : null);
  return {
    projectKey,
    slug,
    id: repositoryIdFromPath(input.repoPath),
    name: identitySource === 'env' ? firstEnv(env, 'STASH_REPO_NAME') ?? slug : slug,
    path: input.repoPath,
    baseUrl,
    links: { self: repoUrl ? `${repoUrl}/browse` : null, clone },
    defaultBranch: input.defaultBranch ?? null,
    public: envBoolean(env, 'BB_REPO_IS_PUBLIC'),
    fork: envBoolean(env, 'BB_REPO_IS_FORK', 'STASH_REPO_IS_FORK'),
    identitySource,
  };
}

/** Link to one commit in Bitbucket's UI, or null without a base URL. */
export function commitUrl(repository: RepositoryInfo, sha: string): string | null {
  if (!repository.baseUrl) return null;
  return `${repository.baseUrl}/projects/${encodeURIComponent(repository.projectKey)}/repos/${encodeURIComponent(repository.slug)}/commits/${sha}`;
}
