// Where Bitbucket Server / Data Center keeps repositories and their hooks.
//
//   <home>/shared/data/repositories/<id>/            bare repository (numeric id)
//   <home>/shared/data/repositories/<id>/repository-config
//   <id>/hooks/post-receive                          Bitbucket's trampoline (do not edit)
//   <id>/hooks/post-receive.d/20_bitbucket_callback  Bitbucket's own callback (do not edit)
//   <id>/hooks/post-receive.d/90_bitbucket_relay     ours
//
// The trampoline runs every `post-receive.d/*` in sorted order with the same
// stdin and stops at the first non-zero exit, so ours sorts after Bitbucket's
// callback (its failure cannot hide the push from Bitbucket) and always exits 0.

import { join } from 'node:path';

/** File name of our hook inside `hooks/post-receive.d/`; sorts after `20_bitbucket_callback`. */
export const HOOK_FILE_NAME = '90_bitbucket_relay';

/** Bitbucket's own callback script name, which ours must sort after. */
export const BITBUCKET_CALLBACK_NAME = '20_bitbucket_callback';

/** `<home>/shared/data/repositories`: one directory per repository, named by its numeric id. */
export function repositoriesDir(bitbucketHome: string): string {
  return join(bitbucketHome, 'shared', 'data', 'repositories');
}

/** True when a directory name under repositories/ is a repository id. */
export function isRepositoryId(name: string): boolean {
  return /^[0-9]+$/.test(name);
}

/** Paths of the hook machinery inside one repository directory. */
export interface RepositoryHookPaths {
  /** `<repo>/hooks` — created by Bitbucket's repository template. */
  hooksDir: string;
  /** `<repo>/hooks/post-receive` — Bitbucket's trampoline. */
  trampoline: string;
  /** `<repo>/hooks/post-receive.d`. */
  scriptsDir: string;
  /** `<repo>/hooks/post-receive.d/90_bitbucket_relay`. */
  hookFile: string;
}

/** Hook paths for the repository at `repoPath`. */
export function repositoryHookPaths(repoPath: string): RepositoryHookPaths {
  const hooksDir = join(repoPath, 'hooks');
  const scriptsDir = join(hooksDir, 'post-receive.d');
  return { hooksDir, trampoline: join(hooksDir, 'post-receive'), scriptsDir, hookFile: join(scriptsDir, HOOK_FILE_NAME) };
}
