// Push analysis through real pushes: every semantic of DESIGN.md "PushEvent v1".
import t from 'tap';
import type { Test } from 'tap';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { analyzePushWithStats, type PushInput } from '../../src/git/analyze-push.ts';
import { analysisOptions, type AnalysisOptions } from '../../src/git/analysis-options.ts';
import type { RefLine } from '../../src/git/ref-lines.ts';
import { gitFixtureFor, type GitFixture } from '../helpers/git-fixture.ts';
import { assertValidPushEvent } from '../helpers/validate-event.ts';

const ZERO = '0'.repeat(40);
const BASE = 'https://bitbucket.example.com';


async function analyze(t: Test, fx: GitFixture, refLines: RefLine[], extra: Partial<PushInput> = {}, options: AnalysisOptions = analysisOptions({ baseUrl: BASE })) {
  const result = await analyzePushWithStats({ repoPath: fx.bare, refLines, env: {}, timeNs: 1_700_000_000_123_456_789n, host: 'bb-node-1', ...extra }, options);
  assertValidPushEvent(t, result.event);
  return result;
}

t.test('first push of a branch: create, commits oldest first, details, root against the empty tree', async (t) => {
  const fx = gitFixtureFor(t);
  fx.write('README.md', 'one\ntwo\n');
  const c1 = fx.commit('Initial import PROJ-1\n\nLonger body.\n', { tz: '+0200' });
  fx.write('README.md', 'one\ntwo\nthree\n');
  const c2 = fx.commit('Second #ci');
  const lines = fx.push(['origin', 'main']);
  t.same(lines, [{ before: ZERO, after: c2, ref: 'refs/heads/main' }], 'hook saw one create line');
  const { event, stats } = await analyze(t, fx, lines);
  t.equal(stats.spawns, 1, 'one log walk: new commits and their details');
  t.equal(event.refs.length, 1);
  const ref = event.refs[0];
  t.match(ref, { ref: 'refs/heads/main', name: 'main', kind: 'branch', change: 'create', forced: false, removedCommits: 0, totalCommits: 2, truncated: false });
  t.same(ref.commits, [c1, c2]);
  t.same(Object.keys(event.commits), [c1, c2]);
  const root = event.commits[c1];
  t.same(root.parents, []);
  t.equal(root.tree, fx.rev(`${c1}^{tree}`));
  t.equal(event.repository.defaultBranch, 'main');
  t.equal(root.merge, false);
  t.equal(root.distinct, true);
  t.equal(root.title, 'Initial import PROJ-1');
  t.equal(root.message, 'Initial import PROJ-1\n\nLonger body.', 'without the newline git stores at the end');
  t.same(root.author, { name: 'Ada Author', email: 'ada@example.com', date: '2023-11-15T00:14:20+02:00' });
  t.equal(root.committer.name, 'Cy Committer');
  t.same(root.files, [{ path: 'README.md', status: 'added', binary: false, additions: 2, deletions: 0 }], 'root diffed against the empty tree');
  t.same(root.issueKeys, ['PROJ-1']);
  t.equal(root.shortId, c1.slice(0, 11));
  t.equal(root.url, `${BASE}/projects/PROJ/repos/repo/commits/${c1}`);
  t.same(event.commits[c2].triggers, ['#ci']);
  t.same(event.commits[c2].files, [{ path: 'README.md', status: 'modified', binary: false, additions: 1, deletions: 0 }]);
  t.equal(event.time, '2023-11-14T22:13:20.123Z');
  t.equal(event.node, 'bb-node-1');
  t.equal(event.trigger, 'push');
  t.equal(event.totalCommits, 2);
  t.equal(event.truncated, false);
  t.same(event.errors, []);
});

