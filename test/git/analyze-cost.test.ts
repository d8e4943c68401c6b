// Cost follows the new commits, not the repository's history: the same push
// in a tiny repository and in one with thousands of commits starts the same
// git processes and takes about the same time.
import t from 'tap';
import type { Test } from 'tap';
import { analyzePushWithStats } from '../../src/git/analyze-push.ts';
import type { RefLine } from '../../src/git/ref-lines.ts';
import { createGitFixture, fastImportHistory, type GitFixture } from '../helpers/git-fixture.ts';
import { assertValidPushEvent } from '../helpers/validate-event.ts';

const HISTORY = 3000;

/** A fixture whose main already holds `history` commits (plus one), pushed. */
function repository(history: number): GitFixture {
  const fx = createGitFixture('relay-cost-');
  if (history > 0) {
    fastImportHistory(fx.work, fx.env, { ref: 'refs/heads/main', commits: history, filesPerCommit: 2 });
    fx.git(['reset', '--hard', '--quiet', 'main']);
  }
  fx.write('extra', '0\n');
  fx.commit('before the measured pushes');
  fx.push(['origin', 'main']);
  return fx;
}

/** The measured pushes, each made and then analyzed before the next. */
const STEPS: Record<string, (fx: GitFixture) => RefLine[]> = {
  fastForward(fx) {
    fx.write('extra', '1\n');
    fx.commit('one new commit PROJ-1');
    return fx.push(['origin', 'main']);
  },
  newBranch(fx) {
    fx.git(['checkout', '--quiet', '-b', 'topic']);
    fx.write('topic', '1\n');
    fx.commit('topic work');
    return fx.push(['origin', 'topic']);
  },
  forcePush(fx) {
    fx.git(['reset', '--hard', '--quiet', 'HEAD~1']);
    fx.write('topic', 'rewritten\n');
    fx.commit('topic rewritten');
    return fx.push(['--force', 'origin', 'topic']);
  },
};

/** Median analysis time of 7 runs, git processes, commits analyzed. */
async function measure(t: Test, fx: GitFixture, lines: RefLine[]): Promise<{ spawns: number; medianMs: number; commits: number }> {
  const times: number[] = [];
  let spawns = 0;
  let commits = 0;
  for (let i = 0; i < 7; i++) {
    const { event, stats } = await analyzePushWithStats({ repoPath: fx.bare, refLines: lines, env: {}, timeNs: 1n, host: 'h' });
    if (i === 0) assertValidPushEvent(t, event);
    times.push(stats.totalMs);
    spawns = stats.spawns;
    commits = Object.keys(event.commits).length;
  }
  times.sort((a, b) => a - b);
  return { spawns, medianMs: times[3], commits };
}

t.test(`a push costs the same in a tiny repository and in one with ${HISTORY} commits`, async (t) => {
  const tiny = repository(0);
  const large = repository(HISTORY);
  t.teardown(() => {
    tiny.cleanup();
    large.cleanup();
  });
  t.equal(Number(large.gitBare(['rev-list', '--count', 'main'])), HISTORY + 1, 'large history is really there');
  // One log walk finds the new commits and reads their details; a force-push adds rev-list --left-right.
  const expectedSpawns: Record<string, number> = { fastForward: 1, newBranch: 1, forcePush: 2 };
  for (const [name, step] of Object.entries(STEPS)) {
    const a = await measure(t, tiny, step(tiny));
    const b = await measure(t, large, step(large));
    t.equal(b.commits, 1, `${name}: one commit analyzed`);
    t.equal(a.spawns, expectedSpawns[name], `${name}: ${expectedSpawns[name]} git processes`);
    t.equal(b.spawns, a.spawns, `${name}: same git processes regardless of history`);
    t.ok(b.medianMs <= Math.max(2.5 * a.medianMs, a.medianMs + 25), `${name}: ${b.medianMs.toFixed(1)} ms with history vs ${a.medianMs.toFixed(1)} ms without`);
  }
});
