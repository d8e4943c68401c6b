// The rev-list walks behind `distinct`, created refs' commits and deletes.
import t from 'tap';
import { analyzePushWithStats } from '../../src/git/analyze-push.ts';
import { listNewCommits, listOrphanedCommits, oldestFirst, refStatesAroundPush, walkWithin } from '../../src/git/new-commits.ts';
import { walkNewCommits } from '../../src/git/new-commit-walk.ts';
import { GitRunner } from '../../src/git/run-git.ts';
import { gitFixtureFor } from '../helpers/git-fixture.ts';
import { assertValidPushEvent } from '../helpers/validate-event.ts';

t.test('many refs in one push: listing refs instead of --exclude gives the same commits', async (t) => {
  const fx = gitFixtureFor(t, 'relay-walk-');
  fx.write('a', '0\n');
  fx.commit('base');
  fx.push(['origin', 'main', 'main:refs/heads/untouched']);
  const refspecs: string[] = [];
  for (let i = 0; i < 12; i++) {
    fx.git(['checkout', '--quiet', '-b', `b${i}`, i % 3 === 0 ? 'main' : `b${i - 1}`]);
    fx.write(`f${i}`, `${i}\n`);
    fx.commit(`commit ${i}`);
    refspecs.push(`b${i}`);
  }
  fx.git(['checkout', '--quiet', 'main']);
  fx.write('a', '1\n');
  fx.commit('main moves');
  const lines = fx.push(['origin', 'main', ...refspecs]);
  t.equal(lines.length, 13);
  const git = new GitRunner(fx.bare);
  const tips = lines.map((l) => l.after);
  const { before } = refStatesAroundPush(lines);
  const normal = await listNewCommits(git, tips, before);
  t.equal(git.stats.spawns, 1);
  const listed = await listNewCommits(git, tips, before, 0);
  t.equal(git.stats.spawns, 3, 'for-each-ref + rev-list');
  t.same(listed.topoOrder, normal.topoOrder);
  t.equal(normal.topoOrder.length, 13, '12 branch commits + 1 on main, nothing older');
  const b5 = walkWithin(normal, fx.rev('b5'));
  t.same(oldestFirst(normal, b5.members), [fx.rev('b3'), fx.rev('b4'), fx.rev('b5')]);
  t.same([...b5.boundary], [fx.rev('main~1')]);

  const { event } = await analyzePushWithStats({ repoPath: fx.bare, refLines: lines, env: {}, timeNs: 1n, host: 'h' });
  assertValidPushEvent(t, event);
  t.equal(Object.keys(event.commits).length, 13);
  t.ok(Object.values(event.commits).every((c) => c.distinct));
});

t.test('the detailed walk: rev-list\'s commits and order; with a limit, a prefix of them', async (t) => {
  const fx = gitFixtureFor(t, 'relay-walk-');
  fx.write('a', '0\n');
  fx.commit('base');
  fx.push(['origin', 'main']);
  fx.git(['checkout', '--quiet', '-b', 'side']);
  for (let i = 0; i < 4; i++) {
    fx.write('s', `${i}\n`);
    fx.commit(`side ${i}`);
  }
  fx.git(['checkout', '--quiet', 'main']);
  for (let i = 0; i < 3; i++) {
    fx.write('m', `${i}\n`);
    fx.commit(`main ${i}`);
  }
  fx.git(['merge', '--quiet', '--no-ff', '--no-edit', 'side']);
  const lines = fx.push(['origin', 'main', 'side']);
  const tips = lines.map((l) => l.after);
  const { before } = refStatesAroundPush(lines);
  const git = new GitRunner(fx.bare);
  const listed = await listNewCommits(git, tips, before);
  t.equal(listed.topoOrder.length, 8);
  const walk = (limit: number, maxExcludeBytes?: number) => {
    const details: string[] = [];
    const options = { limit, renames: true, copies: true, maxFiles: 100, fallbackEncoding: null, onCommit: (c: { id: string; files: unknown[] }) => details.push(`${c.id} ${c.files.length}`), ...(maxExcludeBytes === undefined ? {} : { maxExcludeBytes }) };
    return walkNewCommits(git, tips, before, options).then((result) => ({ ...result, details }));
  };
  const spawnsBefore = git.stats.spawns;
  const whole = await walk(100);
  t.equal(git.stats.spawns - spawnsBefore, 1, 'one git process');
  t.equal(whole.complete, true);
  t.same(whole.graph.topoOrder, listed.topoOrder, 'same commits, same topological order as rev-list');
  t.same(whole.graph.parents, listed.parents);
  t.equal(whole.details.length, 8, 'every commit detailed');
  t.match(whole.details.find((d) => d.startsWith(fx.rev('main'))), / 1$/, 'the merge: files against its first parent only');
  for (const limit of [0, 3, 7]) {
    const part = await walk(limit);
    t.equal(part.complete, false, `limit ${limit}: more new commits than the limit`);
    t.same(part.graph.topoOrder, listed.topoOrder.slice(0, limit + 1), `limit ${limit}: a prefix of rev-list's order, limit + 1 long`);
  }
  t.equal((await walk(8)).complete, true, 'exactly the limit: complete');
  const viaRefList = await walk(100, 0);
  t.same(viaRefList.graph, whole.graph, 'too many changed refs for --exclude: the same walk over listed refs');
});

