// Benchmark `drain`: 100,000 queued deliveries drained to a local receiver
// that runs in its own process. Prints ONE JSON line: deliveries/s and peak
// RSS of the draining process (goals ≥ 1,500/s, ≤ 150 MB as installed),
// per-repository order violations seen by the receiver, and two peers
// measured in the same run: the same compiled daemon code with its HTTP
// transport on plain node:http (test/bench/peers/node-http-transport.ts,
// delivery's transport before got; test/bench/peers/use-node-http-transport.ts
// swaps it in), alternating with ours (got), and a plain node:http keep-alive
// loop posting the same bodies with the same concurrency, no store (the
// transport's ceiling on this machine).
//
//   node test/bench/drain.bench.ts [--n 100000] [--repos 50] [--concurrency 16]
//
// Each drain runs in a fresh process on a queue filled by another process, so
// its RSS is the drain's alone. From the TypeScript sources once with Node's
// default V8 flags and once with the systemd unit's (NODE_OPTIONS in
// config/bitbucket-relay.service: a small young generation and a bounded old
// space; without them V8 grows the heap far past what the daemon keeps
// alive); then as installed: compiled to JS (this file and src/, by tsc, as
// install.sh does) with the unit's flags, got and node:http transports
// alternating, RUNS times each (the median run of each is reported).

