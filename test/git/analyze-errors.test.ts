// Analysis never crashes on what a repository lacks: missing or pruned
// objects become errors[] entries; only an unreadable repository throws.
import t from 'tap';
import type { Test } from 'tap';
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { analyzePushWithStats } from '../../src/git/analyze-push.ts';
import { analysisOptions } from '../../src/git/analysis-options.ts';
import type { RefLine } from '../../src/git/ref-lines.ts';
import { RepositoryUnreadableError } from '../../src/git/repository-identity.ts';
import { gitFixtureFor, type GitFixture } from '../helpers/git-fixture.ts';
import { assertValidPushEvent } from '../helpers/validate-event.ts';

const ZERO = '0'.repeat(40);
const GHOST = '1234567890abcdef1234567890abcdef12345678';


async function analyze(t: Test, repoPath: string, refLines: RefLine[], gitBinary = 'git') {
  const result = await analyzePushWithStats({ repoPath, refLines, env: {}, timeNs: 1n, host: 'h' }, analysisOptions({ gitBinary }));
  assertValidPushEvent(t, result.event);
  return result.event;
}

/** Path of a loose object in the bare repository. */
function looseObject(fx: GitFixture, sha: string): string {
  return path.join(fx.bare, 'objects', sha.slice(0, 2), sha.slice(2));
}

t.test('objects pruned before analysis: errors per ref, the rest still analyzed', async (t) => {
  const fx = gitFixtureFor(t);
  fx.write('a', '1\n');
  const c1 = fx.commit('one');
  fx.push(['origin', 'main']);
  fx.git(['checkout', '--quiet', '-b', 'short-lived']);
  fx.write('b', '1\n');
  fx.commit('short-lived work');
  const createLines = fx.push(['origin', 'short-lived']);
  fx.push(['origin', ':refs/heads/short-lived']);
  fx.gitBare(['gc', '--quiet', '--prune=now']);

  fx.git(['checkout', '--quiet', 'main']);
  fx.write('a', '2\n');
  const c2 = fx.commit('two');
  const mainLines = fx.push(['origin', 'main']);
  const event = await analyze(t, fx.bare, [...createLines, ...mainLines]);
  const [gone, main] = event.refs;
  t.match(gone, { ref: 'refs/heads/short-lived', change: 'create', commits: [] });
  t.match(event.errors, [{ ref: 'refs/heads/short-lived', message: /missing from the repository/ }]);
  t.match(main, { change: 'update', commits: [c2] }, 'the surviving ref is complete');
  t.equal(event.commits[c2].distinct, true);
  t.ok(c1);
});

t.test('old value missing: commits new to the repository, forced unknown, error says so', async (t) => {
  const fx = gitFixtureFor(t);
  fx.write('a', '1\n');
  const c1 = fx.commit('one');
  fx.push(['origin', 'main']);
  fx.write('a', '2\n');
  const c2 = fx.commit('two');
  const [line] = fx.push(['origin', 'main']);
  const event = await analyze(t, fx.bare, [{ ...line, before: GHOST }]);
  // Without the old value nothing bounds the range but the other refs: c1 (the real old tip) is listed too.
  t.same(event.refs[0].commits, [c1, c2]);
  t.match(event.refs[0], { change: 'update', forced: false, removedCommits: 0 });
  t.match(event.errors, [{ ref: 'refs/heads/main', message: /old value .* missing/ }]);
});

t.test('tag pointing at a missing object, and a deleted ref whose object is gone', async (t) => {
  const fx = gitFixtureFor(t);
  fx.write('a', '1\n');
  fx.commit('one');
  fx.push(['origin', 'main']);
  const event = await analyze(t, fx.bare, [
    { before: ZERO, after: GHOST, ref: 'refs/tags/ghost' },
    { before: GHOST, after: ZERO, ref: 'refs/heads/ghost-branch' },
  ]);
  t.match(event.refs, [{ ref: 'refs/tags/ghost', commits: [] }, { ref: 'refs/heads/ghost-branch', change: 'delete', removedCommits: 0 }]);
  t.equal(event.refs[0].tag, undefined);
  t.match(event.errors, [
    { ref: 'refs/tags/ghost', message: /tag object .* missing/ },
    { ref: 'refs/heads/ghost-branch', message: /old value .* missing.*cannot be counted/ },
  ]);
});

t.test("a commit's blobs lost: metadata kept, files left out, error recorded", async (t) => {
  const fx = gitFixtureFor(t);
  fx.write('a', '1\n');
  fx.commit('one');
  fx.push(['origin', 'main']);
  fx.write('a', 'content that will be lost\n');
  const c2 = fx.commit('two');
  const lines = fx.push(['origin', 'main']);
  // Few objects arrive loose (receive.unpackLimit); remove the new blob.
  const blob = fx.git(['rev-parse', `${c2}:a`]);
  rmSync(looseObject(fx, blob));
  const event = await analyze(t, fx.bare, lines);
  t.same(event.refs[0].commits, [c2]);
  t.match(event.commits[c2], { title: 'two', files: [], filesTruncated: true });
  t.match(event.errors, [{ message: /could not read commit details/ }, { message: /changed files of 1 commit/ }]);
});

t.test('a commit object lost inside the new history: error, no crash', async (t) => {
  const fx = gitFixtureFor(t);
  fx.write('a', '1\n');
  fx.commit('one');
  fx.push(['origin', 'main']);
  fx.write('a', '2\n');
  const c2 = fx.commit('two');
  fx.write('a', '3\n');
  fx.commit('three');
  const lines = fx.push(['origin', 'main']);
  rmSync(looseObject(fx, c2));
  const event = await analyze(t, fx.bare, lines);
  t.same(event.refs[0].commits, []);
  t.ok(event.errors.length >= 1);
  t.match(event.errors[0].message, /could not list the commits new with this push/);
});

t.test('unreadable repository: throws with what to check', async (t) => {
  const fx = gitFixtureFor(t);
  const missing = path.join(fx.root, 'no-such-repo.git');
  await t.rejects(analyze(t, missing, []), RepositoryUnreadableError);
  await t.rejects(analyze(t, missing, []), { message: new RegExp(`${missing}.*ENOENT.*check the repository path`) });
  const notRepo = path.join(fx.root, 'plain-dir');
  mkdirSync(notRepo);
  await t.rejects(analyze(t, notRepo, []), { name: 'RepositoryUnreadableError', message: /is not a git repository/ });
  // The object store vanished after open: git itself reports the repository broken.
  fx.write('a', '1\n');
  fx.commit('one');
  const lines = fx.push(['origin', 'main']);
  for (const entry of readdirSync(path.join(fx.bare, 'objects'))) rmSync(path.join(fx.bare, 'objects', entry), { recursive: true });
  const broken = await analyze(t, fx.bare, lines);
  t.ok(broken.errors.length > 0, 'objects gone: errors, not a crash');
  await t.rejects(analyze(t, fx.bare, lines, path.join(fx.root, 'no-git-here')), { name: 'RepositoryUnreadableError', message: /could not start git.*not found/ });
});