t.test('deleting several refs: one walk, each ref counts what it alone held', async (t) => {
  const fx = gitFixtureFor(t, 'relay-walk-');
  fx.write('a', '0\n');
  fx.commit('base');
  fx.git(['checkout', '--quiet', '-b', 'x']);
  fx.write('x', '1\n');
  fx.commit('x1');
  fx.write('x', '2\n');
  fx.commit('x2');
  fx.git(['checkout', '--quiet', '-b', 'y']);
  fx.write('y', '1\n');
  fx.commit('y1');
  fx.push(['origin', 'main', 'x', 'y', 'main:refs/heads/z']);
  const lines = fx.push(['origin', ':x', ':y', ':z']);
  const { event, stats } = await analyzePushWithStats({ repoPath: fx.bare, refLines: lines, env: {}, timeNs: 1n, host: 'h' });
  assertValidPushEvent(t, event);
  t.same(event.refs.map((r) => [r.name, r.removedCommits]), [['x', 2], ['y', 3], ['z', 0]], 'y reached x1, x2 and y1; z only main\'s commit');
  t.equal(stats.spawns, 1);

  const orphans = await listOrphanedCommits(new GitRunner(fx.bare), lines.map((l) => l.before), refStatesAroundPush(lines).after);
  t.equal(orphans.parents.size, 3);
});

t.test('refs as they stood around a push, given later pushes', async (t) => {
  const [Z, A, B, C, D] = ['0', 'a', 'b', 'c', 'd'].map((c) => c.repeat(40));
  const ours = [{ before: A, after: B, ref: 'refs/heads/main' }, { before: Z, after: C, ref: 'refs/heads/new' }];
  t.same(refStatesAroundPush(ours), {
    before: { changedRefs: ['refs/heads/main', 'refs/heads/new'], values: [A] },
    after: { changedRefs: [], values: [] },
  });
  const later = [
    { before: B, after: D, ref: 'refs/heads/main' },
    { before: Z, after: C, ref: 'refs/heads/copy' },
    { before: D, after: A, ref: 'refs/heads/main' },
  ];
  t.same(refStatesAroundPush(ours, later), {
    before: { changedRefs: ['refs/heads/main', 'refs/heads/copy', 'refs/heads/new'], values: [A] },
    after: { changedRefs: ['refs/heads/main', 'refs/heads/copy'], values: [B] },
  }, 'first later touch decides; refs created later did not exist');
});

t.test('analysis of an older record is not fooled by pushes made since', async (t) => {
  const fx = gitFixtureFor(t, 'relay-walk-');
  fx.write('a', '0\n');
  fx.commit('base');
  fx.git(['checkout', '--quiet', '-b', 'tmp']);
  fx.write('t', '1\n');
  fx.commit('tmp one');
  fx.write('t', '2\n');
  const tmpTip = fx.commit('tmp two');
  fx.push(['origin', 'main', 'tmp']);
  fx.git(['checkout', '--quiet', '-b', 'feat', 'main']);
  fx.write('f', '1\n');
  const x = fx.commit('feature work');
  // This push, analyzed late: creates feat, deletes tmp.
  const ours = fx.push(['origin', 'feat', ':tmp']);
  // Pushes made before the daemon got to it: a copy of feat, tmp resurrected.
  const later = [...fx.push(['origin', 'feat:refs/heads/copy']), ...fx.push(['origin', `${tmpTip}:refs/heads/tmp-again`])];

  const analyze = async (laterRefLines?: typeof later) => {
    const { event } = await analyzePushWithStats({ repoPath: fx.bare, refLines: ours, env: {}, timeNs: 1n, host: 'h', ...(laterRefLines ? { laterRefLines } : {}) });
    assertValidPushEvent(t, event);
    return event;
  };
  const ref = (event: Awaited<ReturnType<typeof analyze>>, name: string) => event.refs.find((r) => r.name === name)!;
  const naive = await analyze();
  t.same(ref(naive, 'feat').commits, [], 'without later pushes: feat looks like it brought nothing');
  t.equal(ref(naive, 'tmp').removedCommits, 0);
  const aware = await analyze(later);
  t.same(ref(aware, 'feat').commits, [x], 'as of the push, feature work was new');
  t.equal(aware.commits[x].distinct, true);
  t.equal(ref(aware, 'tmp').removedCommits, 2, 'as of the push, deleting tmp orphaned its two commits');
});
