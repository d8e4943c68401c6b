// Walking ahead (src/git/walk-ahead.ts): pushes queued for one repository
// get their walks from the first one's. The events must be exactly those each
// push's own analysis gives; real pushes through the real hook, random
// histories (merges, force-pushes, deletes, tags, commits regained).

import t from 'tap';
import { analyzePushWithStats } from '../../src/git/analyze-push.ts';
import type { RefLine } from '../../src/git/ref-lines.ts';
import { pushesToWalk, splitWalk } from '../../src/git/walk-ahead.ts';
import { WalkedPushes } from '../../src/git/walked-pushes.ts';
import { analysisOptions, type AnalysisOptions } from '../../src/git/analysis-options.ts';
import type { CommitGraph } from '../../src/git/new-commits.ts';
import { gitFixtureFor } from '../helpers/git-fixture.ts';

const Z = '0'.repeat(40);
const sha = (c: string) => c.repeat(40);
const line = (before: string, after: string, ref = 'refs/heads/main'): RefLine => ({ before, after, ref });

t.test('pushesToWalk: branch creates and updates whose old values follow each other', async (t) => {
  const [a, b, c, d] = ['a', 'b', 'c', 'd'].map(sha);
  t.same(pushesToWalk([line(a, b)], [[line(b, c)], [line(c, d)]], []).length, 3, 'a fast-forward chain');
  t.same(pushesToWalk([line(a, b)], [], []), [], 'nothing queued: nothing to walk ahead');
  t.same(pushesToWalk([line(a, b)], [[line(c, d)]], []), [], 'a push left out between (old value does not follow)');
  t.same(pushesToWalk([line(a, b)], [[line(b, Z)], [line(Z, c)]], []), [], 'a delete ends the chain');
  t.same(pushesToWalk([line(a, b)], [[line(Z, c, 'refs/tags/v1')]], []), [], 'a tag ends the chain');
  t.same(pushesToWalk([line(a, b)], [[line(Z, c, 'refs/heads/x')], [line(b, d)]], ['refs/heads/x']), [], 'an ignored ref ends the chain');
  t.same(pushesToWalk([line(a, b)], [[line(Z, c, 'refs/heads/x')], [line(c, d, 'refs/heads/x')]], []).length, 3, 'another branch created and moved');
});

t.test('splitWalk: each push gets the commits only it brought; merges and large pushes walk on their own', async (t) => {
  const [o, a, b, m, x, y] = ['0', 'a', 'b', 'c', 'd', 'e'].map(sha);
  // o is old (outside the walk). a, b on main; x on a branch; m merges x into main; y on the branch again.
  const graph: CommitGraph = {
    parents: new Map([[y, [x]], [m, [b, x]], [x, [a]], [b, [a]], [a, [o]]]),
    topoOrder: [y, m, x, b, a],
  };
  const pushes = [[line(o, a)], [line(a, b)], [line(Z, x, 'refs/heads/f')], [line(b, m)], [line(x, y, 'refs/heads/f')]];
  const out = splitWalk(graph, pushes, 10);
  t.same(out.map((g) => g && g.topoOrder), [[a], [b], [x], [m], [y]], 'each push its own commits, in order');
  t.same(out[3]!.parents.get(m), [b, x], 'parents kept whole (the boundary proves the fast-forward)');
  t.same(splitWalk(graph, [[line(Z, m, 'refs/heads/n')]], 10), [null], 'commits that are not one line (a merge with both its sides new): the push walks on its own');
  t.same(splitWalk(graph, [[line(o, b)], [line(Z, x, 'refs/heads/f')], [line(b, m)]], 1).map((g) => g && g.topoOrder), [null, [x], [m]], 'more than the limit: walks on its own (and the pushes after it still get theirs)');
  // main moved back to a (not provably a fast-forward): b could come back with a later push.
  t.same(splitWalk(graph, [[line(o, b)], [line(b, a)], [line(Z, b, 'refs/heads/again')]], 10).map((g) => g && g.topoOrder), [[b, a], []], 'stops after a push that may have dropped commits');
});

