// `relay hooks install|uninstall|verify` as an operator runs it, against a
// fake Bitbucket home with real bare repositories. Runs the command in
// process (captured streams, real exit statuses); one test runs the real
// `relay` executable to prove the wiring through bin/relay.js.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, existsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { main } from '../../src/cli/main.ts';
import { makeFakeBitbucketHome } from './fake-bitbucket.ts';
import { repositoryHookPaths } from '../../src/install/bitbucket-layout.ts';

const relayJs = fileURLToPath(new URL('../../bin/relay.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'relay-hooks-cli-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

const { home } = makeFakeBitbucketHome(dir, [
  { id: '1', projectKey: 'ABC', slug: 'api' },
  { id: '2', projectKey: 'ABC', slug: 'web' },
  { id: '3', projectKey: 'OPS', slug: 'tools' },
]);
const repoPath = (id: string): string => join(home, 'shared/data/repositories', id);
const env = { ...process.env, RELAY_CONFIG: join(dir, 'no-such-config.yaml') };

/** `relay hooks ...args` in process; resolves to its exit status and output. */
async function relay(...args: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (d) => (out += d));
  stderr.on('data', (d) => (err += d));
  const status = await main(['hooks', ...args], { stdin: new PassThrough(), stdout, stderr, env });
  return { status, stdout: out, stderr: err };
}

t.test('the real relay executable runs the command and exits with its status', async (t) => {
  const r = spawnSync(process.execPath, [relayJs, 'hooks', 'verify', '--bitbucket-home', home], { encoding: 'utf8', env });
  t.equal(r.status, 1, 'fresh home: hooks missing');
  t.match(r.stdout, '3 of 3 repositories need attention');
});

t.test('verify on a fresh home lists every repository and exits 1', async (t) => {
  const r = await relay('verify', '--bitbucket-home', home);
  t.equal(r.status, 1);
  for (const id of ['1', '2', '3']) t.match(r.stdout, `repository ${id}: missing: ${repositoryHookPaths(repoPath(id)).hookFile}`);
  t.match(r.stdout, /3 of 3 repositories need attention; fix with: relay hooks install --bitbucket-home /);
});

t.test('install, then verify passes; install again reports nothing to do', async (t) => {
  const first = await relay('install', '--bitbucket-home', home);
  t.equal(first.status, 0, first.stderr);
  t.match(first.stdout, 'hooks install: 3 installed, 0 updated, 0 unchanged, 0 skipped of 3 repositories');
  t.equal((await relay('verify', '--bitbucket-home', home)).status, 0);
  const again = await relay('install', '--bitbucket-home', home);
  t.equal(again.stdout, 'hooks install: 0 installed, 0 updated, 3 unchanged, 0 skipped of 3 repositories\n', 'only the summary line');
});

t.test('verify finds the repository whose hook was removed; install --repo fixes it', async (t) => {
  rmSync(repositoryHookPaths(repoPath('2')).hookFile);
  const r = await relay('verify', '--bitbucket-home', home);
  t.equal(r.status, 1);
  t.match(r.stdout, 'repository 2: missing');
  t.notMatch(r.stdout, 'repository 1:');
  t.notMatch(r.stdout, 'repository 3:');
  t.match(r.stdout, '1 of 3 repositories need attention');
  const fix = await relay('install', '--bitbucket-home', home, '--repo', '2');
  t.equal(fix.status, 0);
  t.match(fix.stdout, 'repository 2: installed');
  t.match(fix.stdout, 'of 1 repositories');
  t.equal((await relay('verify', '--bitbucket-home', home)).status, 0);
});

t.test('an outdated copy is reported as such', async (t) => {
  writeFileSync(repositoryHookPaths(repoPath('3')).hookFile, '#!/bin/sh\nexit 0\n', { mode: 0o755 });
  const r = await relay('verify', '--bitbucket-home', home);
  t.equal(r.status, 1);
  t.match(r.stdout, 'repository 3: outdated');
  t.match((await relay('install', '--bitbucket-home', home)).stdout, 'repository 3: updated');
});

t.test('--dry-run changes nothing; uninstall removes every copy', async (t) => {
  const dry = await relay('uninstall', '--bitbucket-home', home, '--dry-run');
  t.equal(dry.status, 0);
  t.match(dry.stdout, 'would remove 3 of 3 repositories (dry run: nothing changed)');
  t.ok(existsSync(repositoryHookPaths(repoPath('1')).hookFile));
  const r = await relay('uninstall', '--bitbucket-home', home);
  t.match(r.stdout, 'removed 3 of 3');
  for (const id of ['1', '2', '3']) t.notOk(existsSync(repositoryHookPaths(repoPath(id)).hookFile));
  t.ok(existsSync(join(repositoryHookPaths(repoPath('1')).scriptsDir, '20_bitbucket_callback')), "Bitbucket's callback stays");
});

t.test('the Bitbucket home can come from the config file', async (t) => {
  const config = join(dir, 'relay.yaml');
  writeFileSync(config, `bitbucket:\n  home: ${home}\n`);
  const r = await relay('verify', '--config', config);
  t.equal(r.status, 1, 'hooks were uninstalled above');
  t.match(r.stdout, '3 of 3 repositories need attention');
});

t.test('operator mistakes get actionable messages and distinct exit codes', async (t) => {
  const noHome = await relay('verify');
  t.equal(noHome.status, 3);
  t.match(noHome.stderr, /no --bitbucket-home given and no config at .*no-such-config\.yaml; pass --bitbucket-home DIR/);
  const wrongHome = await relay('install', '--bitbucket-home', dir);
  t.equal(wrongHome.status, 3);
  t.match(wrongHome.stderr, 'shared/data/repositories does not exist');
  const badHook = await relay('install', '--bitbucket-home', home, '--hook', join(dir, 'missing-hook'));
  t.equal(badHook.status, 3);
  t.match(badHook.stderr, /cannot read hook source .*missing-hook \(ENOENT\)/);
  const badAction = await relay('reinstall');
  t.equal(badAction.status, 2);
  t.match(badAction.stderr, 'unknown action "reinstall"');
  const help = await relay('--help');
  t.equal(help.status, 0);
  t.match(help.stdout, 'usage: relay hooks install|uninstall|verify');
});
