// `relay hooks install|uninstall|verify --scripts` against the fake Bitbucket
// REST server (real HTTP on 127.0.0.1, Atlassian's documented shapes) and a
// Bitbucket home on disk with real bare repositories: create + enable, idempotent
// second run, content upgrade in place, file hooks removed, dry run, feature
// off, non-admin token, uninstall; then a real push through the registered
// script content run as Bitbucket runs hook scripts (BB_* environment, ref
// lines on stdin).

import t from 'tap';
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { stringify } from 'yaml';
import { main } from '../../src/cli/main.ts';
import { makeFakeBitbucketHome, makeClone } from './fake-bitbucket.ts';
import { startFakeBitbucket, type FakeBitbucket } from '../helpers/fake-bitbucket.ts';
import { repositoryHookPaths } from '../../src/install/bitbucket-layout.ts';
import { POST_TRIGGERS, SCRIPT_NAME } from '../../src/bitbucket/hook-scripts.ts';
import { takeSpoolRecords } from '../helpers/git-fixture.ts';

const TOKEN = 'BBDC-admin-NjQ4OTk0NjY3ODpSecret';
const dir = mkdtempSync(join(tmpdir(), 'relay-hook-scripts-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const { home } = makeFakeBitbucketHome(dir, [
  { id: '1', projectKey: 'ABC', slug: 'api' },
  { id: '2', projectKey: 'ABC', slug: 'web' },
  { id: '3', projectKey: 'OPS', slug: 'tools' },
]);
const repoPath = (id: string): string => join(home, 'shared/data/repositories', id);
writeFileSync(join(dir, 'token'), `${TOKEN}\n`, { mode: 0o600 });

function configFor(fake: FakeBitbucket, name: string): string {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(file, stringify({
    store: { path: join(dir, name, 'relay.db') },
    spool: { dir: join(dir, name, 'spool') },
    bitbucket: { home, api: { url: fake.url, tokenFile: join(dir, 'token'), timeout: '5s' } },
  }));
  return file;
}

async function relay(config: string, ...args: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (d) => (out += d));
  stderr.on('data', (d) => (err += d));
  const status = await main(['hooks', ...args, '--config', config], { stdin: new PassThrough(), stdout, stderr, env: { ...process.env, RELAY_CONFIG: config } });
  return { status, stdout: out, stderr: err };
}

t.test('install --scripts: create and enable, idempotent, upgrade in place, file hooks removed, verify, uninstall', async (t) => {
  // Five projects, pages of two: the project list is followed to isLastPage.
  const fake = await startFakeBitbucket({ tokens: { [TOKEN]: 'sysadmin' }, projects: ['ABC', 'OPS', 'P3', 'P4', 'P5'], maxLimit: 2 });
  t.teardown(() => fake.close());
  const config = configFor(fake, 'main');
  t.equal((await relay(config, 'install', '--bitbucket-home', home)).status, 0, 'file hooks first (the usual starting point)');
  t.ok(existsSync(repositoryHookPaths(repoPath('1')).hookFile));

  // Dry run: every write printed with the token masked, nothing changed.
  const dry = await relay(config, 'install', '--scripts', '--dry-run');
  t.equal(dry.status, 0, dry.stderr);
  t.match(dry.stdout, `would send: POST ${fake.url}/rest/api/latest/hook-scripts (Authorization: Bearer ***) multipart{content=<post-receive,`);
  t.match(dry.stdout, /name="bitbucket-relay"/);
  t.match(dry.stdout, /type="POST"/);
  for (const key of ['ABC', 'OPS', 'P3', 'P4', 'P5']) t.match(dry.stdout, `would send: PUT ${fake.url}/rest/api/latest/projects/${key}/hook-scripts/`);
  t.notMatch(dry.stdout + dry.stderr, TOKEN, 'token never printed');
  t.equal(fake.writes().length, 0, 'dry run wrote nothing');
  t.ok(existsSync(repositoryHookPaths(repoPath('1')).hookFile), 'dry run kept the file hooks');

  const first = await relay(config, 'install', '--scripts');
  t.equal(first.status, 0, first.stderr);
  t.equal(fake.scripts.size, 1, 'one script');
  const [script] = [...fake.scripts.values()];
  t.equal(script.name, SCRIPT_NAME);
  t.equal(script.type, 'POST');
  t.equal(script.content, readFileSync(new URL('../../hooks/post-receive', import.meta.url), 'utf8'), 'content is our hook, byte for byte');
  for (const key of ['ABC', 'OPS', 'P3', 'P4', 'P5']) t.same(fake.configs.get(key)?.get(script.id), [...POST_TRIGGERS], `${key}: every post trigger`);
  for (const id of ['1', '2', '3']) t.notOk(existsSync(repositoryHookPaths(repoPath(id)).hookFile), `repository ${id}: file hook removed`);
  t.match(first.stdout, /script registered; enabled on 5 project\(s\); removed the file hook from 3 repositories/);

  const writes = fake.writes().length;
  const second = await relay(config, 'install', '--scripts');
  t.equal(second.status, 0);
  t.equal(fake.writes().length, writes, 'second run changes nothing');
  t.match(second.stdout, /script unchanged; enabled on 0 project/);

  // A project created later, and a new hook version: updated in place, no second copy.
  fake.addProject('NEW');
  const newer = join(dir, 'post-receive.v2');
  writeFileSync(newer, script.content.replace('#!/bin/sh', '#!/bin/sh\n# v2'));
  const third = await relay(config, 'install', '--scripts', '--hook', newer);
  t.equal(third.status, 0, third.stderr);
  t.equal(fake.scripts.size, 1, 'still one script');
  t.match(fake.scripts.get(script.id)!.content, '# v2', 'content updated in place');
  t.ok(fake.writes().some((w) => w.method === 'PUT' && w.path === `/rest/api/latest/hook-scripts/${script.id}`), 'PUT on the same id');
  t.same(fake.configs.get('NEW')?.get(script.id), [...POST_TRIGGERS], 'the new project enabled');

  // Verify: per repository, which wiring covers it.
  const verify = await relay(config, 'verify', '--bitbucket-home', home, '--hook', newer);
  t.equal(verify.status, 0, verify.stdout);
  t.match(verify.stdout, /repository 1 ABC\/api: file hook missing; hook script bitbucket-relay on ABC \(every post trigger\); reconciliation on/);
  t.match(verify.stdout, /hooks verify: 3 of 3 repositories covered by a hook; reconciliation on/);
  fake.configs.get('OPS')!.delete(script.id);
  const gap = await relay(config, 'verify', '--bitbucket-home', home, '--hook', newer);
  t.equal(gap.status, 1);
  t.match(gap.stdout, /repository 3 OPS\/tools: file hook missing; no hook script on OPS; reconciliation on — NOT COVERED by a hook/);

  // Uninstall removes everything it made.
  const un = await relay(config, 'uninstall', '--scripts');
  t.equal(un.status, 0, un.stderr);
  t.equal(fake.scripts.size, 0, 'script deleted');
  for (const [key, c] of fake.configs) t.equal(c.size, 0, `${key}: no configuration left`);
  t.match(un.stdout, /removed from 5 projects/);
  t.equal((await relay(config, 'uninstall', '--scripts')).stdout, `hook script ${SCRIPT_NAME}: not registered, nothing to remove\n`);
});