/** The analysis of each push on its own (laterRefLines only) and with walks read ahead, as the daemon does. */
async function bothWays(repoPath: string, pushes: RefLine[][], options: AnalysisOptions = analysisOptions()) {
  const solo = [];
  for (let i = 0; i < pushes.length; i++) {
    solo.push(await analyzePushWithStats({ repoPath, refLines: pushes[i], env: {}, timeNs: BigInt(i + 1), host: 'h', laterRefLines: pushes.slice(i + 1).flat() }, options));
  }
  const walkedPushes = new WalkedPushes();
  const ahead = [];
  for (let i = 0; i < pushes.length; i++) {
    const plan = walkedPushes.forPush(repoPath, pushes[i], pushes.slice(i + 1), Date.now());
    const r = await analyzePushWithStats({ repoPath, refLines: pushes[i], env: {}, timeNs: BigInt(i + 1), host: 'h', laterRefLines: pushes.slice(i + 1).flat(), ...plan }, options);
    walkedPushes.keep(repoPath, r.walkedAhead, Date.now());
    ahead.push(r);
  }
  return { solo, ahead };
}

t.test('a force-push between: the commits it dropped are new again for the push that brings them back', async (t) => {
  const fx = gitFixtureFor(t, 'relay-ahead-');
  fx.write('a', '1\n');
  const a = fx.commit('A');
  const p0 = fx.push(['origin', 'main']);
  fx.write('a', '2\n');
  const b = fx.commit('B');
  const p1 = fx.push(['origin', 'main']);
  fx.git(['reset', '--quiet', '--hard', a]);
  const p2 = fx.push(['--force', 'origin', 'main']);
  const p3 = fx.push(['origin', `${b}:refs/heads/again`]);
  const { solo, ahead } = await bothWays(fx.bare, [p0, p1, p2, p3]);
  t.same(ahead.map((r) => r.event), solo.map((r) => r.event), 'the same events');
  t.same(ahead[3].event.refs[0].commits, [b], 'B is new again with the push that brings it back');
  t.same(ahead[1].event.refs[0].commits, [b], 'and was new with the first');
  t.same(ahead.map((r) => r.stats.walkedAhead), [false, true, true, false], 'walked ahead up to the force-push, not beyond');
  t.equal(ahead[1].stats.spawns, 0, 'a fast-forward read ahead starts no git');
});

t.test('a merge that brings both its sides walks on its own; the push after it still gets its walk read ahead', async (t) => {
  const fx = gitFixtureFor(t, 'relay-ahead-');
  fx.write('a', '1\n');
  fx.commit('base');
  fx.push(['origin', 'main']);
  fx.git(['checkout', '--quiet', '-b', 'topic']);
  fx.write('t', '1\n');
  const x = fx.commit('topic work, never pushed on its own');
  fx.git(['checkout', '--quiet', 'main']);
  fx.write('b', '1\n');
  const z = fx.commit('main work, not pushed either');
  fx.git(['merge', '--quiet', '--no-ff', '-m', 'merge topic', 'topic']);
  const m = fx.rev('HEAD');
  const p1 = fx.push(['origin', 'main']);
  fx.write('a', '2\n');
  const y = fx.commit('after the merge');
  const p2 = fx.push(['origin', 'main']);
  const { solo, ahead } = await bothWays(fx.bare, [p1, p2]);
  t.same(ahead.map((r) => r.event), solo.map((r) => r.event), 'the same events');
  t.same(new Set(ahead[0].event.refs[0].commits), new Set([x, z, m]), 'the merge and both sides it brought');
  t.same(ahead[1].event.refs[0].commits, [y]);
  t.same(ahead.map((r) => r.stats.walkedAhead), [false, true], 'the second push was read ahead');
  t.same(ahead.map((r) => r.stats.spawns), [2, 0], 'the merge: the walk for both, then its own; the next push: none');
});

