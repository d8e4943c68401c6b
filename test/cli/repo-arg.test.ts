// `--repo` means one thing everywhere (issue 15 item 9): a numeric id,
// PROJECT/slug or a directory, resolved by one function; an unknown
// destination in a filter is a usage error.

import t from 'tap';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
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

t.test('analyze and test take every form through the same resolver', async (t) => {
  const h = makeRelayHome(t, 'relay-repo-arg-at-');
  const paths: string[] = [];
  const server = http.createServer((req, res) => {
    paths.push(req.url!);
    req.resume().on('end', () => res.writeHead(204).end());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => server.close());
  const port = (server.address() as AddressInfo).port;
  h.writeConfig(`bitbucket: { home: ${home} }\ndestinations:\n  - { name: ci, type: http, url: "http://127.0.0.1:${port}/hook/{projectKey}/{repoSlug}/{repoId}" }\n`);
  const C = ['--config', h.configFile];
  const lines = join(h.dir, 'ref-lines');
  writeFileSync(lines, `${'0'.repeat(40)} ${'1'.repeat(40)} refs/heads/ghost\n`);
  for (const text of ['2', 'abc/web', repo2]) {
    const a = await relay(['analyze', ...C, '--repo', text, '--ref-lines', lines]);
    t.equal(a.code, 1, `analyze --repo ${text}: an event (with the unknown sha as its error)`);
    t.match(JSON.parse(a.stdout).repository, { projectKey: 'ABC', slug: 'web' }, `analyze --repo ${text}`);
    const before = paths.length;
    const r = await relay(['test', 'ci', ...C, '--repo', text]);
    t.equal(r.code, 0, `test --repo ${text}: ${r.stderr}`);
    t.same(paths.slice(before), ['/hook/ABC/web/2'], `test --repo ${text} fills the placeholders with repository 2`);
  }
  const missing = await relay(['analyze', ...C, '--repo', 'ABC/nope', '--ref-lines', lines]);
  t.equal(missing.code, 2);
  t.match(missing.stderr, 'relay analyze: --repo ABC/nope: no repository ABC/nope under');
  const badTest = await relay(['test', 'ci', ...C, '--repo', '9']);
  t.equal(badTest.code, 2);
  t.match(badTest.stderr, 'relay test: --repo 9: no repository with id 9');
  const noHome = await relay(['analyze', '--config', join(h.dir, 'none.yaml'), '--repo', '2', '--ref-lines', lines], { env: { RELAY_CONFIG: '' } });
  t.not(noHome.code, 0, 'an id without a Bitbucket home cannot be resolved');
});

t.test('every command with --dest refuses an unknown destination (exit 2)', async (t) => {
  const h = makeRelayHome(t, 'relay-repo-arg-dest-');
  h.writeConfig(`destinations:\n  - { name: ci, type: http, url: "https://ci.example/hook" }\n`);
  const C = ['--config', h.configFile];
  for (const args of [['deliveries', '--dest', 'nope'], ['dlq', 'list', '--dest', 'nope'], ['dlq', 'retry', '--dest', 'nope'], ['dlq', 'drop', '--dest', 'nope'],
    ['redeliver', '--dest', 'nope', '--pending'], ['retry', '--dest', 'nope'], ['backfill', '--repo', repo2, '--ref', 'main', '--dest', 'nope', '--dry-run'], ['test', 'nope']]) {
    const r = await relay([...args, ...C]);
    t.equal(r.code, 2, args.join(' '));
    t.match(r.stderr, 'no destination named "nope"; configured: ci', args.join(' '));
  }
});
