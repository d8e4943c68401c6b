import t from 'tap';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseGitConfig } from '../../src/git/git-config-file.ts';
import { commitUrl, openRepository, repositoryIdentity, repositoryIdFromPath, RepositoryUnreadableError } from '../../src/git/repository-identity.ts';
import { createGitFixture } from '../helpers/git-fixture.ts';

const HOME = '/var/atlassian/application-data/bitbucket/shared/data/repositories/17';
const repoConfig = parseGitConfig('[bitbucket]\n\thierarchy = 1a2b\n\tproject = FILEKEY\n\trepository = file-slug\n');
const mappings = [{ path: HOME, projectKey: 'MAPKEY', slug: 'map-slug' }];

t.test('identity order: env, repository-config, config mapping, directory', async (t) => {
  const env = { BB_PROJECT_KEY: 'ENVKEY', BB_REPO_SLUG: 'env-slug' };
  t.match(repositoryIdentity({ repoPath: HOME, env, repositoryConfig: repoConfig, mappings, baseUrl: null }), { projectKey: 'ENVKEY', slug: 'env-slug', identitySource: 'env', id: 17 });
  t.match(repositoryIdentity({ repoPath: HOME, env: { STASH_PROJECT_KEY: 'OLD', STASH_REPO_NAME: 'old-repo' }, repositoryConfig: repoConfig, mappings, baseUrl: null }), { projectKey: 'OLD', slug: 'old-repo', name: 'old-repo', identitySource: 'env' });
  t.match(repositoryIdentity({ repoPath: HOME, env: { BB_PROJECT_KEY: 'HALF' }, repositoryConfig: repoConfig, mappings, baseUrl: null }), { projectKey: 'FILEKEY', slug: 'file-slug', identitySource: 'repository-config' }, 'key without slug is not an identity');
  t.match(repositoryIdentity({ repoPath: HOME + '/', env: {}, repositoryConfig: null, mappings, baseUrl: null }), { projectKey: 'MAPKEY', slug: 'map-slug', identitySource: 'config' });
  t.match(repositoryIdentity({ repoPath: '/srv/git/TEAM/widget.git', env: {}, repositoryConfig: null, mappings, baseUrl: null }), { projectKey: 'TEAM', slug: 'widget', name: 'widget', identitySource: 'directory', id: null });
  t.match(repositoryIdentity({ repoPath: '/srv/work/widget/.git', env: {}, repositoryConfig: null, mappings: [], baseUrl: null }), { projectKey: 'work', slug: 'widget' });
});

t.test('numeric id from .../repositories/<id>', async (t) => {
  t.equal(repositoryIdFromPath(HOME), 17);
  t.equal(repositoryIdFromPath(HOME + '/'), 17);
  t.equal(repositoryIdFromPath('/x/repositories/17/.git'), 17);
  t.equal(repositoryIdFromPath('/x/repositories/abc'), null);
  t.equal(repositoryIdFromPath('/x/repositories/17/sub'), null);
});

t.test('links from BB_BASE_URL, else config base URL; public and fork flags', async (t) => {
  const fromEnv = repositoryIdentity({ repoPath: HOME, env: { BB_BASE_URL: 'https://env.example.com/bb/', BB_REPO_IS_PUBLIC: 'true', BB_REPO_IS_FORK: 'false', BB_REPO_CLONE_HTTP: 'https://env.example.com/bb/scm/filekey/file-slug.git' }, repositoryConfig: repoConfig, mappings, baseUrl: 'https://config.example.com' });
  t.match(fromEnv, { baseUrl: 'https://env.example.com/bb', public: true, fork: false, links: { self: 'https://env.example.com/bb/projects/FILEKEY/repos/file-slug/browse', clone: 'https://env.example.com/bb/scm/filekey/file-slug.git' } });
  t.equal(commitUrl(fromEnv, 'a'.repeat(40)), `https://env.example.com/bb/projects/FILEKEY/repos/file-slug/commits/${'a'.repeat(40)}`);
  const fromConfig = repositoryIdentity({ repoPath: HOME, env: {}, repositoryConfig: repoConfig, mappings, baseUrl: 'https://config.example.com/' });
  t.match(fromConfig, { baseUrl: 'https://config.example.com', public: null, fork: null, links: { clone: 'https://config.example.com/scm/filekey/file-slug.git' } });
  const none = repositoryIdentity({ repoPath: HOME, env: {}, repositoryConfig: repoConfig, mappings, baseUrl: null });
  t.same(none.links, { self: null, clone: null });
  t.equal(commitUrl(none, 'a'.repeat(40)), null);
  t.equal(repositoryIdentity({ repoPath: HOME, env: { BB_PROJECT_KEY: '~JDOE', BB_REPO_SLUG: 'mine' }, repositoryConfig: null, mappings, baseUrl: 'https://b' }).links.self, 'https://b/projects/~JDOE/repos/mine/browse', 'personal project keys');
});

t.test('openRepository: bare, work tree, .git file, and what is not a repository', async (t) => {
  const fx = createGitFixture('relay-identity-');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'relay-identity-'));
  t.teardown(() => {
    fx.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });
  writeFileSync(path.join(fx.bare, 'repository-config'), '[bitbucket]\n\tproject = P\n\trepository = r\n');
  fx.gitBare(['config', 'i18n.commitEncoding', 'latin1']);
  const bare = await openRepository(fx.bare);
  t.equal(bare.gitDir, fx.bare);
  t.ok(bare.repositoryConfig && bare.gitConfig);
  const work = await openRepository(fx.work);
  t.equal(work.gitDir, path.join(fx.work, '.git'));
  t.equal(work.repositoryConfig, null);
  const linked = path.join(dir, 'linked');
  mkdirSync(linked);
  writeFileSync(path.join(linked, '.git'), `gitdir: ${fx.bare}\n`);
  t.equal((await openRepository(linked)).gitDir, fx.bare);
  await t.rejects(openRepository(path.join(dir, 'nope')), RepositoryUnreadableError);
  writeFileSync(path.join(dir, 'file'), 'x');
  await t.rejects(openRepository(path.join(dir, 'file')), { message: /is not a directory/ });
  await t.rejects(openRepository(dir), { message: /is not a git repository/ });
  // objects/ may be a symlink to a directory (repositories moved to another disk).
  const moved = path.join(dir, 'moved.git');
  mkdirSync(moved);
  writeFileSync(path.join(moved, 'HEAD'), 'ref: refs/heads/trunk\n');
  symlinkSync(path.join(fx.bare, 'objects'), path.join(moved, 'objects'));
  const viaLink = await openRepository(moved);
  t.equal(viaLink.defaultBranch, 'trunk');
  t.same([viaLink.repositoryConfig, viaLink.gitConfig], [null, null], 'absent config files are null');
  rmSync(path.join(moved, 'objects'));
  symlinkSync(path.join(dir, 'nowhere'), path.join(moved, 'objects'));
  await t.rejects(openRepository(moved), { message: /is not a git repository/ }, 'a dangling objects link is no repository');
});