t.test('fast-forward update: before..after, one git process', async (t) => {
  const fx = gitFixtureFor(t);
  fx.write('a', '1\n');
  const c1 = fx.commit('one');
  fx.push(['origin', 'main']);
  fx.write('a', '2\n');
  const c2 = fx.commit('two');
  fx.write('b', 'x\n');
  const c3 = fx.commit('three');
  const lines = fx.push(['origin', 'main']);
  t.same(lines, [{ before: c1, after: c3, ref: 'refs/heads/main' }]);
  const { event, stats } = await analyze(t, fx, lines);
  t.equal(stats.spawns, 1);
  t.match(event.refs[0], { change: 'update', forced: false, removedCommits: 0, commits: [c2, c3], totalCommits: 2 });
  t.same(event.commits[c2].parents, [c1]);
  t.ok(event.commits[c2].distinct && event.commits[c3].distinct);
  t.same(Object.keys(event.tipCommits ?? {}), [c1], 'the old value is detailed (read from the object store, no git process)');
  t.match(event.tipCommits?.[c1], { id: c1, message: 'one', parents: [], distinct: false, files: [], totalFiles: 0 });
});

t.test('file changes: statuses, renames, copies, binary, modes, symlinks, odd paths', async (t) => {
  const fx = gitFixtureFor(t);
  // Distinct contents, so git cannot pair the rename and the copy the other way round.
  const body = Array.from({ length: 30 }, (_, i) => `line ${i}\n`).join('');
  const moveBody = Array.from({ length: 30 }, (_, i) => `moved ${i}\n`).join('');
  fx.write('keep.txt', 'k\n');
  fx.write('gone.txt', 'bye\n');
  fx.write('move-me.txt', moveBody);
  fx.write('copy-src.txt', body);
  fx.write('script.sh', 'echo hi\n');
  fx.write('becomes-link', 'plain file\n');
  fx.commit('base');
  fx.push(['origin', 'main']);

  fx.write('keep.txt', 'k\nk2\n');
  fx.remove('gone.txt');
  fx.rename('move-me.txt', 'moved/here.txt');
  fx.write('copy-src.txt', body + 'one more\n');
  fx.write('copy-dst.txt', body);
  fx.setExecutable('script.sh', true);
  fx.remove('becomes-link');
  fx.symlink('becomes-link', 'keep.txt');
  fx.write('image.png', Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 0, 0, 1, 2, 3]));
  const odd = 'odd dir/tab\there "quoted" ünïcödé\nnewline.txt';
  fx.write(odd, 'weird\n');
  const c = fx.commit('many kinds of change');
  const { event } = await analyze(t, fx, fx.push(['origin', 'main']));
  const files = Object.fromEntries(event.commits[c].files.map((f) => [f.path, f]));
  t.same(files['keep.txt'], { path: 'keep.txt', status: 'modified', binary: false, additions: 1, deletions: 0 });
  t.same(files['gone.txt'], { path: 'gone.txt', status: 'deleted', binary: false, additions: 0, deletions: 1 });
  t.same(files['moved/here.txt'], { path: 'moved/here.txt', status: 'renamed', oldPath: 'move-me.txt', binary: false, additions: 0, deletions: 0 });
  t.same(files['copy-dst.txt'], { path: 'copy-dst.txt', status: 'copied', oldPath: 'copy-src.txt', binary: false, additions: 0, deletions: 0 });
  t.same(files['copy-src.txt'], { path: 'copy-src.txt', status: 'modified', binary: false, additions: 1, deletions: 0 });
  t.same(files['script.sh'], { path: 'script.sh', status: 'modified', binary: false, additions: 0, deletions: 0 }, 'mode change');
  t.equal(files['becomes-link'].status, 'typechanged');
  t.same(files['image.png'], { path: 'image.png', status: 'added', binary: true, additions: 0, deletions: 0 });
  t.same(files[odd], { path: odd, status: 'added', binary: false, additions: 1, deletions: 0 }, 'paths with tabs, quotes, newlines, non-ASCII');
  t.equal(event.commits[c].totalFiles, 9);
  t.equal(event.commits[c].files.length, 9);

  const noRenames = await analyze(t, fx, [{ before: fx.rev('HEAD~1'), after: c, ref: 'refs/heads/main' }], {}, analysisOptions({ renames: false }));
  const statuses = noRenames.event.commits[c].files.filter((f) => /move-me|moved/.test(f.path)).map((f) => `${f.status} ${f.path}`).sort();
  t.same(statuses, ['added moved/here.txt', 'deleted move-me.txt'], 'renames: false lists delete + add');
});

