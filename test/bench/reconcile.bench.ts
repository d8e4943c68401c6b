// Benchmark `reconcile`: a reconciliation sweep over 10,000 repositories of
// 20 refs each (a Bitbucket home laid out by the benchmark), in the real
// daemon (RelayDaemon in this process: real config, store, intake,
// reconciler, file destination fsync'd).
//   - nothing changed: wall and CPU time per sweep, git processes started
//     (child_process is counted; goal ≤ 2 s wall, ≤ 1 CPU-s, 0 processes);
//   - 10 repositories changed without a hook: time from the sweep's start
//     until the 10 reconciled events are durable (goal ≤ 3 s), and, with
//     reconcile.watch on and no sweep, from the change until they are durable;
//   - the first sweep (first sight of every repository, watches set up) and
//     a restart's first sweep (known refs in the store, watch off);
//   - the watches alone: directories, set-up time, memory;
//   - peer in the same run: `git for-each-ref` over the same repositories.
// Repositories share one object store (objects/info/alternates) so 10,000
// of them take seconds to lay out; refs are 15 packed + 5 loose per repository.
// Prints ONE JSON line.
//
//   node test/bench/reconcile.bench.ts [--repos 10000] [--peer-repos 1000]
// (the peer runs over the first --peer-repos repositories and is scaled to all of them: one git
// process per repository takes minutes for 10,000 here)

import childProcess, { execFileSync, spawnSync } from 'node:child_process';
import { syncBuiltinESMExports } from 'node:module';
import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Writable } from 'node:stream';
import { stringify } from 'yaml';

const { values: args } = parseArgs({ options: { repos: { type: 'string', default: '10000' }, 'peer-repos': { type: 'string', default: '1000' } } });
const REPOS = Number(args.repos);
const PEER_REPOS = Math.min(REPOS, Number(args['peer-repos']));
const REFS = 20;
const CHANGED = 10;

// Count every process the daemon starts (git included) from here on.
let spawned = 0;
for (const name of ['spawn', 'execFile', 'exec', 'fork', 'spawnSync', 'execFileSync', 'execSync'] as const) {
  const original = (childProcess as any)[name];
  (childProcess as any)[name] = (...a: unknown[]) => {
    spawned++;
    return original(...a);
  };
}
syncBuiltinESMExports();
const { RelayDaemon } = await import('../../src/daemon/relay-daemon.ts');
const { createLogger } = await import('../../src/log/logger.ts');

const root = mkdtempSync(join(tmpdir(), 'relay-bench-reconcile-'));
const GIT_ENV = { ...process.env, GIT_AUTHOR_NAME: 'B', GIT_AUTHOR_EMAIL: 'b@example.com', GIT_COMMITTER_NAME: 'B', GIT_COMMITTER_EMAIL: 'b@example.com', GIT_CONFIG_NOSYSTEM: '1', HOME: root };
const git = (cwd: string, a: string[], input?: string): string => execFileSync('git', a, { cwd, env: GIT_ENV, input, stdio: ['pipe', 'pipe', 'pipe'] }).toString().trim();

