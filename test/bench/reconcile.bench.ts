// Benchmark `reconcile`: a reconciliation sweep over 10,000 repositories of
// 20 refs each (a Bitbucket home laid out by the benchmark), in the real
// daemon (RelayDaemon in this process: real config, store, intake,
// reconciler, file destination fsync'd).
//   - nothing changed: wall and CPU time per sweep, git processes started
//     (child_process is counted; goal ≤ 2 s wall, ≤ 1 CPU-s, 0 processes);
//   - 10 repositories changed without a hook: time from the sweep's start
//     until the 10 reconciled events are durable (goal ≤ 3 s);
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
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
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

  const config = join(root, 'relay.yaml');
  writeFileSync(config, stringify({
    spool: { dir: join(root, 'spool') },
    store: { path: join(root, 'state', 'relay.db') },
    admin: { socket: join(root, 'relay.sock') },
    bitbucket: { home },
    reconcile: { enabled: true, interval: '1h', grace: '0s' },
    log: { level: 'warn', format: 'json' },
    destinations: [{ name: 'archive', type: 'file', path: join(root, 'events.jsonl') }],
  }));
  mkdirSync(join(root, 'spool', 'incoming'), { recursive: true });
  const quiet = createLogger({ level: 'error', format: 'json', stream: new Writable({ write: (_c, _e, cb) => cb() }) });
  const daemon = await RelayDaemon.start({ configFile: config, log: quiet, watchConfig: false });
  const reconciler = daemon.reconciler!;
  // The sweep at start is the first sight of every repository (refs recorded, no events).
  while (!reconciler.last) await new Promise((r) => setTimeout(r, 50));
  const firstSight = reconciler.last;

  // Nothing changed: three sweeps, median.
  const unchanged: { wallMs: number; cpuMs: number; processes: number; read: number }[] = [];
  for (let i = 0; i < 3; i++) {
    const spawnedBefore = spawned;
    const cpu = process.cpuUsage();
    const t0 = performance.now();
    const s = await reconciler.sweep();
    const wallMs = performance.now() - t0;
    const c = process.cpuUsage(cpu);
    unchanged.push({ wallMs, cpuMs: (c.user + c.system) / 1000, processes: spawned - spawnedBefore, read: s.read });
  }
  unchanged.sort((a, b) => a.wallMs - b.wallMs);
  const median = unchanged[1];

  // 10 repositories change without a hook (a loose ref rewritten as git would: lock file + rename).
  for (let k = 0; k < CHANGED; k++) {
    const repo = join(reposDir, String(1 + k * Math.floor(REPOS / CHANGED)));
    const ref = join(repo, 'refs', 'heads', 'feature-web-merge');
    writeFileSync(`${ref}.lock`, `${shas[REFS + k]}\n`);
    childProcess.execFileSync('mv', [`${ref}.lock`, ref]);
  }
  const spawnedBefore = spawned;
  const t0 = performance.now();
  const changedSweep = await reconciler.sweep(); // emits with grace 0s; resolves once the events are committed
  const durableMs = performance.now() - t0;
  const processes = spawned - spawnedBefore;
  const stored = (daemon.store.statement(`SELECT COUNT(*) AS n FROM events WHERE trigger = 'reconciled'`).get() as { n: number }).n;
  await daemon.stop();

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
    unchangedSweep: { wallMs: Math.round(median.wallMs), cpuMs: Math.round(median.cpuMs), processes: median.processes, repositoriesRead: median.read, samples: unchanged.map((u) => Math.round(u.wallMs)) },
    changed: { repositories: CHANGED, eventsDurable: stored, refsRelayed: changedSweep.reconciled, sweepToDurableMs: Math.round(durableMs), gitProcesses: processes },
    peerGitForEachRefMs: Math.round(peerMs),
    peerRepositories: PEER_REPOS,
    ratioPeerToUnchangedSweep: Number((peerMs / median.wallMs).toFixed(1)),
    note: 'shared 2-core machine with the whole team working: absolute figures are noisy, the ratio to the peer (same run) is what holds',
    table: [
      { what: `sweep, ${REPOS} repos × ${REFS} refs, nothing changed: wall`, ours: `${Math.round(median.wallMs)} ms`, peer: `${Math.round(peerMs)} ms (git for-each-ref per repo)`, goal: '≤ 2 s' },
      { what: 'same sweep: CPU time / processes started', ours: `${Math.round(median.cpuMs)} ms / ${median.processes}`, peer: `${REPOS} processes`, goal: '≤ 1 CPU-s / 0' },
      { what: `${CHANGED} repos changed without a hook: sweep start → ${CHANGED} events durable`, ours: `${Math.round(durableMs)} ms (${stored} events, ${processes} git processes)`, peer: '', goal: '≤ 3 s' },
    ],
  };
  process.stdout.write(JSON.stringify(result) + '\n');
} finally {
  rmSync(root, { recursive: true, force: true });
}
