// `--repo` means one thing everywhere: a Bitbucket repository named by its
// numeric id (3), by PROJECT/slug (ABC/api) or by its directory. One function
// resolves all three to the directory and the identity (project key, slug, id).

import { existsSync, statSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { listRepositories } from '../install/bitbucket-hooks.ts';
import { repositoriesDir } from '../install/bitbucket-layout.ts';
import { openRepository, repositoryIdentity, repositoryIdFromPath } from '../git/repository-identity.ts';

/** A repository as `--repo` named it, resolved. */
export interface RepoArg {
  /** Absolute directory of the bare repository. */
  path: string;
  projectKey: string;
  slug: string;
  /** Bitbucket's numeric id, when the path holds it. */
  id: number | null;
}

/** Resolved, or what to tell the operator. */
export type RepoArgResult =
  | { ok: true; repo: RepoArg }
  /** `unreadable`: the directory was named but cannot be read as a repository (not a usage mistake). */
  | { ok: false; message: string; unreadable?: boolean };

const FORMS = 'a numeric repository id (3), PROJECT/slug (ABC/api) or the repository\'s directory';

async function identify(path: string): Promise<RepoArg> {
  const opened = await openRepository(path);
  const info = repositoryIdentity({ repoPath: path, env: {}, repositoryConfig: opened.repositoryConfig, mappings: [], baseUrl: null, defaultBranch: opened.defaultBranch });
  return { path, projectKey: info.projectKey, slug: info.slug, id: repositoryIdFromPath(path) };
}

/**
 * Resolve `--repo TEXT`: an existing directory is taken as it is; a number is
 * `<home>/shared/data/repositories/<n>`; PROJECT/slug is looked up among the
 * repositories under `home` (project key case-insensitively, as Bitbucket does).
 */
export async function resolveRepoArg(text: string, bitbucketHome: string | null, cwd: string = process.cwd()): Promise<RepoArgResult> {
  const asPath = isAbsolute(text) ? text : resolve(cwd, text);
  const isDir = existsSync(asPath) && statSync(asPath).isDirectory();
  // Written as a path (/…, ./…, ../…, ~/…): a directory, even one that is not there (the error then says so).
  const looksLikePath = /^(\/|\.{1,2}\/|~\/)/.test(text);
  if ((isDir && (!/^\d+$/.test(text) || !bitbucketHome)) || looksLikePath) {
    try {
      return { ok: true, repo: await identify(asPath) };
    } catch (err) {
      return { ok: false, message: `--repo ${text}: ${asPath} is not a readable git repository (${(err as Error).message})`, unreadable: true };
    }
  }
  const byId = /^\d+$/.test(text);
  const byKey = /^([^/\s]+)\/([^/\s]+)$/.exec(text);
  if (!byId && !byKey) return { ok: false, message: `--repo "${text}" is neither ${FORMS}` };
  if (!bitbucketHome) return { ok: false, message: `--repo ${text}: to find a repository by ${byId ? 'id' : 'PROJECT/slug'} the Bitbucket home is needed: set bitbucket.home in the config or pass --bitbucket-home (or give the repository's directory)` };
  if (byId) {
    const path = resolve(repositoriesDir(bitbucketHome), text);
    if (!existsSync(path)) return { ok: false, message: `--repo ${text}: no repository with id ${text} (${path} does not exist)` };
    return { ok: true, repo: await identify(path) };
  }
  let repos;
  try {
    repos = await listRepositories(bitbucketHome);
  } catch (err) {
    return { ok: false, message: `--repo ${text}: ${(err as Error).message}` };
  }
  for (const r of repos) {
    const found = await identify(r.path).catch(() => null);
    if (found && found.projectKey.toUpperCase() === byKey![1].toUpperCase() && found.slug === byKey![2]) return { ok: true, repo: found };
  }
  return { ok: false, message: `--repo ${text}: no repository ${text} under ${repositoriesDir(bitbucketHome)} (${repos.length} repositories searched)` };
}