t.test('forced update: removedCommits counted, only new commits listed', async (t) => {
  const fx = gitFixtureFor(t);
  fx.write('a', '1\n');
  const c1 = fx.commit('one');
  fx.write('a', '2\n');
  fx.commit('two');
  fx.write('a', '3\n');
  const c3 = fx.commit('three');
  fx.push(['origin', 'main']);
  fx.git(['reset', '--hard', '--quiet', c1]);
  fx.write('a', 'rewritten\n');
  const r = fx.commit('rewritten two');
  const lines = fx.push(['--force', 'origin', 'main']);
  t.same(lines, [{ before: c3, after: r, ref: 'refs/heads/main' }]);
  const { event, stats } = await analyze(t, fx, lines);
  t.match(event.refs[0], { change: 'update', forced: true, removedCommits: 2, commits: [r], totalCommits: 1 });
  t.equal(event.commits[r].distinct, true);
  t.equal(stats.spawns, 2, 'log walk + left-right rev-list (the new commit was detailed by the walk)');
});

t.test('new branches: only commits no other ref had; several refs sharing commits; merges', async (t) => {
  const fx = gitFixtureFor(t);
  fx.write('a', '1\n');
  const m0 = fx.commit('main one');
  fx.push(['origin', 'main']);

  // A branch at an existing commit brings no commits.
  const atExisting = await analyze(t, fx, fx.push(['origin', 'main:refs/heads/copy']));
  t.match(atExisting.event.refs[0], { change: 'create', commits: [], totalCommits: 0 });
  t.same(atExisting.event.commits, {});

  // Two new branches in one push, b2 = b1 + 1: shared commit listed by both, detailed once.
  fx.git(['checkout', '--quiet', '-b', 'b1']);
  fx.write('b', '1\n');
  const s1 = fx.commit('shared PROJ-7');
  fx.git(['checkout', '--quiet', '-b', 'b2']);
  fx.write('b', '2\n');
  const s2 = fx.commit('only b2');
  const lines = fx.push(['origin', 'b1', 'b2']);
  t.equal(lines.length, 2);
  const both = await analyze(t, fx, lines);
  const byName = Object.fromEntries(both.event.refs.map((r) => [r.name, r]));
  t.same(byName.b1.commits, [s1]);
  t.same(byName.b2.commits, [s1, s2]);
  t.same(Object.keys(both.event.commits).sort(), [s1, s2].sort(), 'each commit once');
  t.equal(both.event.totalCommits, 2);
  t.equal(both.stats.spawns, 1, 'one log walk for both refs');

  // Fast-forward main onto b2: commits listed, but not distinct (already on b1/b2).
  fx.git(['checkout', '--quiet', 'main']);
  fx.git(['merge', '--quiet', '--ff-only', 'b2']);
  const ff = await analyze(t, fx, fx.push(['origin', 'main']));
  t.match(ff.event.refs[0], { change: 'update', forced: false, commits: [s1, s2] });
  t.equal(ff.event.commits[s1].distinct, false);
  t.equal(ff.event.commits[s2].distinct, false);
  t.equal(ff.stats.spawns, 3, 'not a fast-forward of new commits: walk, rev-list --left-right, log of the known commits');

  // A merge of a known branch plus a new commit: merge flag, files vs first parent.
  fx.git(['checkout', '--quiet', '-b', 'feature', m0]);
  fx.write('f', 'feature\n');
  const f1 = fx.commit('feature work');
  fx.push(['origin', 'feature']);
  fx.git(['checkout', '--quiet', 'main']);
  fx.write('m', 'main\n');
  const m1 = fx.commit('main work');
  fx.git(['merge', '--quiet', '--no-ff', '--no-edit', 'feature']);
  const mg = fx.rev('HEAD');
  const merged = await analyze(t, fx, fx.push(['origin', 'main']));
  t.same(merged.event.refs[0].commits.slice().sort(), [f1, m1, mg].sort());
  t.equal(merged.event.refs[0].commits.at(-1), mg, 'merge is newest');
  t.equal(merged.event.commits[mg].merge, true);
  t.same(merged.event.commits[mg].parents, [m1, f1]);
  t.same(merged.event.commits[mg].files.map((f) => `${f.status} ${f.path}`), ['added f'], 'against the first parent');
  t.equal(merged.event.commits[f1].distinct, false, 'feature commit was already on a branch');
  t.equal(merged.event.commits[m1].distinct, true);
  t.equal(merged.event.commits[mg].distinct, true);
});