try {
  // A template repository: REFS commits in a chain (one per ref) plus CHANGED more for the changes.
  const template = join(root, 'template.git');
  git(root, ['init', '--quiet', '--bare', template]);
  const shas: string[] = [];
  let parent: string | null = null;
  for (let i = 0; i < REFS + CHANGED; i++) {
    const blob = git(template, ['hash-object', '-w', '--stdin'], `content ${i}\n`);
    const tree = git(template, ['mktree'], `100644 blob ${blob}\tfile-${i}.txt\n`);
    const c: string = git(template, ['commit-tree', tree, ...(parent ? ['-p', parent] : []), '-m', `commit ${i}`]);
    shas.push(c);
    parent = c;
  }
  const home = join(root, 'home');
  const reposDir = join(home, 'shared', 'data', 'repositories');
  const setupStart = performance.now();
  const refName = (i: number): string => (i < REFS - 2 ? `refs/heads/branch-${String(i).padStart(2, '0')}` : `refs/tags/v${i}`);
  for (let r = 1; r <= REPOS; r++) {
    const repo = join(reposDir, String(r));
    mkdirSync(join(repo, 'objects', 'info'), { recursive: true });
    mkdirSync(join(repo, 'refs', 'heads'), { recursive: true });
    mkdirSync(join(repo, 'refs', 'tags'), { recursive: true });
    writeFileSync(join(repo, 'HEAD'), 'ref: refs/heads/branch-00\n');
    writeFileSync(join(repo, 'config'), '[core]\n\trepositoryformatversion = 0\n\tfilemode = true\n\tbare = true\n');
    writeFileSync(join(repo, 'objects', 'info', 'alternates'), `${join(template, 'objects')}\n`);
    let packed = '# pack-refs with: peeled fully-peeled sorted \n';
    for (let i = 0; i < REFS; i++) {
      if (i < REFS - 5) packed += `${shas[i]} ${refName(i)}\n`;
      else writeFileSync(join(repo, refName(i)), `${shas[i]}\n`);
    }
    writeFileSync(join(repo, 'packed-refs'), packed);
  }
  const setupMs = performance.now() - setupStart;

  const writeConfig = (watch: boolean): string => {
    const config = join(root, `relay-${watch ? 'watch' : 'nowatch'}.yaml`);
    writeFileSync(config, stringify({
      spool: { dir: join(root, 'spool') },
      store: { path: join(root, 'state', 'relay.db') },
      admin: { socket: join(root, 'relay.sock') },
      bitbucket: { home },
      reconcile: { enabled: true, interval: '1h', grace: '0s', watch },
      log: { level: 'warn', format: 'json' },
      destinations: [{ name: 'archive', type: 'file', path: join(root, 'events.jsonl') }],
    }));
    return config;
  };
  mkdirSync(join(root, 'spool', 'incoming'), { recursive: true });
  const quiet = createLogger({ level: 'error', format: 'json', stream: new Writable({ write: (_c, _e, cb) => cb() }) });
  const reconciledEvents = (d: { store: { statement(sql: string): { get(): unknown } } }): number => (d.store.statement(`SELECT COUNT(*) AS n FROM events WHERE trigger = 'reconciled'`).get() as { n: number }).n;
  /** Three sweeps where nothing changed; the median. */
  const unchangedSweeps = async (reconciler: { sweep(): Promise<{ read: number }> }) => {
    const samples: { wallMs: number; cpuMs: number; processes: number; read: number }[] = [];
    for (let i = 0; i < 3; i++) {
      const spawnedBefore = spawned;
      const cpu = process.cpuUsage();
      const t0 = performance.now();
      const s = await reconciler.sweep();
      const wallMs = performance.now() - t0;
      const c = process.cpuUsage(cpu);
      samples.push({ wallMs, cpuMs: (c.user + c.system) / 1000, processes: spawned - spawnedBefore, read: s.read });
    }
    samples.sort((a, b) => a.wallMs - b.wallMs);
    return { median: samples[1], samples };
  };
  /** Changes `CHANGED` repositories without a hook (a loose ref written as git does: lock file + rename), ref name `name`, commits from `offset`. */
  const changeRepos = (name: string, offset: number): void => {
    for (let k = 0; k < CHANGED; k++) {
      const repo = join(reposDir, String(1 + k * Math.floor(REPOS / CHANGED)));
      const ref = join(repo, 'refs', 'heads', name);
      writeFileSync(`${ref}.lock`, `${shas[REFS + ((k + offset) % CHANGED)]}\n`);
      renameSync(`${ref}.lock`, ref);
    }
  };

  // Daemon 1, reconcile.watch on (the default). The sweep at start is the first sight of every repository
  // (refs recorded, no events) and sets up the watches.
  const rssStart = process.memoryUsage().rss;
  const daemon = await RelayDaemon.start({ configFile: writeConfig(true), log: quiet, watchConfig: false });
  const reconciler = daemon.reconciler!;
  while (!reconciler.last) await new Promise((r) => setTimeout(r, 50));
  const firstSight = reconciler.last;
  const rssAfterFirstSweep = process.memoryUsage().rss;
  const watched = reconciler.last.watched;
  const unchanged = await unchangedSweeps(reconciler);
  const median = unchanged.median;

  // 10 repositories change without a hook; no sweep is asked for: the file-system notices find them.
  const noticeSpawned = spawned;
  const tn = performance.now();
  changeRepos('feature-web-edit', 0);
  while (reconciledEvents(daemon) < CHANGED && performance.now() - tn < 60_000) await new Promise((r) => setTimeout(r, 5));
  const noticeToDurableMs = performance.now() - tn;
  const noticeEvents = reconciledEvents(daemon);
  const noticeProcesses = spawned - noticeSpawned;
  await daemon.stop();

  // Daemon 2, reconcile.watch off, same store: its start sweep reads every repository once (known refs
  // present: the restart case); then unchanged sweeps without watches, and 10 changes found by a sweep.
  const daemon2 = await RelayDaemon.start({ configFile: writeConfig(false), log: quiet, watchConfig: false });
  const reconciler2 = daemon2.reconciler!;
  while (!reconciler2.last) await new Promise((r) => setTimeout(r, 50));
  const restartSweep = reconciler2.last;
  const unchangedNoWatch = await unchangedSweeps(reconciler2);
  changeRepos('feature-web-merge', 1);
  const spawnedBefore = spawned;
  const before = reconciledEvents(daemon2);
  const t0 = performance.now();
  const changedSweep = await reconciler2.sweep(); // emits with grace 0s; resolves once the events are committed
  const durableMs = performance.now() - t0;
  const processes = spawned - spawnedBefore;
  const stored = reconciledEvents(daemon2) - before;
  await daemon2.stop();

  // The watches alone: one RefWatch over every repository (root + refs/ directories), set up and closed.
  const { RefWatch } = await import('../../src/reconcile/ref-watch.ts');
  const { readRefFiles } = await import('../../src/reconcile/ref-files.ts');
  const dirsOf = Array.from({ length: REPOS }, (_, i) => readRefFiles(join(reposDir, String(i + 1))).dirs);
  const rssBeforeWatch = process.memoryUsage().rss;
  const watchCpu = process.cpuUsage();
  const tw = performance.now();
  const rw = new RefWatch({ onNotice: () => undefined, ignoreRefs: () => ['refs/pull-requests/**'], log: quiet });
  for (let i = 0; i < REPOS; i++) rw.sync(join(reposDir, String(i + 1)), dirsOf[i]);
  const watchSetupMs = performance.now() - tw;
  const wc = process.cpuUsage(watchCpu);
  const watchRssMb = (process.memoryUsage().rss - rssBeforeWatch) / 2 ** 20;
  const watchDirs = rw.directories;
  const watchRepos = rw.repositories;
  rw.close();

  // Peer: git for-each-ref over the same repositories (one process each, as a git-based sweep would).
  const peerStart = performance.now();
  for (let r = 1; r <= PEER_REPOS; r++) {
    const out = spawnSync('git', ['for-each-ref', '--format=%(objectname) %(refname)'], { cwd: join(reposDir, String(r)), env: GIT_ENV });
    if (out.status !== 0) throw new Error(`git for-each-ref failed in ${r}: ${out.stderr}`);
  }
  const peerMs = ((performance.now() - peerStart) * REPOS) / PEER_REPOS;

  const result = {
    bench: 'reconcile',
    repositories: REPOS,
    refsPerRepository: REFS,
    setupMs: Math.round(setupMs),
    firstSightSweepMs: Math.round(firstSight.durationMs),
    restartSweepMs: Math.round(restartSweep.durationMs),
    unchangedSweep: { wallMs: Math.round(median.wallMs), cpuMs: Math.round(median.cpuMs), processes: median.processes, repositoriesRead: median.read, samples: unchanged.samples.map((u) => Math.round(u.wallMs)) },
    unchangedSweepWatchOff: { wallMs: Math.round(unchangedNoWatch.median.wallMs), cpuMs: Math.round(unchangedNoWatch.median.cpuMs), samples: unchangedNoWatch.samples.map((u) => Math.round(u.wallMs)) },
    changed: { repositories: CHANGED, eventsDurable: stored, refsRelayed: changedSweep.reconciled, sweepToDurableMs: Math.round(durableMs), gitProcesses: processes },
    changedNotice: { repositories: CHANGED, eventsDurable: noticeEvents, changeToDurableMs: Math.round(noticeToDurableMs), gitProcesses: noticeProcesses },
    watch: { repositoriesWatchedByDaemon: watched, directories: watchDirs, repositories: watchRepos, setupMs: Math.round(watchSetupMs), setupCpuMs: Math.round((wc.user + wc.system) / 1000), rssMb: Math.round(watchRssMb), daemonRssGrowthFirstSweepMb: Math.round((rssAfterFirstSweep - rssStart) / 2 ** 20) },
    peerGitForEachRefMs: Math.round(peerMs),
    peerRepositories: PEER_REPOS,
    ratioPeerToUnchangedSweep: Number((peerMs / median.wallMs).toFixed(1)),
    loadAverage: loadavg().map((l) => Number(l.toFixed(2))),
    note: 'shared 2-core machine with the whole team working: absolute figures are noisy, the ratio to the peer (same run) is what holds',
    table: [
      { what: `sweep, ${REPOS} repos × ${REFS} refs, nothing changed: wall`, ours: `${Math.round(median.wallMs)} ms (watch off: ${Math.round(unchangedNoWatch.median.wallMs)} ms)`, peer: `${Math.round(peerMs)} ms (git for-each-ref per repo)`, goal: '≤ 2 s' },
      { what: 'same sweep: CPU time / processes started', ours: `${Math.round(median.cpuMs)} ms / ${median.processes}`, peer: `${REPOS} processes`, goal: '≤ 1 CPU-s / 0' },
      { what: `${CHANGED} repos changed without a hook: sweep start → ${CHANGED} events durable`, ours: `${Math.round(durableMs)} ms (${stored} events, ${processes} git processes)`, peer: '', goal: '≤ 3 s' },
      { what: `${CHANGED} repos changed without a hook, no sweep (file-system notices): change → ${CHANGED} events durable`, ours: `${Math.round(noticeToDurableMs)} ms (${noticeEvents} events)`, peer: '', goal: 'seconds, not the interval' },
      { what: `first sweep after start: first sight of ${REPOS} repositories (watch on) / restart with known refs (watch off)`, ours: `${Math.round(firstSight.durationMs)} ms / ${Math.round(restartSweep.durationMs)} ms`, peer: '', goal: '' },
      { what: `watches for ${REPOS} repositories: directories, set-up time, memory`, ours: `${watchDirs} directories, ${Math.round(watchSetupMs)} ms, ${Math.round(watchRssMb)} MiB RSS`, peer: '', goal: '' },
    ],
  };
  process.stdout.write(JSON.stringify(result) + '\n');
} finally {
  rmSync(root, { recursive: true, force: true });
}
