// Hook installer against a fake Bitbucket home with real bare repositories
// and a real push through Bitbucket's trampoline.
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  HookInstallError,
  inspectHook,
  installHook,
  listRepositories,
  readHookSource,
  selectRepositories,
  uninstallHook,
} from '../../src/install/bitbucket-hooks.ts';
import { HOOK_FILE_NAME, repositoryHookPaths } from '../../src/install/bitbucket-layout.ts';
import { makeClone, makeFakeBitbucketHome } from './fake-bitbucket.ts';

const dir = mkdtempSync(join(tmpdir(), 'relay-hooks-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

const repos = [
  { id: '1', projectKey: 'ABC', slug: 'api' },
  { id: '2', projectKey: 'ABC', slug: 'web' },
  { id: '10', projectKey: 'OPS', slug: 'tools' },
];
const { home } = makeFakeBitbucketHome(dir, repos);
const hookSourcePath = new URL('../../hooks/post-receive', import.meta.url).pathname;

const sha = (file: string): string => createHash('sha256').update(readFileSync(file)).digest('hex');
const bitbucketFiles = (repoPath: string): Record<string, string> => {
  const p = repositoryHookPaths(repoPath);
  return { trampoline: sha(p.trampoline), callback: sha(join(p.scriptsDir, '20_bitbucket_callback')) };
};

t.test('lists repositories by numeric id and ignores everything else', async (t) => {
  mkdirSync(join(home, 'shared/data/repositories/not-a-repo'));
  writeFileSync(join(home, 'shared/data/repositories/3'), 'a file, not a directory');
  const list = await listRepositories(home);
  t.same(list.map((r) => r.id), ['1', '2', '10'], 'numeric order, dirs only');
  t.equal(list[0].path, join(home, 'shared/data/repositories/1'));
  rmSync(join(home, 'shared/data/repositories/3'));
});

t.test('a wrong Bitbucket home is an error that says what to pass', async (t) => {
  await t.rejects(listRepositories(join(dir, 'nowhere')), HookInstallError);
  await t.rejects(listRepositories(join(dir, 'nowhere')), /shared\/data\/repositories.*--bitbucket-home/);
  await t.rejects(selectRepositories(home, '99'), /repository 99 not found/);
  await t.rejects(selectRepositories(home, '../1'), /not a repository id/);
});

t.test('install puts an exact executable copy after Bitbucket\'s callback and touches nothing else', async (t) => {
  const source = await readHookSource(hookSourcePath);
  const list = await listRepositories(home);
  const before = list.map((r) => bitbucketFiles(r.path));
  for (const repo of list) {
    const r = await installHook(repo, source);
    t.equal(r.outcome, 'installed', `repository ${repo.id}`);
    t.equal(r.trampoline, true);
    const { hookFile, scriptsDir } = repositoryHookPaths(repo.path);
    t.ok(readFileSync(hookFile).equals(source.bytes), 'byte-identical to hooks/post-receive');
    t.equal(statSync(hookFile).mode & 0o777, 0o755);
    // Sorted as the trampoline's glob sorts: Bitbucket's callback first, no temp files left.
    t.same(readdirSync(scriptsDir).sort(), ['20_bitbucket_callback', HOOK_FILE_NAME]);
  }
  t.same(list.map((r) => bitbucketFiles(r.path)), before, "Bitbucket's trampoline and callback unchanged");
});

t.test('install again changes nothing (same inode, same mtime)', async (t) => {
  const source = await readHookSource(hookSourcePath);
  const [repo] = await listRepositories(home);
  const { hookFile } = repositoryHookPaths(repo.path);
  const before = statSync(hookFile);
  const r = await installHook(repo, source);
  t.equal(r.outcome, 'unchanged');
  const after = statSync(hookFile);
  t.equal(after.ino, before.ino);
  t.equal(after.mtimeMs, before.mtimeMs);
});

t.test('outdated copies (content or mode) are found and replaced', async (t) => {
  const source = await readHookSource(hookSourcePath);
  const [, repo] = await listRepositories(home);
  const { hookFile } = repositoryHookPaths(repo.path);
  writeFileSync(hookFile, '#!/bin/sh\n# old version\nexit 0\n');
  t.equal((await inspectHook(repo, source)).state, 'outdated');
  t.equal((await installHook(repo, source)).outcome, 'updated');
  t.ok(readFileSync(hookFile).equals(source.bytes));
  chmodSync(hookFile, 0o644);
  t.equal((await inspectHook(repo, source)).state, 'outdated', 'not executable counts as outdated');
  t.equal((await installHook(repo, source, { dryRun: true })).outcome, 'updated', 'dry run reports');
  t.equal(statSync(hookFile).mode & 0o777, 0o644, 'dry run changed nothing');
  await installHook(repo, source);
  t.equal(statSync(hookFile).mode & 0o777, 0o755);
  t.equal((await inspectHook(repo, source)).state, 'ok');
});

t.test('a repository without hooks/ is skipped, one without the trampoline is flagged', async (t) => {
  const source = await readHookSource(hookSourcePath);
  const bare = join(home, 'shared/data/repositories/20');
  execFileSync('git', ['init', '--quiet', '--bare', '--template=', bare]);
  rmSync(join(bare, 'hooks'), { recursive: true, force: true });
  const repo = { id: '20', path: bare };
  t.equal((await inspectHook(repo, source)).state, 'no-hooks-dir');
  t.equal((await installHook(repo, source)).outcome, 'skipped-no-hooks-dir');
  t.notOk(existsSync(join(bare, 'hooks')), 'did not invent a hooks/ directory');
  mkdirSync(join(bare, 'hooks'));
  const r = await installHook(repo, source);
  t.equal(r.outcome, 'installed', 'creates post-receive.d when hooks/ exists');
  t.equal(r.trampoline, false, 'reports the missing trampoline');
  rmSync(bare, { recursive: true, force: true });
});

t.test('a real push runs Bitbucket\'s callback, then our hook, which spools the push', async (t) => {
  const [repo] = await listRepositories(home);
  const spool = join(dir, 'spool');
  mkdirSync(join(spool, 'incoming'), { recursive: true });
  const work = makeClone(dir, repo.path, 'push-work');
  execFileSync('git', ['push', '--quiet', 'origin', 'main'], { cwd: work, env: { ...process.env, RELAY_SPOOL_DIR: spool }, stdio: 'pipe' });
  const head = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: work }).toString().trim();
  const refLine = `${'0'.repeat(40)} ${head} refs/heads/main`;
  t.match(readFileSync(join(repo.path, 'callback.log'), 'utf8'), refLine, 'Bitbucket callback ran with the ref line');
  const records = readdirSync(join(spool, 'incoming'));
  t.equal(records.length, 1, 'one spool record');
  const record = readFileSync(join(spool, 'incoming', records[0]), 'utf8');
  t.match(record, refLine, 'record holds the ref line');
  t.match(record, repo.path, 'record names the repository');
});