t.test('tags: lightweight vs annotated, tagger, message, target; tags bringing commits', async (t) => {
  const fx = gitFixtureFor(t);
  fx.write('a', '1\n');
  const c1 = fx.commit('one');
  fx.push(['origin', 'main']);
  fx.git(['tag', 'light']);
  const light = await analyze(t, fx, fx.push(['origin', 'refs/tags/light']));
  t.match(light.event.refs[0], { ref: 'refs/tags/light', name: 'light', kind: 'tag', change: 'create', commits: [] });
  t.same(light.event.refs[0].tag, { annotated: false, message: null, tagger: null, target: c1 });
  t.equal(light.stats.spawns, 2, 'a lightweight tag on an existing commit: one log walk (nothing new), one log of the tip');
  t.equal(light.event.tipCommits?.[c1]?.message, 'one', 'the tip is detailed for the formats');
  t.equal(light.event.tipCommits?.[c1]?.distinct, false);

  fx.write('a', '2\n');
  const c2 = fx.commit('released only through the tag');
  fx.git(['tag', '-a', 'v1.0', '-m', 'Release 1.0\n\nNotes PROJ-9.']);
  const tagSha = fx.rev('v1.0');
  const lines = fx.push(['origin', 'refs/tags/v1.0']);
  t.same(lines, [{ before: ZERO, after: tagSha, ref: 'refs/tags/v1.0' }]);
  const annotated = await analyze(t, fx, lines);
  const ref = annotated.event.refs[0];
  t.match(ref, { kind: 'tag', change: 'create', commits: [c2], totalCommits: 1 });
  t.equal(ref.tag?.annotated, true);
  t.equal(ref.tag?.target, c2);
  t.equal(ref.tag?.message, 'Release 1.0\n\nNotes PROJ-9.');
  t.match(ref.tag?.tagger, { name: 'Cy Committer', email: 'cy@example.com', date: /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d$/ });
  t.equal(annotated.event.commits[c2].distinct, true);
  t.equal(annotated.stats.spawns, 1, 'tag object read from the object store; one log walk');

  const deleted = await analyze(t, fx, fx.push(['origin', ':refs/tags/v1.0']));
  t.match(deleted.event.refs[0], { change: 'delete', after: ZERO, commits: [], removedCommits: 1 });
  t.equal(deleted.event.refs[0].tag?.annotated, true, 'deleted tag still described from its old object');
});