t.test('queued pushes with more commits than one walk reads: each walks on its own, and the repository stops trying for a while', async (t) => {
  const fx = gitFixtureFor(t, 'relay-ahead-');
  const pushes: RefLine[][] = [];
  for (let p = 0; p < 4; p++) {
    for (let c = 0; c < 2; c++) {
      fx.write('a', `${p}.${c}\n`);
      fx.commit(`push ${p} commit ${c}`);
    }
    pushes.push(fx.push(['origin', 'main']));
  }
  // A walk reads 3 commits at most: two pushes of 2 do not fit.
  const { solo, ahead } = await bothWays(fx.bare, pushes, analysisOptions({ maxCommits: 3, maxLogProcesses: 1 }));
  t.same(ahead.map((r) => r.event), solo.map((r) => r.event), 'the same events');
  t.same(ahead.map((r) => r.walkedAhead.overflowed), [true, false, false, false], 'the first push found the walk too large; the others did not try again');
  t.same(ahead.map((r) => r.stats.spawns), [2, 1, 1, 1], 'one wasted walk, then one walk per push');
});

t.test('WalkedPushes: each walk taken once, dropped when old, bounded in commits', async (t) => {
  const walk = (key: RefLine[], commits: number) => ({ key: key.map((l) => `${l.before} ${l.after} ${l.ref}`).join('\n'), graph: { parents: new Map(), topoOrder: [] }, commits: Array.from({ length: commits }, () => ({}) as never) });
  const [a, b, c, d] = ['a', 'b', 'c', 'd'].map(sha);
  const p2 = [line(a, b)];
  const p3 = [line(b, c)];
  const p4 = [line(c, d)];
  const kept = new WalkedPushes({ maxAgeMs: 1000, maxCommits: 5 });
  kept.keep('/r', { walks: [walk(p2, 2), walk(p3, 2), walk(p4, 2)], overflowed: false }, 0);
  t.same(kept.size, { walks: 2, commits: 4 }, 'the third walk would pass the commit bound: not kept');
  t.same(kept.forPush('/r', [line(Z, a)], [p2, p3], 10).laterPushes, [], 'the next push has its walk: nothing to read ahead');
  t.ok(kept.forPush('/r', p2, [p3], 10).walked, 'a kept walk is handed out');
  t.notOk(kept.forPush('/r', p2, [], 10).walked, 'once');
  t.notOk(kept.forPush('/elsewhere', p3, [], 10).walked, 'only for its repository');
  t.notOk(kept.forPush('/r', p3, [], 1001 + 10).walked, 'not when older than maxAgeMs');
  t.same(kept.size, { walks: 0, commits: 0 });
  kept.keep('/r', { walks: [], overflowed: true }, 2000);
  t.same(kept.forPush('/r', p3, [p4], 2500).laterPushes, [], 'a repository that overflowed walks one push at a time for a while');
  t.same(kept.forPush('/r', p3, [p4], 3001).laterPushes, [p4], 'then tries again');
});