import { fork, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import http from 'node:http';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { httpDest } from '../deliver/fixtures.ts';
import { fillBenchQueue, measuredDrain } from './bench-queue.ts';
import { compiledPath, compiledRelayTree } from './compiled-tree.ts';
import { installedNodeFlags } from './installed-node-options.ts';

const { values: args } = parseArgs({
  allowNegative: true,
  options: {
    n: { type: 'string', default: '100000' },
    repos: { type: 'string', default: '50' },
    concurrency: { type: 'string', default: '16' },
    prepare: { type: 'string' },
    drain: { type: 'string' },
    url: { type: 'string' },
    peer: { type: 'boolean', default: true },
  },
});
const N = Number(args.n);
const REPOS = Number(args.repos);
const CONCURRENCY = Number(args.concurrency);
const SELF = fileURLToPath(import.meta.url);
const RUNS = 2;
const PEER_HOOK = 'test/bench/peers/use-node-http-transport.ts';
const PEER_TRANSPORT = 'test/bench/peers/node-http-transport.ts';

/** A ~1.5 KB JSON body, like a small cloudevents push. */
function bodyFor(i: number): Buffer {
  return Buffer.from(JSON.stringify({ specversion: '1.0', id: `ev-${i}`, type: 'com.atlassian.bitbucket.push', data: { repo: `r${i % REPOS}`, filler: 'x'.repeat(1400) } }));
}

/** The drain process: send everything, print {seconds, peakRssMb, cpuUsPerDelivery, delivered}. */
async function drain(path: string, url: string): Promise<void> {
  const result = await measuredDrain(path, httpDest('bench', url, { concurrency: CONCURRENCY, secret: 'bench-secret' }), N, () => {
    if (!process.env.DRAIN_TRACE_MEMORY) return;
    // Live heap after a full GC (run with --expose-gc): tells growth from garbage.
    (globalThis as { gc?: () => void }).gc?.();
    const m = process.memoryUsage();
    console.error(JSON.stringify({ rssMb: Math.round(m.rss / 1e6), heapUsedMb: Math.round(m.heapUsed / 1e6), heapTotalMb: Math.round(m.heapTotal / 1e6), externalMb: Math.round(m.external / 1e6) }));
  });
  console.log(JSON.stringify(result));
}

interface ReceiverProcess {
  port: number;
  stats(): Promise<{ count: number; orderViolations: number }>;
  /** Forget per-lane order (the next run sends the same seqs again). */
  reset(): Promise<void>;
  stop(): void;
}

async function startReceiverProcess(): Promise<ReceiverProcess> {
  // Same extension as this file: works from the sources and from a compiled tree.
  const ext = import.meta.url.endsWith('.js') ? '.js' : '.ts';
  const proc = fork(fileURLToPath(new URL(`../helpers/receiver${ext}`, import.meta.url)), [], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  const port = await new Promise<number>((resolve) => proc.once('message', (m: { port: number }) => resolve(m.port)));
  return {
    port,
    stats: () =>
      new Promise((resolve) => {
        proc.once('message', (m: { count: number; orderViolations: number }) => resolve(m));
        proc.send({ type: 'stats' });
      }),
    reset: () =>
      new Promise((resolve) => {
        proc.once('message', () => resolve());
        proc.send({ type: 'reset' });
      }),
    stop: () => {
      proc.send({ type: 'exit' });
      proc.disconnect();
    },
  };
}

/** Prepare a fresh queue and drain it in a child process with `flags`. */
type DrainRun = { seconds: number; peakRssMb: number; cpuUsPerDelivery: number; delivered: number; storeMb: number };

async function runDrain(dir: string, url: string, flags: string[], drainScript: string = SELF): Promise<DrainRun> {
  const path = join(dir, `drain-${flags.length}-${drainScript === SELF ? 'src' : 'compiled'}.db`);
  const prep = spawnSync(process.execPath, [SELF, '--prepare', path, '--n', String(N), '--repos', String(REPOS)], { stdio: 'inherit' });
  if (prep.status !== 0) throw new Error('prepare failed');
  const storeMb = Math.round(statSync(path).size / 1e5) / 10;
  const child = spawn(process.execPath, [...flags, drainScript, '--drain', path, '--url', url, '--n', String(N), '--concurrency', String(CONCURRENCY)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c));
  const code = await new Promise<number | null>((r) => child.once('exit', r));
  if (code !== 0) throw new Error(`drain process exited with ${code}`);
  rmSync(path, { force: true });
  rmSync(path + '-wal', { force: true });
  rmSync(path + '-shm', { force: true });
  return { ...JSON.parse(out.trim().split('\n').at(-1)!), storeMb };
}

async function peer(url: string): Promise<number> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  const bodies = Array.from({ length: 1000 }, (_, i) => bodyFor(i));
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < N) {
        const i = next++;
        await new Promise<void>((resolve, reject) => {
          const req = http.request(url, { method: 'POST', agent, headers: { 'content-type': 'application/json' } }, (res) => {
            res.resume();
            res.on('end', resolve);
          });
          req.on('error', reject);
          req.end(bodies[i % 1000]);
        });
      }
    }),
  );
  agent.destroy();
  return N / ((performance.now() - started) / 1000);
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'relay-drain-'));
  const receiver = await startReceiverProcess();
  try {
    const url = `http://127.0.0.1:${receiver.port}/hook`;
    const plain = await runDrain(dir, url, []);
    await receiver.reset();
    const flags = installedNodeFlags();
    const unitFlags = flags.join(' ');
    const tuned = await runDrain(dir, url, flags);
    await receiver.reset();
    // As installed: the JS install.sh compiles, with the systemd unit's flags.
    const tree = join(dir, 'compiled');
    compiledRelayTree(tree, ['test/bench/drain.bench.ts', PEER_HOOK, PEER_TRANSPORT]);
    const script = compiledPath(tree, 'test/bench/drain.bench.ts');
    const peerFlags = [...flags, '--import', compiledPath(tree, PEER_HOOK)];
    const gotRuns: DrainRun[] = [];
    const nodeHttpRuns: DrainRun[] = [];
    for (let i = 0; i < RUNS; i++) {
      gotRuns.push(await runDrain(dir, url, flags, script));
      await receiver.reset();
      nodeHttpRuns.push(await runDrain(dir, url, peerFlags, script));
      await receiver.reset();
    }
    // Median by throughput (RUNS = 2: the slower one, the conservative figure).
    const median = (runs: DrainRun[]): DrainRun => [...runs].sort((a, b) => a.seconds - b.seconds)[Math.floor(runs.length / 2)];
    // Peak RSS: the higher of the runs (the conservative figure).
    const peakOf = (runs: DrainRun[]): number => Math.max(...runs.map((r) => r.peakRssMb));
    const installed = median(gotRuns);
    const installedNodeHttp = median(nodeHttpRuns);
    // Counted over all runs (the reset only forgets the last seq per lane).
    const { orderViolations } = await receiver.stats();
    const peerPerSec = args.peer ? Math.round(await peer(url)) : null;
    const perSec = Math.round(N / plain.seconds);
    const tunedPerSec = Math.round(N / tuned.seconds);
    const installedPerSec = Math.round(N / installed.seconds);
    const nodeHttpPerSec = Math.round(N / installedNodeHttp.seconds);
    const installedPeak = peakOf(gotRuns);
    const nodeHttpPeak = peakOf(nodeHttpRuns);
    const ratio = (a: number, b: number): string => (a / b).toFixed(2);
    const perSecOf = (runs: DrainRun[]): number[] => runs.map((r) => Math.round(N / r.seconds));
    console.log(
      JSON.stringify({
        bench: 'drain',
        deliveries: N,
        repos: REPOS,
        concurrency: CONCURRENCY,
        bodyBytes: bodyFor(0).length,
        signed: true,
        storeMb: plain.storeMb,
        seconds: Math.round(plain.seconds * 100) / 100,
        deliveriesPerSec: perSec,
        peakRssMb: plain.peakRssMb,
        cpuUsPerDelivery: plain.cpuUsPerDelivery,
        delivered: plain.delivered,
        withUnitFlags: { flags: unitFlags, deliveriesPerSec: tunedPerSec, peakRssMb: tuned.peakRssMb, cpuUsPerDelivery: tuned.cpuUsPerDelivery, delivered: tuned.delivered },
        installed: { what: `compiled as install.sh installs it, ${unitFlags} as the systemd unit sets; got transport; deliveries/s the median of ${RUNS}, peak RSS the highest`, deliveriesPerSec: installedPerSec, peakRssMb: installedPeak, cpuUsPerDelivery: installed.cpuUsPerDelivery, delivered: installed.delivered, runsPerSec: perSecOf(gotRuns), runsPeakRssMb: gotRuns.map((r) => r.peakRssMb) },
        installedNodeHttp: { what: `the same compiled daemon with the plain node:http transport (${PEER_TRANSPORT}), alternating; median of ${RUNS}`, deliveriesPerSec: nodeHttpPerSec, peakRssMb: nodeHttpPeak, cpuUsPerDelivery: installedNodeHttp.cpuUsPerDelivery, delivered: installedNodeHttp.delivered, runsPerSec: perSecOf(nodeHttpRuns), runsPeakRssMb: nodeHttpRuns.map((r) => r.peakRssMb) },
        gotVsNodeHttp: { throughput: Number(ratio(installedPerSec, nodeHttpPerSec)), cpuPerDelivery: Number(ratio(installed.cpuUsPerDelivery, installedNodeHttp.cpuUsPerDelivery)), peakRss: Number(ratio(installedPeak, nodeHttpPeak)) },
        loadAverage: loadavg().map((x) => Number(x.toFixed(2))),
        orderViolations,
        peer: peerPerSec === null ? null : { name: 'plain node:http loop, same bodies and concurrency, no store', perSec: peerPerSec },
        goal: { deliveriesPerSec: 1500, peakRssMb: 150 },
        pass: installedPerSec >= 1500 && installedPeak <= 150 && [plain, tuned, ...gotRuns, ...nodeHttpRuns].every((r) => r.delivered === N) && orderViolations === 0,
        table: [
          { what: `deliveries/s, ${N.toLocaleString('en')} queued, ${REPOS} repos, ${CONCURRENCY} in flight`, ours: `${installedPerSec} as installed (compiled, ${unitFlags}, got; runs ${perSecOf(gotRuns).join(', ')}); from sources ${perSec} default V8 flags, ${tunedPerSec} with the unit's`, peer: `node:http transport, same compiled daemon, alternating: ${nodeHttpPerSec} (got ×${ratio(installedPerSec, nodeHttpPerSec)}; CPU per delivery ${installed.cpuUsPerDelivery} vs ${installedNodeHttp.cpuUsPerDelivery} µs)${peerPerSec === null ? '' : `; plain node:http loop, no store: ${peerPerSec}`}`, goal: '≥ 1,500/s' },
          { what: 'peak RSS of the draining process', ours: `${installedPeak} MB as installed (runs ${gotRuns.map((r) => r.peakRssMb).join(', ')}); from sources ${plain.peakRssMb} MB default V8 flags, ${tuned.peakRssMb} MB with the unit's`, peer: `node:http transport ${nodeHttpPeak} MB (got ×${ratio(installedPeak, nodeHttpPeak)})`, goal: '≤ 150 MB' },
        ],
      }),
    );
  } finally {
    receiver.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

// Lane and order headers let the receiver check FIFO.
if (args.prepare) fillBenchQueue(args.prepare, N, REPOS, (i) => ({ headers: { 'Content-Type': 'application/json', 'X-Bench-Lane': `r${i % REPOS}`, 'X-Bench-Seq': String(i) }, body: bodyFor(i), signatureHeader: 'X-Hub-Signature' }));
else if (args.drain) await drain(args.drain, args.url!);
else await main();
