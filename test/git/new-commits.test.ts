// The rev-list walks behind `distinct`, created refs' commits and deletes.
import t from 'tap';
import { analyzePushWithStats } from '../../src/git/analyze-push.ts';
import { listNewCommits, listOrphanedCommits, oldestFirst, walkWithin } from '../../src/git/new-commits.ts';
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
  const oldValues = lines.map((l) => l.before).filter((b) => !/^0+$/.test(b));
  const refs = lines.map((l) => l.ref);
  const normal = await listNewCommits(git, tips, oldValues, refs);
  t.equal(git.stats.spawns, 1);
  const listed = await listNewCommits(git, tips, oldValues, refs, 0);
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

  const orphans = await listOrphanedCommits(new GitRunner(fx.bare), lines.map((l) => l.before));
  t.equal(orphans.parents.size, 3);
});
