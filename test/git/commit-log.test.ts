// The streaming log parser against real git output, fed in every chunking.
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { analyzePushWithStats } from '../../src/git/analyze-push.ts';
import { analysisOptions } from '../../src/git/analysis-options.ts';
import { COMMITS_PER_LOG_PROCESS, LogParser, logArguments, splitForParallelLog, type LoggedCommit } from '../../src/git/commit-log.ts';
import { walkDetailLimit } from '../../src/git/new-commit-walk.ts';
import { gitFixtureFor, fastImportHistory } from '../helpers/git-fixture.ts';
import { assertValidPushEvent } from '../helpers/validate-event.ts';

t.test('same result whatever the chunk boundaries', async (t) => {
  const fx = gitFixtureFor(t, 'relay-log-');
  fx.write('a.txt', 'one\n');
  fx.write('bin', Buffer.from([0, 1, 2]));
  const c1 = fx.commit('root\n\nwith body\n');
  fx.rename('a.txt', 'dir/b\tc.txt');
  fx.write('new:file', 'x\ny\n');
  const c2 = fx.commit('second');
  const c3 = fx.commit('empty', { allowEmpty: true });
  const output = execFileSync('git', logArguments({ renames: true, copies: true, withFiles: true }), { cwd: fx.work, env: fx.env, input: `${c3}\n${c1}\n${c2}\n` });

  const parse = (chunkSize: number, maxFiles = 100): LoggedCommit[] => {
    const commits: LoggedCommit[] = [];
    const parser = new LogParser({ maxFiles, fallbackEncoding: null, onCommit: (c) => commits.push(c) });
    for (let i = 0; i < output.length; i += chunkSize) parser.push(output.subarray(i, i + chunkSize));
    parser.end();
    return commits;
  };
  const whole = parse(output.length);
  t.same(whole.map((c) => c.id), [c3, c1, c2], 'input order kept');
  t.equal(whole[1].tree, fx.rev(`${c1}^{tree}`));
  t.same(whole[1].files, [
    { path: 'a.txt', status: 'added', binary: false, additions: 1, deletions: 0 },
    { path: 'bin', status: 'added', binary: true, additions: 0, deletions: 0 },
  ]);
  t.equal(whole[1].message, 'root\n\nwith body\n');
  t.same(whole[0].files, [], 'empty commit');
  t.same(whole[2].files, [
    { path: 'dir/b\tc.txt', status: 'renamed', oldPath: 'a.txt', binary: false, additions: 0, deletions: 0 },
    { path: 'new:file', status: 'added', binary: false, additions: 2, deletions: 0 },
  ]);
  for (const size of [1, 2, 3, 7, 64]) t.same(parse(size), whole, `chunks of ${size} bytes`);
  const capped = parse(5, 1);
  t.same(capped[2].files.map((f) => f.path), ['dir/b\tc.txt']);
  t.equal(capped[2].totalFiles, 2, 'files beyond the cap are counted');
});

t.test('large lists are split over a few log processes, small ones are not', async (t) => {
  const shas = (n: number) => Array.from({ length: n }, (_, i) => String(i));
  t.same(splitForParallelLog(shas(3), 4), [['0', '1', '2']]);
  t.equal(splitForParallelLog(shas(COMMITS_PER_LOG_PROCESS * 2 - 1), 4).length, 1);
  const four = splitForParallelLog(shas(10_000), 4);
  t.same(four.map((c) => c.length), [2500, 2500, 2500, 2500]);
  t.same(four.flat(), shas(10_000), 'order and content kept');
  t.equal(splitForParallelLog(shas(10_000), 1).length, 1);
  t.same(splitForParallelLog([], 4), []);
});

t.test('a push of thousands of commits: walk beyond its limit, rev-list, split log; same event as one walk', async (t) => {
  const fx = gitFixtureFor(t, 'relay-split-');
  const COMMITS = 4100;
  fastImportHistory(fx.work, fx.env, { ref: 'refs/heads/main', commits: COMMITS, filesPerCommit: 1 });
  const lines = fx.push(['origin', 'main']);
  const run = (maxLogProcesses: number, maxCommits = 5000) => analyzePushWithStats({ repoPath: fx.bare, refLines: lines, env: {}, timeNs: 1n, host: 'h' }, analysisOptions({ maxCommits, maxLogProcesses }));
  t.equal(walkDetailLimit(5000, 2), 2 * COMMITS_PER_LOG_PROCESS - 1, 'with several log processes a walk details at most what one would take');
  t.equal(walkDetailLimit(5000, 1), 5000);
  const split = await run(2);
  const single = await run(1);
  assertValidPushEvent(t, split.event);
  t.equal(split.stats.spawns, 4, 'walk (2,000 detailed) + rev-list (all 4,100) + two log processes for the other 2,100');
  t.equal(single.stats.spawns, 1, 'one walk details all 4,100');
  t.equal(split.event.refs[0].commits.length, COMMITS);
  t.same(Object.keys(split.event.commits), split.event.refs[0].commits, 'commits map in listing order');
  t.ok(Object.values(split.event.commits).every((c) => c.distinct && c.files.length === 1), 'walked and logged commits alike: distinct, files read');
  t.same(split.event, single.event, 'same event either way');

  const capped = await run(2, 2048);
  t.equal(capped.stats.spawns, 3, 'walk + rev-list for the exact total + log of the 48 listed commits the walk did not reach');
  t.match(capped.event.refs[0], { totalCommits: COMMITS, truncated: true });
  t.same(capped.event.refs[0].commits, single.event.refs[0].commits.slice(-2048), 'the newest 2,048, oldest first');
  t.same(capped.event.commits[capped.event.refs[0].commits[0]], single.event.commits[capped.event.refs[0].commits[0]]);
});
