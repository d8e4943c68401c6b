// A Bitbucket home on disk as Bitbucket Data Center lays it out, for install
// tests: bare repositories under shared/data/repositories/<id>, each with a
// repository-config file, the hooks/post-receive trampoline (runs
// post-receive.d/* in sorted order with the same stdin, stops at the first
// non-zero exit) and a 20_bitbucket_callback that records that it ran.

import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Bitbucket's trampoline, reproduced in POSIX sh. */
export const TRAMPOLINE = `#!/bin/sh
# Fake of Bitbucket's hooks/post-receive trampoline.
hooks=$(cd "$(dirname "$0")" && pwd)
input=$(mktemp) || exit 1
cat > "$input"
for script in "$hooks"/post-receive.d/*; do
  [ -f "$script" ] && [ -x "$script" ] || continue
  "$script" "$@" < "$input"
  rc=$?
  if [ $rc -ne 0 ]; then rm -f "$input"; exit $rc; fi
done
rm -f "$input"
exit 0
`;

/** Bitbucket's callback stand-in: appends its stdin to <repo>/callback.log. */
export const CALLBACK = `#!/bin/sh
cat >> "$(cd "$(dirname "$0")/../.." && pwd)/callback.log"
exit 0
`;

/** One repository of the fake home. */
export interface FakeRepository {
  id: string;
  projectKey: string;
  slug: string;
}

/** Bitbucket's repository template: what `git init --template` copies into each new repository. */
export function makeTemplate(dir: string): string {
  mkdirSync(join(dir, 'hooks', 'post-receive.d'), { recursive: true });
  writeFileSync(join(dir, 'hooks', 'post-receive'), TRAMPOLINE, { mode: 0o755 });
  writeFileSync(join(dir, 'hooks', 'post-receive.d', '20_bitbucket_callback'), CALLBACK, { mode: 0o755 });
  chmodSync(join(dir, 'hooks', 'post-receive'), 0o755);
  return dir;
}

/** Create one repository the way Bitbucket does (template, repository-config). */
export function createRepository(home: string, template: string, repo: FakeRepository): string {
  const path = join(home, 'shared', 'data', 'repositories', repo.id);
  execFileSync('git', ['init', '--quiet', '--bare', `--template=${template}`, path]);
  writeFileSync(
    join(path, 'repository-config'),
    `[bitbucket]\n\thierarchy = ${'0'.repeat(19)}${repo.id}\n\tproject = ${repo.projectKey}\n\trepository = ${repo.slug}\n`,
  );
  return path;
}

/** A fake Bitbucket home under `dir` with `repos`; returns the home path and template. */
export function makeFakeBitbucketHome(dir: string, repos: FakeRepository[]): { home: string; template: string } {
  const home = join(dir, 'bitbucket-home');
  mkdirSync(join(home, 'shared', 'data', 'repositories'), { recursive: true });
  const template = makeTemplate(join(dir, 'bitbucket-template'));
  for (const repo of repos) createRepository(home, template, repo);
  return { home, template };
}

/** A work tree with one commit whose origin is `bareRepo`; returns its path. */
export function makeClone(dir: string, bareRepo: string, name = 'work'): string {
  const work = join(dir, name);
  const git = (...args: string[]): void => void execFileSync('git', args, { cwd: work, stdio: 'pipe' });
  mkdirSync(work, { recursive: true });
  git('init', '--quiet', '-b', 'main');
  git('config', 'user.email', 'dev@example.com');
  git('config', 'user.name', 'Dev');
  writeFileSync(join(work, 'README.md'), 'hello\n');
  git('add', 'README.md');
  git('commit', '--quiet', '-m', 'ABC-1 first commit');
  git('remote', 'add', 'origin', bareRepo);
  return work;
}
