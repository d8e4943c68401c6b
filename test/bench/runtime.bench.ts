// runtime: what install.sh's compile step buys. The same idle daemon (empty
// store, one file destination) and the same `relay status`, run from the JS
// that install.sh compiles (dist/ + RELEASE) and, as the peer in the same run,
// from the TypeScript sources (Node strips types at load). Alternating runs,
// median of each.
//
// Run: node test/bench/runtime.bench.ts [runs=5]

import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { procMemory } from './proc-memory.ts';
import { compiledRelayTree } from './compiled-tree.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const RUNS = Number(process.argv[2] ?? 5);
const SETTLE_MS = 3000;
const tmp = mkdtempSync(path.join(os.tmpdir(), 'relay-bench-runtime-'));
const mb = (bytes: number): number => Math.round(bytes / 1e5) / 10;
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

interface RunFigures {
  startMs: number;
  rssMb: number;
  hwmMb: number;
  statusMs: number;
}

/** Start the daemon with `bin`, wait for "started", let it settle, read RSS, time `relay status`, stop it. */
async function measure(bin: string, config: string): Promise<RunFigures> {
  const t0 = performance.now();
  const child = spawn(process.execPath, [bin, 'daemon', '--config', config], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NODE_OPTIONS: '' } });
  let out = '';
  await new Promise<void>((resolve, reject) => {
    const onData = (c: Buffer): void => {
      out += c;
      if (out.includes('relay daemon started')) resolve();
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`daemon exited (${code}) before it started:\n${out.slice(-2000)}`)));
  });
  const startMs = performance.now() - t0;
  await new Promise((r) => setTimeout(r, SETTLE_MS));
  const { rss, hwm } = procMemory(child.pid!);
  const s0 = performance.now();
  execFileSync(process.execPath, [bin, 'status', '--json', '--config', config], { env: { ...process.env, NODE_OPTIONS: '' } });
  const statusMs = performance.now() - s0;
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
  return { startMs, rssMb: mb(rss), hwmMb: mb(hwm), statusMs };
}

function summary(runs: RunFigures[]): RunFigures {
  return {
    startMs: Math.round(median(runs.map((r) => r.startMs))),
    rssMb: median(runs.map((r) => r.rssMb)),
    hwmMb: median(runs.map((r) => r.hwmMb)),
    statusMs: Math.round(median(runs.map((r) => r.statusMs))),
  };
}

async function main(): Promise<void> {
  const compiledBin = compiledRelayTree(path.join(tmp, 'app'));
  const sourcesBin = path.join(ROOT, 'bin/relay.js');
  const version = (bin: string): string => execFileSync(process.execPath, [bin, '--version'], { encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } }).trim();
  const compiledVersion = version(compiledBin);
  const sourcesVersion = version(sourcesBin);
  if (!compiledVersion.includes('compiled') || !sourcesVersion.includes('TypeScript sources')) throw new Error(`wrong runtimes: ${compiledVersion} / ${sourcesVersion}`);
  const config = path.join(tmp, 'relay.yaml');
  mkdirSync(path.join(tmp, 'spool/incoming'), { recursive: true });
  mkdirSync(path.join(tmp, 'spool/quarantine'), { recursive: true });
  writeFileSync(config, stringify({
    spool: { dir: path.join(tmp, 'spool') },
    store: { path: path.join(tmp, 'store.db') },
    admin: { socket: path.join(tmp, 'relay.sock') },
    log: { format: 'json', level: 'info' },
    destinations: [{ name: 'archive', type: 'file', path: path.join(tmp, 'events.jsonl') }],
  }));
  const compiled: RunFigures[] = [];
  const sources: RunFigures[] = [];
  for (let i = 0; i < RUNS; i++) {
    compiled.push(await measure(compiledBin, config));
    sources.push(await measure(sourcesBin, config));
  }
  const c = summary(compiled);
  const s = summary(sources);
  const result = {
    bench: 'runtime',
    runs: RUNS,
    compiled: c,
    sources: s,
    rssRatio: Math.round((c.rssMb / s.rssMb) * 100) / 100,
    table: [
      {
        what: `idle daemon RSS after ${SETTLE_MS / 1000} s (empty store, file destination), median of ${RUNS}`,
        ours: `${c.rssMb} MB (peak ${c.hwmMb} MB), compiled by install.sh`,
        peer: `${s.rssMb} MB (peak ${s.hwmMb} MB), TypeScript sources`,
        goal: '',
      },
      {
        what: 'daemon start → "started" / `relay status --json`',
        ours: `${c.startMs} ms / ${c.statusMs} ms compiled`,
        peer: `${s.startMs} ms / ${s.statusMs} ms sources`,
        goal: '',
      },
    ],
  };
  console.log(JSON.stringify(result));
}

try {
  await main();
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
