// intake: sustained pushes per second from spool record to event on disk.
// 10 repositories; each push brings 1-3 commits. The records are written by
// the real hook (run directly with hook-style stdin, as git would), while the
// daemon is down; then the daemon starts and drains the backlog. Measured from
// its "started" log line to the last event made durable (store + JSONL file).
// "Ours" is the daemon as install.sh installs it (compiled to JS, the systemd
// unit's V8 flags); the same backlog drained from the TypeScript sources is
// reported beside it.
// Peers in the same run: the same compiled daemon with the git runner from
// before simple-git (test/bench/peers/direct-spawn-run-git.ts compiled over
// dist/src/git/run-git.js; goal: within 10 %), and the bare cost of the git
// spawns we make per push. The backlog lets each repository's first push
// read the walks of the next ones (src/git/walk-ahead.ts); both runners are
// also measured with walking ahead off (one walk per push, as when pushes
// arrive one at a time), which shows the cost per git process.
//
// Run: node test/bench/intake.bench.ts [pushesPerRepo=40] [runs=3]

import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, mkdirSync, writeFileSync, readFileSync, existsSync, rmSync, copyFileSync, chmodSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { compiledPath, compiledRelayTree } from './compiled-tree.ts';
import { installedNodeFlags } from './installed-node-options.ts';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const REPOS = 10;
const PER_REPO = Number(process.argv[2] ?? 40);
const RUNS = Number(process.argv[3] ?? 3);
const tmp = mkdtempSync(path.join(os.tmpdir(), 'relay-bench-intake-'));
const env = { ...process.env, HOME: tmp, GIT_CONFIG_NOSYSTEM: '1', LC_ALL: 'C' };
const spool = path.join(tmp, 'spool');
for (const d of ['incoming', 'quarantine']) mkdirSync(path.join(spool, d), { recursive: true });