t.test('refs created on commits the repository already had: their tips are detailed in tipCommits', async (t) => {
  const fx = gitFixtureFor(t);
  fx.write('a', '1\n');
  const c1 = fx.commit('one');
  fx.write('b', '2\n');
  const c2 = fx.commit('two PROJ-7 #ci\n\nbody\n', { tz: '+0100' });
  fx.push(['origin', 'main']);
  // A release branch cut from main and an annotated tag on main's tip: nothing new.
  fx.git(['branch', 'release/1.0']);
  fx.git(['tag', '-a', 'v1.0', '-m', 'Release 1.0']);
  const { event, stats } = await analyze(t, fx, fx.push(['origin', 'release/1.0', 'refs/tags/v1.0']));
  t.same(event.refs.map((r) => [r.ref, r.change, r.commits]), [['refs/heads/release/1.0', 'create', []], ['refs/tags/v1.0', 'create', []]]);
  t.same(event.commits, {}, 'no commit is new');
  t.same(Object.keys(event.tipCommits ?? {}), [c2], 'the shared tip once');
  const tip = event.tipCommits![c2];
  t.match(tip, { id: c2, message: 'two PROJ-7 #ci\n\nbody', title: 'two PROJ-7 #ci', parents: [c1], distinct: false, issueKeys: ['PROJ-7'], triggers: ['#ci'] });
  t.match(tip.author, { name: 'Ada Author', email: 'ada@example.com', date: /\+01:00$/ });
  t.same(tip.files, [{ path: 'b', status: 'added', binary: false, additions: 1, deletions: 0 }], 'a new tip lists its files');
  t.equal(stats.spawns, 2, 'one log walk, one log of the tips');

  // Deleting the release branch: its old value is detailed from the object store.
  const deleted = await analyze(t, fx, fx.push(['origin', ':release/1.0']));
  t.match(deleted.event.tipCommits?.[c2], { id: c2, message: 'two PROJ-7 #ci\n\nbody', files: [] });
  t.equal(deleted.stats.spawns, 1, 'the rev-list of orphaned commits only');
});

t.test('delete: removedCommits counts the commits no remaining ref reaches', async (t) => {
  const fx = gitFixtureFor(t);
  fx.write('a', '1\n');
  fx.commit('one');
  fx.push(['origin', 'main']);
  fx.git(['checkout', '--quiet', '-b', 'tmp']);
  fx.write('t', '1\n');
  fx.commit('tmp one');
  fx.write('t', '2\n');
  const t2 = fx.commit('tmp two');
  fx.push(['origin', 'tmp', 'tmp:refs/heads/merged-elsewhere-later']);
  fx.git(['push', '--quiet', 'origin', ':refs/heads/merged-elsewhere-later']);
  const lines = fx.push(['origin', ':refs/heads/tmp']);
  t.same(lines, [{ before: t2, after: ZERO, ref: 'refs/heads/tmp' }]);
  const { event, stats } = await analyze(t, fx, lines);
  t.match(event.refs[0], { change: 'delete', kind: 'branch', commits: [], totalCommits: 0, removedCommits: 2, forced: false });
  t.equal(stats.spawns, 1, 'one rev-list --count, nothing else');

  fx.push(['origin', 'main:refs/heads/same-as-main']);
  const merged = await analyze(t, fx, fx.push(['origin', ':refs/heads/same-as-main']));
  t.equal(merged.event.refs[0].removedCommits, 0, 'nothing lost when another ref holds the commits');
});

t.test('ignored refs, empty pushes', async (t) => {
  const fx = gitFixtureFor(t);
  fx.write('a', '1\n');
  const c1 = fx.commit('one');
  fx.push(['origin', 'main']);
  fx.write('a', '2\n');
  const c2 = fx.commit('two');
  const lines = fx.push(['origin', 'HEAD:refs/pull-requests/1/from', 'HEAD:refs/heads/pr-source']);
  t.equal(lines.length, 2);
  const { event, stats } = await analyze(t, fx, lines);
  t.same(event.refs.map((r) => r.ref), ['refs/heads/pr-source'], 'refs/pull-requests/** left out by default');
  t.equal(stats.ignoredRefs, 1);
  t.same(event.refs[0].commits, [c2]);

  const custom = await analyze(t, fx, lines, {}, analysisOptions({ ignoreRefs: ['refs/heads/pr-*'] }));
  t.same(custom.event.refs.map((r) => r.ref), ['refs/pull-requests/1/from']);
  t.equal(custom.event.refs[0].kind, 'other');

  const empty = await analyze(t, fx, []);
  t.same(empty.event.refs, []);
  t.same(empty.event.commits, {});
  t.equal(empty.stats.spawns, 0, 'empty stdin costs no git process');
  t.ok(c1);
});