t.test('hook scripts turned off (Bitbucket 8.18+): says what to set, exit 1, nothing changed', async (t) => {
  const fake = await startFakeBitbucket({ tokens: { [TOKEN]: 'sysadmin' }, projects: ['ABC'], hookScriptsDisabled: true });
  t.teardown(() => fake.close());
  const config = configFor(fake, 'off');
  const r = await relay(config, 'install', '--scripts');
  t.equal(r.status, 1);
  t.match(r.stderr, /hook scripts are turned off.*feature\.hook\.scripts=true.*bitbucket\.properties.*restart Bitbucket.*Nothing was changed/s);
  t.equal(fake.writes().length, 0);
});

t.test('a token that is not an admin token: 401 explained, exit 1', async (t) => {
  const fake = await startFakeBitbucket({ tokens: { [TOKEN]: 'user' }, projects: ['ABC'] });
  t.teardown(() => fake.close());
  const config = configFor(fake, 'user');
  const r = await relay(config, 'install', '--scripts');
  t.equal(r.status, 1);
  t.match(r.stderr, /refused the token \(HTTP 401\): hook scripts need a system admin's HTTP access token in bitbucket\.api\.tokenFile/);
  t.notMatch(r.stderr, TOKEN);
  t.equal(fake.scripts.size, 0);
});

t.test('the registered script content, run as Bitbucket runs hook scripts, records the ref change', async (t) => {
  const fake = await startFakeBitbucket({ tokens: { [TOKEN]: 'sysadmin' }, projects: ['ABC'] });
  t.teardown(() => fake.close());
  const config = configFor(fake, 'push');
  t.equal((await relay(config, 'install', '--scripts', '--keep-file-hooks')).status, 0);
  const [script] = [...fake.scripts.values()];
  // Bitbucket writes the script to disk and runs it in the repository with BB_* variables and
  // post-receive style ref lines on stdin; a real push to a bare repository does the same here.
  const bare = join(dir, 'scripted.git');
  execFileSync('git', ['init', '--quiet', '--bare', '--initial-branch=main', bare]);
  const hook = join(bare, 'hooks', 'post-receive');
  writeFileSync(hook, script.content);
  chmodSync(hook, 0o755);
  const spool = join(dir, 'push-spool');
  mkdirSync(join(spool, 'incoming'), { recursive: true });
  const work = makeClone(dir, bare, 'scripted-work');
  const env = { ...process.env, RELAY_SPOOL_DIR: spool, RELAY_HOOK_ENV: join(dir, 'none'), BB_HOOK_TRIGGER_ID: 'pull-request-merge', BB_PROJECT_KEY: 'ABC', BB_REPO_SLUG: 'api', BB_USER_NAME: 'merger', BB_PULL_REQUEST_ID: '7' };
  execFileSync('git', ['push', '--quiet', 'origin', 'HEAD:refs/heads/main'], { cwd: work, env, stdio: 'pipe' });
  const head = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: work }).toString().trim();
  const [record] = takeSpoolRecords(spool);
  t.ok(record, 'a spool record');
  t.same(record.refLines.map((l) => [l.ref, l.after]), [['refs/heads/main', head]]);
  t.equal(record.env.BB_HOOK_TRIGGER_ID, 'pull-request-merge');
  t.equal(record.env.BB_PULL_REQUEST_ID, '7');
});