/** Build a repo whose main branch is a chain of PER_REPO pushes of 1-3 commits; return each push's [before, after]. */
function buildRepo(i: number): { bare: string; pushes: [string, string][] } {
  const bare = path.join(tmp, 'repos', `repo${i}.git`);
  mkdirSync(bare, { recursive: true });
  execFileSync('git', ['init', '-q', '--bare', '-b', 'main'], { cwd: bare, env });
  let stream = '';
  let mark = 0;
  const marksAtPush: number[] = [];
  let t = 1_700_000_000;
  for (let p = 0; p < PER_REPO; p++) {
    const n = 1 + ((p * 7 + i) % 3);
    for (let c = 0; c < n; c++) {
      mark++;
      t += 60;
      const msg = `PROJ-${mark} change ${mark} of repo ${i}\n`;
      const content = `line ${mark}\n`;
      stream += `commit refs/heads/main\nmark :${mark}\nauthor A <a@example.com> ${t} +0000\ncommitter A <a@example.com> ${t} +0000\ndata ${Buffer.byteLength(msg)}\n${msg}`;
      if (mark > 1) stream += `from :${mark - 1}\n`;
      stream += `M 100644 inline src/file${mark % 5}.txt\ndata ${Buffer.byteLength(content)}\n${content}\n`;
    }
    marksAtPush.push(mark);
  }
  const marksFile = path.join(tmp, `marks${i}`);
  execFileSync('git', ['fast-import', '--quiet', `--export-marks=${marksFile}`], { cwd: bare, env, input: stream });
  const marks = new Map(readFileSync(marksFile, 'utf8').trim().split('\n').map((l) => { const [m, sha] = l.split(' '); return [Number(m.slice(1)), sha] as const; }));
  const zero = '0'.repeat(40);
  const pushes: [string, string][] = marksAtPush.map((m, p) => [p === 0 ? zero : marks.get(marksAtPush[p - 1])!, marks.get(m)!]);
  copyFileSync(path.join(ROOT, 'hooks', 'post-receive'), path.join(bare, 'hooks', 'post-receive'));
  chmodSync(path.join(bare, 'hooks', 'post-receive'), 0o755);
  return { bare, pushes };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** One drain of the backlog: time from "started" to the last event durable, and what the events say. */
interface IntakeRun {
  elapsedMs: number;
  spawns: number[];
  /** Pushes whose walk was read ahead. */
  walkedAhead: number;
  analysisMsMedian: number;
}

/** Copy the backlog (mtimes kept: they are the records' push times) and let the daemon `bin` drain it. */
async function drainBacklog(bin: string, name: string, total: number): Promise<IntakeRun> {
  const dir = path.join(tmp, `run-${name}`);
  mkdirSync(dir);
  const runSpool = path.join(dir, 'spool');
  cpSync(spool, runSpool, { recursive: true, preserveTimestamps: true });
  const archive = path.join(dir, 'events.jsonl');
  const configFile = path.join(dir, 'relay.yaml');
  writeFileSync(configFile, `spool: { dir: ${runSpool} }\nstore: { path: ${path.join(dir, 'relay.db')} }\nadmin: { socket: ${path.join(dir, 'relay.sock')} }\nintake: { concurrency: 4 }\nlog: { format: json, level: info }\ndestinations:\n  - { name: archive, type: file, path: ${archive} }\n`);
  const daemon = spawn(process.execPath, [bin, 'daemon', '--config', configFile], { env: { ...env, NODE_OPTIONS: installedNodeFlags().join(' ') }, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  daemon.stdout.on('data', (c) => (out += c));
  let startedAt = 0;
  const deadline = Date.now() + 300_000;
  for (;;) {
    if (!startedAt && out.includes('relay daemon started')) startedAt = performance.now();
    const n = existsSync(archive) ? readFileSync(archive, 'utf8').split('\n').length - 1 : 0;
    if (n >= total) break;
    if (Date.now() > deadline) throw new Error(`only ${n}/${total} events after 300 s`);
    await new Promise((r) => setTimeout(r, 5));
  }
  const elapsedMs = performance.now() - startedAt;
  daemon.kill('SIGTERM');
  await new Promise((r) => daemon.on('exit', r));
  const lines = out.split('\n').filter((l) => l.includes('"push event"')).map((l) => JSON.parse(l));
  return { elapsedMs, spawns: lines.map((l) => l.gitSpawns as number), walkedAhead: lines.filter((l) => l.walkedAhead === true).length, analysisMsMedian: median(lines.map((l) => l.analysisMs as number)) };
}

async function main(): Promise<void> {
  const repos = Array.from({ length: REPOS }, (_, i) => buildRepo(i));
  // Write the records with the real hook, interleaving repositories like real traffic.
  for (let p = 0; p < PER_REPO; p++) {
    for (const r of repos) {
      const [before, after] = r.pushes[p];
      const res = spawnSync('sh', ['hooks/post-receive'], { cwd: r.bare, env: { ...env, GIT_DIR: '.', RELAY_SPOOL_DIR: spool, RELAY_HOOK_ENV: '/nonexistent' }, input: `${before} ${after} refs/heads/main\n` });
      if (res.status !== 0 || res.stderr.length) throw new Error(`hook failed: ${res.stderr}`);
    }
  }
  const total = REPOS * PER_REPO;
  const compiledBin = compiledRelayTree(path.join(tmp, 'app'));
  const PEER_RUNNER = 'test/bench/peers/direct-spawn-run-git.ts';
  const directDir = path.join(tmp, 'app-direct-spawn');
  const directBin = compiledRelayTree(directDir, [PEER_RUNNER]);
  copyFileSync(compiledPath(directDir, PEER_RUNNER), compiledPath(directDir, 'src/git/run-git.ts'));
  // Walking ahead off: a chain of one push is no chain (pushesToWalk).
  const walkAheadOff = (dir: string): void => {
    const file = compiledPath(dir, 'src/git/walk-ahead.ts');
    const js = readFileSync(file, 'utf8');
    if (!/MAX_PUSHES_WALKED_AHEAD = \d+/.test(js)) throw new Error(`${file}: MAX_PUSHES_WALKED_AHEAD not found`);
    writeFileSync(file, js.replace(/MAX_PUSHES_WALKED_AHEAD = \d+/, 'MAX_PUSHES_WALKED_AHEAD = 1'));
  };
  const soloDir = path.join(tmp, 'app-solo');
  const soloBin = compiledRelayTree(soloDir);
  walkAheadOff(soloDir);
  const directSoloDir = path.join(tmp, 'app-direct-spawn-solo');
  const directSoloBin = compiledRelayTree(directSoloDir, [PEER_RUNNER]);
  copyFileSync(compiledPath(directSoloDir, PEER_RUNNER), compiledPath(directSoloDir, 'src/git/run-git.ts'));
  walkAheadOff(directSoloDir);
  const sourcesBin = path.join(ROOT, 'bin', 'relay.js');
  // Alternate the variants, each on a fresh copy of the backlog.
  const compiled: IntakeRun[] = [];
  const direct: IntakeRun[] = [];
  const sources: IntakeRun[] = [];
  const solo: IntakeRun[] = [];
  const directSolo: IntakeRun[] = [];
  for (let i = 0; i < RUNS; i++) {
    compiled.push(await drainBacklog(compiledBin, `c${i}`, total));
    direct.push(await drainBacklog(directBin, `d${i}`, total));
    sources.push(await drainBacklog(sourcesBin, `s${i}`, total));
    solo.push(await drainBacklog(soloBin, `o${i}`, total));
    directSolo.push(await drainBacklog(directSoloBin, `do${i}`, total));
  }
  const medianRun = (runs: IntakeRun[]): IntakeRun => [...runs].sort((a, b) => a.elapsedMs - b.elapsedMs)[Math.floor(runs.length / 2)];
  const c = medianRun(compiled);
  const sr = medianRun(sources);
  const d = medianRun(direct);
  const o = medianRun(solo);
  const dso = medianRun(directSolo);
  const rate = (r: IntakeRun): number => Math.round((total / r.elapsedMs) * 1000);
  const mean = (xs: number[]): number => Number((xs.reduce((a, b) => a + b, 0) / xs.length).toFixed(2));
  const perPush = mean(c.spawns);
  const soloPerPush = mean(o.spawns);

  // Peer: bare git spawns, sequentially, on this machine now (as many as one push each on its own makes).
  const peerRuns = Math.max(100, Math.min(Math.round(total * soloPerPush), 600));
  const t0 = performance.now();
  for (let i = 0; i < peerRuns; i++) execFileSync('git', ['rev-parse', 'HEAD'], { cwd: repos[0].bare, env });
  const spawnMs = (performance.now() - t0) / peerRuns;
  const elapsedMs = c.elapsedMs;

  const result = {
    bench: 'intake',
    pushes: total,
    repositories: REPOS,
    elapsedMs: Math.round(elapsedMs),
    pushesPerSec: Math.round((total / elapsedMs) * 1000),
    gitSpawnsPerPush: perPush,
    gitSpawnsPerPushMax: Math.max(...c.spawns),
    walkedAhead: c.walkedAhead,
    analysisMsMedian: c.analysisMsMedian,
    runs: RUNS,
    compiledPushesPerSec: compiled.map(rate),
    sourcesPushesPerSec: sources.map(rate),
    directSpawnPushesPerSec: direct.map(rate),
    directSpawnGitSpawnsPerPush: mean(d.spawns),
    ratioToDirectSpawn: Number((rate(c) / rate(d)).toFixed(2)),
    walkAheadOff: {
      pushesPerSec: solo.map(rate),
      directSpawnPushesPerSec: directSolo.map(rate),
      gitSpawnsPerPush: soloPerPush,
      ratioToDirectSpawn: Number((rate(o) / rate(dso)).toFixed(2)),
    },
    pass: rate(c) >= 150 && rate(c) >= 0.9 * rate(d),
    peer: { gitSpawnMs: Number(spawnMs.toFixed(2)), sequentialSpawnCeilingPushesPerSec: Math.round(1000 / (spawnMs * soloPerPush)) },
    goalPushesPerSec: 150,
    table: [
      {
        what: `pushes/s, spool record → event durable (store + JSONL), ${total} pushes over ${REPOS} repos, 1-3 commits each`,
        ours: `${rate(c)}/s compiled as installed, simple-git (from sources: ${rate(sr)}/s); ${perPush} git processes per push (${c.walkedAhead} of ${total} walked ahead), median analysis ${c.analysisMsMedian} ms; walking ahead off: ${rate(o)}/s, ${soloPerPush} per push; median of ${RUNS} runs each`,
        peer: `direct-spawn runner, same compiled daemon: ${rate(d)}/s (×${(rate(c) / rate(d)).toFixed(2)}); walking ahead off: ${rate(dso)}/s (×${(rate(o) / rate(dso)).toFixed(2)}); git spawn ${spawnMs.toFixed(2)} ms here now: ceiling ${Math.round(1000 / (spawnMs * soloPerPush))}/s with one walk per push if spawning were all the work`,
        goal: '≥ 150/s, ≥ 0.9 × direct spawn',
      },
    ],
  };
  process.stdout.write(JSON.stringify(result) + '\n');
}

main()
  .catch((err) => {
    process.stderr.write(`intake bench failed: ${(err as Error).stack}\n`);
    process.exitCode = 1;
  })
  .finally(() => rmSync(tmp, { recursive: true, force: true }));
