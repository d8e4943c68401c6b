// Benchmark `analyze-large`: a 10,000-commit new branch (3 files per commit)
// pushed through the real hook, then analyzed. Goal ≤ 3 s and ≤ 200 MB peak
// RSS. Each analysis runs in a fresh child process so its peak RSS is its own.
// Measured with the default caps (2,048 commits detailed per event) and
// uncapped (all 10,000 detailed; also with one git log process instead of the
// default split over cores). Such a push exceeds what the one-process walk
// details (walkDetailLimit), so the default takes the large-push path: the
// walk (newest 1,999 detailed), rev-list for exact totals, git log for the
// listed commits the walk did not read (split over cores when uncapped);
// with one log process the walk details all 10,000. Peers: plain
// `git log --raw --numstat -M` over the same range (for scale), and the same
// analyses with the direct-spawn git runner from before simple-git
// (test/bench/peers/use-direct-spawn.ts; goal: within 10 %), alternating,
// median of RUNS=3 each.
// Prints one JSON line: {"bench":"analyze-large",...,"pass":true,"passUncapped":true}
// ("pass" judges the default configuration; "passUncapped" all 10,000 detailed).
// Run: node test/bench/analyze-large.bench.ts   (COMMITS=N to change the size)

import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { analyzePushWithStats } from '../../src/git/analyze-push.ts';
import { analysisOptions } from '../../src/git/analysis-options.ts';
import type { RefLine } from '../../src/git/ref-lines.ts';
import { createGitFixture, fastImportHistory } from '../helpers/git-fixture.ts';

const COMMITS = Number(process.env.COMMITS ?? 10_000);
const BASE_COMMITS = 1_000;
const FILES_PER_COMMIT = 3;
const GOAL_MS = 3_000;
const GOAL_RSS_MB = 200;
const SELF = fileURLToPath(import.meta.url);
/** Runs of each configuration (ours and the direct-spawn peer alternate). */
const RUNS = Number(process.env.RUNS ?? 3);

/** What one analysis in a child process reports. */
interface ChildResult {
  ms: number;
  spawns: number;
  gitMs: number;
  detailed: number;
  refCommits: number;
  errors: number;
  peakRssMB: number;
}

/** Child mode: analyze the given push once and print ChildResult as JSON. */
async function child(repoPath: string, refLinesJson: string, maxCommits: number, maxLogProcesses: number): Promise<void> {
  const refLines = JSON.parse(refLinesJson) as RefLine[];
  const options = analysisOptions({ maxCommits, ...(maxLogProcesses > 0 ? { maxLogProcesses } : {}) });
  const { event, stats } = await analyzePushWithStats({ repoPath, refLines, env: {}, timeNs: BigInt(Date.now()) * 1_000_000n, host: 'bench' }, options);
  // Serializing is part of the job (the event goes to the store as JSON).
  const json = JSON.stringify(event);
  const result: ChildResult = {
    ms: Math.round(stats.totalMs),
    spawns: stats.spawns,
    gitMs: Math.round(stats.gitMs),
    detailed: Object.keys(event.commits).length,
    refCommits: event.refs[0]?.totalCommits ?? 0,
    errors: event.errors.length + (json.length > 0 ? 0 : 1),
    peakRssMB: Math.round(process.resourceUsage().maxRSS / 1024),
  };
  process.stdout.write(JSON.stringify(result) + '\n');
}

/** Runs the child under /usr/bin/time when present, to also see the peak RSS of node and its git processes together. */
type ChildRun = ChildResult & { peakRssWithGitMB: number | null };

function runChild(repoPath: string, refLines: RefLine[], maxCommits: number, maxLogProcesses = 0, nodeFlags: string[] = []): ChildRun {
  const timeBin = existsSync('/usr/bin/time') ? '/usr/bin/time' : null;
  const nodeArgs = [...nodeFlags, SELF, '--child', repoPath, JSON.stringify(refLines), String(maxCommits), String(maxLogProcesses)];
  const proc = timeBin
    ? spawnSync(timeBin, ['-f', 'maxrss-kb=%M', process.execPath, ...nodeArgs], { encoding: 'utf8' })
    : spawnSync(process.execPath, nodeArgs, { encoding: 'utf8' });
  if (proc.status !== 0) throw new Error(`analysis child failed (${proc.status}): ${proc.stderr}`);
  const result = JSON.parse(proc.stdout.trim().split('\n').at(-1)!) as ChildResult;
  const rss = /maxrss-kb=(\d+)/.exec(proc.stderr);
  return { ...result, peakRssWithGitMB: rss ? Math.round(Number(rss[1]) / 1024) : null };
}

