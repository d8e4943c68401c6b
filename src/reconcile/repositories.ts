// Which repositories reconciliation looks at: every repository directory
// under `bitbucket.home` (shared/data/repositories/<id>) and every path in
// `bitbucket.repositories`. Listed afresh each sweep (one readdir), so new
// repositories are picked up and deleted ones dropped.

import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { RelayConfig } from '../config/config-types.ts';
import { isRepositoryId, repositoriesDir } from '../install/bitbucket-layout.ts';

/** Repository paths for `config` (as configured, not yet resolved). */
export function listRepositories(config: Pick<RelayConfig, 'bitbucket'>): string[] {
  const out: string[] = [];
  if (config.bitbucket.home) {
    const dir = repositoriesDir(config.bitbucket.home);
    try {
      for (const e of readdirSync(dir, { withFileTypes: true })) if (e.isDirectory() && isRepositoryId(e.name)) out.push(join(dir, e.name));
    } catch {
      /* no repositories yet */
    }
  }
  for (const r of config.bitbucket.repositories) out.push(r.path);
  return out;
}