t.test('concurrent installs into one repository (CLI and daemon at once) all succeed', async (t) => {
  const source = await readHookSource(hookSourcePath);
  const [, , repo] = await listRepositories(home);
  const { hookFile, scriptsDir } = repositoryHookPaths(repo.path);
  rmSync(hookFile, { force: true });
  const results = await Promise.all(Array.from({ length: 20 }, () => installHook(repo, source)));
  t.ok(results.every((r) => r.outcome === 'installed' || r.outcome === 'unchanged'));
  t.ok(readFileSync(hookFile).equals(source.bytes));
  t.same(readdirSync(scriptsDir).sort(), ['20_bitbucket_callback', HOOK_FILE_NAME], 'no temp files left');
});

t.test('uninstall removes only our file', async (t) => {
  const list = await listRepositories(home);
  for (const repo of list) {
    t.equal((await uninstallHook(repo)).outcome, 'removed');
    const { scriptsDir } = repositoryHookPaths(repo.path);
    t.same(readdirSync(scriptsDir), ['20_bitbucket_callback']);
    t.equal((await uninstallHook(repo)).outcome, 'absent', 'idempotent');
  }
});

t.test('as root, the hook belongs to the owner of the repository\'s hooks/', { skip: process.getuid?.() !== 0 && 'needs root' }, async (t) => {
  const source = await readHookSource(hookSourcePath);
  const [repo] = await listRepositories(home);
  const { hooksDir, scriptsDir, hookFile } = repositoryHookPaths(repo.path);
  rmSync(scriptsDir, { recursive: true });
  chownSync(hooksDir, 4242, 4343);
  t.teardown(() => chownSync(hooksDir, 0, 0));
  await installHook(repo, source);
  for (const p of [scriptsDir, hookFile]) {
    const st = statSync(p);
    t.same([st.uid, st.gid], [4242, 4343], p);
  }
});