async function main(): Promise<void> {
  const fx = createGitFixture('relay-bench-analyze-');
  try {
    const start = 1_600_000_000;
    fastImportHistory(fx.work, fx.env, { ref: 'refs/heads/main', commits: BASE_COMMITS, filesPerCommit: FILES_PER_COMMIT, startTime: start, label: 'base' });
    fx.git(['reset', '--hard', '--quiet', 'main']);
    fx.push(['origin', 'main']);
    fastImportHistory(fx.work, fx.env, { ref: 'refs/heads/big', commits: COMMITS, filesPerCommit: FILES_PER_COMMIT, startTime: start + BASE_COMMITS, from: 'refs/heads/main', label: 'big' });
    const pushStarted = performance.now();
    const refLines = fx.push(['origin', 'big']);
    const pushMs = Math.round(performance.now() - pushStarted);

    // Ours and the direct-spawn peer alternate, RUNS times each; the median run of each is reported.
    const direct = ['--import', fileURLToPath(new URL('./peers/use-direct-spawn.ts', import.meta.url))];
    const runs = { capped: [] as ChildRun[], uncapped: [] as ChildRun[], directCapped: [] as ChildRun[], directUncapped: [] as ChildRun[] };
    for (let i = 0; i < RUNS; i++) {
      runs.capped.push(runChild(fx.bare, refLines, analysisOptions().maxCommits));
      runs.directCapped.push(runChild(fx.bare, refLines, analysisOptions().maxCommits, 0, direct));
      runs.uncapped.push(runChild(fx.bare, refLines, COMMITS));
      runs.directUncapped.push(runChild(fx.bare, refLines, COMMITS, 0, direct));
    }
    const median = (xs: ChildRun[]): ChildRun => [...xs].sort((a, b) => a.ms - b.ms)[Math.floor(xs.length / 2)];
    const capped = median(runs.capped);
    const uncapped = median(runs.uncapped);
    const directCapped = median(runs.directCapped);
    const directUncapped = median(runs.directUncapped);
    const uncappedOneLog = runChild(fx.bare, refLines, COMMITS, 1);
    const ratio = (a: number, b: number) => Number((a / b).toFixed(2));

    // Peer: what plain git takes to print the same details for the whole range.
    const peerStarted = performance.now();
    const peer = spawnSync('git', ['--git-dir', fx.bare, 'log', '--raw', '--numstat', '-M', '-C', '--format=%H%n%an%n%B', 'main..big'], { maxBuffer: 1 << 30 });
    const gitLogMs = Math.round(performance.now() - peerStarted);
    if (peer.status !== 0) throw new Error(`peer git log failed: ${peer.stderr}`);

    const ok = (r: ChildResult) => r.ms <= GOAL_MS && r.peakRssMB <= GOAL_RSS_MB && r.errors === 0 && r.refCommits === COMMITS;
    process.stdout.write(JSON.stringify({
      bench: 'analyze-large',
      commits: COMMITS,
      filesPerCommit: FILES_PER_COMMIT,
      historyBefore: BASE_COMMITS,
      pushMs,
      defaultCaps: capped,
      uncapped,
      uncappedOneLogProcess: uncappedOneLog,
      logProcesses: analysisOptions().maxLogProcesses,
      runs: RUNS,
      msAllRuns: Object.fromEntries(Object.entries(runs).map(([k, v]) => [k, v.map((r) => r.ms)])),
      directSpawn: {
        defaultCaps: directCapped,
        uncapped: directUncapped,
        msRatio: { defaultCaps: ratio(capped.ms, directCapped.ms), uncapped: ratio(uncapped.ms, directUncapped.ms) },
        rssRatio: { defaultCaps: ratio(capped.peakRssMB, directCapped.peakRssMB), uncapped: ratio(uncapped.peakRssMB, directUncapped.peakRssMB) },
      },
      peer: { gitLogRawNumstatMs: gitLogMs, outputMB: Math.round(peer.stdout.length / 1024 / 1024) },
      goal: { ms: GOAL_MS, peakRssMB: GOAL_RSS_MB },
      // The product runs with the default caps; uncapped is reported to show the headroom.
      pass: ok(capped),
      passUncapped: ok(uncapped),
      table: [
        { what: `${COMMITS.toLocaleString('en')}-commit new branch, default caps (${capped.detailed} commits detailed)`, ours: `${capped.ms} ms, ${capped.peakRssMB} MB peak, ${capped.spawns} git processes`, peer: `direct-spawn runner ${directCapped.ms} ms, ${directCapped.peakRssMB} MB (×${ratio(capped.ms, directCapped.ms)} time, ×${ratio(capped.peakRssMB, directCapped.peakRssMB)} RSS); git log --raw --numstat of the whole range: ${gitLogMs} ms`, goal: `≤ ${GOAL_MS} ms, ≤ ${GOAL_RSS_MB} MB` },
        { what: `same push, every commit detailed`, ours: `${uncapped.ms} ms, ${uncapped.peakRssMB} MB peak, ${uncapped.spawns} git processes`, peer: `direct-spawn runner ${directUncapped.ms} ms, ${directUncapped.peakRssMB} MB (×${ratio(uncapped.ms, directUncapped.ms)} time, ×${ratio(uncapped.peakRssMB, directUncapped.peakRssMB)} RSS); git log: ${gitLogMs} ms`, goal: `≤ ${GOAL_MS} ms, ≤ ${GOAL_RSS_MB} MB` },
      ],
    }) + '\n');
  } finally {
    fx.cleanup();
  }
}

if (process.argv[2] === '--child') await child(process.argv[3], process.argv[4], Number(process.argv[5]), Number(process.argv[6]));
else await main();