t.test('caps: commits per event, files per commit, message bytes', async (t) => {
  const fx = gitFixtureFor(t);
  fx.write('a', '0\n');
  fx.commit('zero');
  fx.push(['origin', 'main']);
  const shas: string[] = [];
  for (let i = 1; i <= 5; i++) {
    for (let f = 0; f < 4; f++) fx.write(`f${f}`, `${i}\n`);
    shas.push(fx.commit(`commit ${i} ${'é'.repeat(10)}`));
  }
  const lines = fx.push(['origin', 'main', 'main:refs/heads/copy']);
  const options = analysisOptions({ maxCommits: 3, maxFilesPerCommit: 2, maxMessageBytes: 12 });
  const { event } = await analyze(t, fx, lines, {}, options);
  const [main, copy] = event.refs;
  t.same(main.commits, shas.slice(2), 'newest commits kept, oldest first');
  t.match(main, { totalCommits: 5, truncated: true });
  t.same(copy.commits, shas.slice(2), 'a ref created in the same push lists the same new commits, within the same cap');
  t.match(copy, { change: 'create', totalCommits: 5, truncated: true });
  t.equal(event.totalCommits, 5);
  t.equal(event.truncated, true);
  t.equal(Object.keys(event.commits).length, 3);
  const c = event.commits[shas[4]];
  t.equal(c.files.length, 2);
  t.equal(c.totalFiles, 4);
  t.equal(c.filesTruncated, true);
  t.equal(c.message, 'commit 5 é', '12 bytes, whole characters only');
  t.equal(c.messageTruncated, true);
  t.equal(c.title, `commit 5 ${'é'.repeat(10)}`, 'title from the full message');

  // Two refs sharing commits stay within the cap together, and every listed commit is detailed.
  fx.git(['checkout', '--quiet', '-b', 'other', shas[1]]);
  fx.write('o', '1\n');
  const o1 = fx.commit('other one');
  const two = await analyze(t, fx, fx.push(['origin', 'other']), {}, analysisOptions({ maxCommits: 1 }));
  t.same(two.event.refs[0].commits, [o1]);
  for (const ref of [...event.refs, ...two.event.refs]) {
    for (const sha of ref.commits) t.ok(event.commits[sha] ?? two.event.commits[sha], `listed ${sha.slice(0, 7)} is detailed`);
  }
});

t.test('non-UTF-8 messages: encoding header, i18n.commitEncoding, replacement characters', async (t) => {
  const fx = gitFixtureFor(t);
  const latin1 = Buffer.from('Gr\xfc\xdfe aus K\xf6ln PROJ-3\n', 'latin1');
  fx.write('a', '1\n');
  const withHeader = fx.commitBytes(latin1, { encoding: 'ISO-8859-1', authorName: Buffer.from('J\xfcrgen', 'latin1') });
  fx.write('a', '2\n');
  const noHeader = fx.commitBytes(latin1);
  fx.write('a', '3\n');
  const viaGitCommit = fx.commit(latin1, { encoding: 'ISO-8859-1' });
  const lines = fx.push(['origin', 'main']);

  const plain = await analyze(t, fx, lines);
  t.equal(plain.event.commits[withHeader].message, 'Grüße aus Köln PROJ-3', 'encoding header honoured');
  t.equal(plain.event.commits[withHeader].author.name, 'Jürgen');
  t.equal(plain.event.commits[noHeader].message, 'Gr\uFFFD\uFFFDe aus K\uFFFDln PROJ-3', 'no declaration: replacement characters');
  t.same(plain.event.commits[noHeader].issueKeys, ['PROJ-3']);
  t.equal(plain.event.commits[viaGitCommit].message, 'Grüße aus Köln PROJ-3', 'git commit with i18n.commitEncoding');

  fx.gitBare(['config', 'i18n.commitEncoding', 'latin1']);
  const configured = await analyze(t, fx, lines);
  t.equal(configured.event.commits[noHeader].message, 'Grüße aus Köln PROJ-3', 'repository i18n.commitEncoding honoured');
});

