// `--repo` means one thing everywhere (issue 15 item 9): a numeric id,
// PROJECT/slug or a directory, resolved by one function; an unknown
// destination in a filter is a usage error.

import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveRepoArg } from '../../src/cli/repo-arg.ts';
import { createRepository, makeTemplate } from '../install/fake-bitbucket.ts';
import { makeRelayHome, relay } from './cli-helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'relay-repo-arg-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const home = join(dir, 'bitbucket');
const template = makeTemplate(join(dir, 'template'));
for (const [id, slug] of [['1', 'api'], ['2', 'web']]) createRepository(home, template, { id, projectKey: 'ABC', slug });
const repo2 = join(home, 'shared/data/repositories/2');

t.test('id, PROJECT/slug (key case-insensitive) and directory resolve to the same repository', async (t) => {
  for (const text of ['2', 'ABC/web', 'abc/web', repo2]) {
    const r = await resolveRepoArg(text, home);
    t.ok(r.ok, text);
    if (r.ok) t.match(r.repo, { path: repo2, projectKey: 'ABC', slug: 'web', id: 2 }, text);
  }
  const rel = await resolveRepoArg('shared/data/repositories/1', null, home);
  t.match(rel, { ok: true, repo: { slug: 'api', id: 1 } }, 'a relative directory');
});

t.test('what cannot be resolved says why', async (t) => {
  t.match(await resolveRepoArg('9', home), { ok: false, message: /no repository with id 9/ });
  t.match(await resolveRepoArg('ABC/nope', home), { ok: false, message: /no repository ABC\/nope under .* \(2 repositories searched\)/ });
  t.match(await resolveRepoArg('3', null), { ok: false, message: /the Bitbucket home is needed: set bitbucket.home/ });
  t.match(await resolveRepoArg('not a repo', home), { ok: false, message: /is neither a numeric repository id/ });
});

t.test('backfill and deliveries take every form; unknown --dest is exit 2', async (t) => {
  const h = makeRelayHome(t, 'relay-repo-arg-cli-');
  h.writeConfig(`bitbucket: { home: ${home} }\ndestinations:\n  - { name: ci, type: http, url: "https://ci.example/hook" }\n`);
  const C = ['--config', h.configFile];
  const backfill = await relay(['backfill', ...C, '--repo', '9', '--ref', 'main', '--dry-run']);
  t.equal(backfill.code, 2);
  t.match(backfill.stderr, 'no repository with id 9');
  t.notMatch(backfill.stderr, 'spool record', 'not the spool-record advice');
  const byKey = await relay(['deliveries', ...C, '--repo', '2']);
  t.notMatch(byKey.stderr, /not PROJECT\/slug/, 'an id is accepted');
  const unknown = await relay(['deliveries', ...C, '--dest', 'nope']);
  t.equal(unknown.code, 2);
  t.match(unknown.stderr, 'no destination named "nope"; configured: ci');
});

t.test('hooks --repo takes PROJECT/slug too', async (t) => {
  const r = await relay(['hooks', 'verify', '--bitbucket-home', home, '--repo', 'ABC/web', '--verbose']);
  t.match(r.stdout + r.stderr, /repository 2\b/);
  t.notMatch(r.stdout + r.stderr, /repository 1\b/);
  const bad = await relay(['hooks', 'verify', '--bitbucket-home', home, '--repo', 'ABC/nope']);
  t.not(bad.code, 0);
  t.match(bad.stderr, 'no repository ABC/nope');
});