/** A small deterministic PRNG (mulberry32). */
function prng(seed: number): () => number {
  return () => {
    seed |= 0;
    seed = (seed + 0x6d2b79f5) | 0;
    let x = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

for (const seed of [7, 2026]) {
  t.test(`random history (seed ${seed}): walked ahead or not, every push's event is the same`, async (t) => {
    const fx = gitFixtureFor(t, 'relay-ahead-');
    const random = prng(seed);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)];
    let n = 0;
    const commit = (count: number) => {
      for (let i = 0; i < count; i++) {
        n++;
        fx.write(`f${n % 7}/file${n}`, `${n}\n`);
        fx.commit(`PROJ-${n} change ${n}`);
      }
    };
    const branches = ['main'];
    const dropped: string[] = [];
    const pushes: RefLine[][] = [];
    commit(1);
    pushes.push(fx.push(['origin', 'main']));
    const kinds: Record<string, number> = {};
    while (pushes.length < 40) {
      const r = random();
      const b = pick(branches);
      let kind: string;
      if (r < 0.4) {
        kind = 'fast-forward';
        fx.git(['checkout', '--quiet', b]);
        commit(1 + Math.floor(random() * 3));
        pushes.push(fx.push(['origin', b]));
      } else if (r < 0.5) {
        kind = 'new branch';
        const name = `b${n}`;
        fx.git(['checkout', '--quiet', '-b', name, b]);
        commit(Math.floor(random() * 3));
        branches.push(name);
        pushes.push(fx.push(['origin', name]));
      } else if (r < 0.6 && branches.length > 1) {
        kind = 'merge';
        const other = pick(branches.filter((x) => x !== 'main'));
        if (random() < 0.5) {
          kind = 'merge of unpushed work';
          fx.git(['checkout', '--quiet', other]);
          commit(1);
        }
        fx.git(['checkout', '--quiet', 'main']);
        n++;
        fx.git(['merge', '--quiet', '--no-ff', '-m', `merge ${other} (${n})`, other]);
        pushes.push(fx.push(['origin', 'main', ...(kind === 'merge' ? [] : [other])]));
      } else if (r < 0.7) {
        kind = 'force-push';
        fx.git(['checkout', '--quiet', b]);
        const tip = fx.rev('HEAD');
        if (fx.git(['rev-list', '--count', 'HEAD']) === '1') continue;
        fx.git(['reset', '--quiet', '--hard', 'HEAD~1']);
        dropped.push(tip);
        pushes.push(fx.push(['--force', 'origin', b]));
      } else if (r < 0.76 && dropped.length > 0) {
        kind = 'commit regained';
        const name = `back${n++}`;
        fx.git(['branch', name, pick(dropped)]);
        branches.push(name);
        pushes.push(fx.push(['origin', name]));
      } else if (r < 0.82 && branches.length > 1) {
        kind = 'delete';
        const gone = pick(branches.filter((x) => x !== 'main'));
        fx.git(['checkout', '--quiet', 'main']);
        dropped.push(fx.rev(gone));
        fx.git(['branch', '--quiet', '-D', gone]);
        branches.splice(branches.indexOf(gone), 1);
        pushes.push(fx.push(['origin', `:${gone}`]));
      } else if (r < 0.88) {
        kind = 'tag';
        const tag = `v${n++}`;
        fx.git(random() < 0.5 ? ['tag', '-a', '-m', `release ${tag}`, tag, b] : ['tag', tag, b]);
        pushes.push(fx.push(['origin', tag]));
      } else if (branches.length > 1) {
        kind = 'two branches at once';
        const other = pick(branches.filter((x) => x !== b));
        for (const x of [b, other]) {
          fx.git(['checkout', '--quiet', x]);
          commit(1);
        }
        pushes.push(fx.push(['origin', b, other]));
      } else {
        continue;
      }
      kinds[kind] = (kinds[kind] ?? 0) + 1;
    }
    t.comment(`pushes: ${JSON.stringify(kinds)}`);
    const { solo, ahead } = await bothWays(fx.bare, pushes);
    for (let i = 0; i < pushes.length; i++) t.same(ahead[i].event, solo[i].event, `push ${i + 1} (${pushes[i].map((l) => l.ref).join(', ')}): the same event${ahead[i].stats.walkedAhead ? ', walked ahead' : ''}`);
    const walked = ahead.filter((r) => r.stats.walkedAhead).length;
    const spawns = (runs: typeof solo) => runs.reduce((s, r) => s + r.stats.spawns, 0);
    t.ok(walked >= 5, `pushes walked ahead: ${walked} of ${pushes.length}`);
    t.ok(spawns(ahead) < spawns(solo), `git processes: ${spawns(ahead)} walking ahead, ${spawns(solo)} each on its own`);
  });
}