t.test('identity, actor, trigger, pull request and links from the hook environment', async (t) => {
  const fx = gitFixtureFor(t);
  fx.write('a', '1\n');
  const c1 = fx.commit('one');
  const hookEnv = {
    BB_PROJECT_KEY: 'CORE', BB_REPO_SLUG: 'api', BB_BASE_URL: 'https://bb.corp.example/', BB_REPO_IS_PUBLIC: 'false', BB_REPO_IS_FORK: 'true',
    BB_USER_NAME: 'jdoe', BB_USER_DISPLAY_NAME: 'Jane "JD" Doe', BB_USER_EMAIL: 'jane@corp.example',
    BB_HOOK_TRIGGER_ID: 'pull-request-merge', BB_PULL_REQUEST_ID: '17', BB_FROM_REF: 'refs/heads/feature', BB_MERGE_HASH: c1,
  };
  // Through the real hook: the spool record carries the BB_* environment and the repository path.
  const record = fx.pushRecord(['origin', 'main'], hookEnv);
  t.equal(record.repoPath, fx.bare);
  const lines = record.refLines;
  const { event } = await analyze(t, fx, lines, { env: record.env, repoPath: record.repoPath });
  t.match(event.repository, {
    projectKey: 'CORE', slug: 'api', identitySource: 'env', baseUrl: 'https://bb.corp.example', public: false, fork: true,
    links: { self: 'https://bb.corp.example/projects/CORE/repos/api/browse', clone: 'https://bb.corp.example/scm/core/api.git' },
  });
  t.same(event.actor, { name: 'jdoe', displayName: 'Jane "JD" Doe', email: 'jane@corp.example' });
  t.equal(event.trigger, 'pull-request-merge');
  t.equal(event.triggerId, 'pull-request-merge');
  t.match(event.pullRequest, { id: 17, fromRef: 'refs/heads/feature', mergeHash: c1 });
  t.equal(event.commits[c1].url, `https://bb.corp.example/projects/CORE/repos/api/commits/${c1}`);

  writeFileSync(path.join(fx.bare, 'repository-config'), '[bitbucket]\n\thierarchy = abc\n\tproject = FROMFILE\n\trepository = from-file\n');
  const fromFile = await analyze(t, fx, lines, {}, analysisOptions());
  t.match(fromFile.event.repository, { projectKey: 'FROMFILE', slug: 'from-file', identitySource: 'repository-config', baseUrl: null, links: { self: null, clone: null } });
  t.equal(fromFile.event.commits[c1].url, null, 'no base URL, no links');
  t.same(fromFile.event.actor, { name: 'unknown' });
  t.equal(fromFile.event.pullRequest, undefined);
});

t.test('event id: stable for the same push, explicit id honoured', async (t) => {
  const fx = gitFixtureFor(t);
  fx.write('a', '1\n');
  fx.commit('one');
  const lines = fx.push(['origin', 'main']);
  const a = await analyze(t, fx, lines);
  const b = await analyze(t, fx, lines);
  const other = await analyze(t, fx, lines, { timeNs: 5n });
  t.equal(a.event.id, b.event.id);
  t.not(a.event.id, other.event.id);
  t.match(a.event.id, /^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  const explicit = await analyze(t, fx, lines, { id: 'spool-record-123' });
  t.equal(explicit.event.id, 'spool-record-123');
});
