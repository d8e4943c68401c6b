// Benchmark `queue-rss`: memory of the real daemon process (`relay daemon`)
// with 1,000,000 deliveries queued for a destination that cannot be reached
// (connection refused: the outage case the queue exists for). The store is
// filled quickly with the store's own `enqueue` in batches (100 repositories,
// ~1 KB bodies), the daemon started on it, left to settle, and its RSS read
// from /proc/<pid>/status (VmHWM: peak; VmRSS: settled). Measured at 100,000
// and at 1,000,000 queued, so growth with the queue shows; the peer is the
// same daemon idle on an empty store, measured in the same run. The daemon
// runs from the sources with the systemd unit's V8 flags.
// Prints ONE JSON line.
//
//   node test/bench/queue-rss.bench.ts [--n 1000000] [--checkpoint 100000] [--repos 100] [--settle 8]

import { spawn, execFile } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { stringify } from 'yaml';
import { openStore, type Store } from '../../src/store/store.ts';
import { enqueue, type EnqueueItem } from '../../src/store/enqueue.ts';
import { makeEvent } from '../deliver/fixtures.ts';
import { procMemory } from './proc-memory.ts';
import { installedNodeFlags } from './installed-node-options.ts';

const { values: args } = parseArgs({
  options: {
    n: { type: 'string', default: '1000000' },
    checkpoint: { type: 'string', default: '100000' },
    repos: { type: 'string', default: '100' },
    settle: { type: 'string', default: '8' },
  },
});
const N = Number(args.n);
const CHECKPOINT = Math.min(Number(args.checkpoint), N);
const REPOS = Number(args.repos);
const SETTLE_MS = Number(args.settle) * 1000;
const RELAY_BIN = fileURLToPath(new URL('../../bin/relay.js', import.meta.url));
const BATCH = 10_000;
const mb = (bytes: number): number => Math.round(bytes / 1e5) / 10;

/** A ~1 KB JSON body (a small cloudevents push). */
function bodyFor(i: number): Buffer {
  return Buffer.from(JSON.stringify({ specversion: '1.0', id: `ev-${i}`, source: 'bitbucket-relay', type: 'com.atlassian.bitbucket.repo.push', data: { repo: `r${i % REPOS}`, after: i.toString(16).padStart(40, '0'), filler: 'x'.repeat(800) } }));
}

/** Enqueue deliveries [from, to) for destination "sink", BATCH per transaction. */
function fill(store: Store, from: number, to: number): void {
  for (let start = from; start < to; start += BATCH) {
    const batch: EnqueueItem[] = [];
    for (let i = start; i < Math.min(to, start + BATCH); i++) {
      const headers = { 'Content-Type': 'application/json', 'ce-id': `ev-${i}` };
      batch.push({ event: makeEvent(`ev-${i}`, { slug: `r${i % REPOS}` }), deliveries: [{ destination: 'sink', requests: [{ headers, body: bodyFor(i), signatureHeader: null, label: 'push' }] }] });
    }
    enqueue(store, batch);
    if ((start / BATCH) % 20 === 0) process.stderr.write(`  queued ${Math.min(to, start + BATCH).toLocaleString('en')}\n`);
  }
}

/** A port nothing listens on (connections refused). */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

interface DaemonMemory {
  startMs: number;
  peakRssMb: number;
  settledRssMb: number;
  statusMs: number;
  statusQueued: number | null;
}

/** Start `relay daemon` on the config, let it settle, read its memory, ask `relay status`, stop it. */
async function measureDaemon(configFile: string): Promise<DaemonMemory> {
  const started = performance.now();
  // The systemd unit's V8 flags, as installed (the daemon runs from the sources here).
  const child = spawn(process.execPath, [RELAY_BIN, 'daemon', '--config', configFile], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NODE_OPTIONS: installedNodeFlags().join(' ') } });
  let out = '';
  child.stderr!.on('data', (c: Buffer) => (out += c));
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (c: Buffer) => {
      out += c;
      if (out.includes('relay daemon started')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`daemon exited (${code}) before it started:\n${out.slice(-3000)}`)));
  });
  const startMs = Math.round(performance.now() - started);
  // Settle: the dispatcher scans, prefetches, fails, opens its circuit; RSS is read after.
  let samples: number[] = [];
  const end = Date.now() + SETTLE_MS;
  while (Date.now() < end) {
    samples.push(procMemory(child.pid!).rss);
    await new Promise((r) => setTimeout(r, 250));
  }
  samples = samples.slice(-8);
  const { hwm } = procMemory(child.pid!);
  const t0 = performance.now();
  const status = await new Promise<string>((resolve) =>
    execFile(process.execPath, [RELAY_BIN, 'status', '--json', '--config', configFile], { maxBuffer: 1 << 24 }, (_e, stdout) => resolve(stdout)),
  );
  const statusMs = Math.round(performance.now() - t0);
  let statusQueued: number | null = null;
  try {
    const s = JSON.parse(status) as { destinations?: { name: string; queued: number }[] };
    statusQueued = s.destinations?.find((d) => d.name === 'sink')?.queued ?? null;
  } catch {
    statusQueued = null;
  }
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
  return { startMs, peakRssMb: mb(hwm), settledRssMb: mb(samples.reduce((a, b) => a + b, 0) / samples.length), statusMs, statusQueued };
}

function writeConfig(dir: string, storePath: string, port: number): string {
  const file = path.join(dir, `relay-${path.basename(storePath)}.yaml`);
  writeFileSync(file, stringify({
    spool: { dir: path.join(dir, 'spool') },
    store: { path: storePath, maxBytes: '64GiB' },
    admin: { socket: path.join(dir, `${path.basename(storePath)}.sock`) },
    log: { format: 'json', level: 'info' },
    destinations: [{ name: 'sink', type: 'http', url: `http://127.0.0.1:${port}/hook`, format: 'cloudevents', retry: { baseDelay: '1s', maxDelay: '30s' }, timeout: { connect: '2s', response: '5s' } }],
  }));
  return file;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), 'relay-queue-rss-'));
  try {
    const port = await closedPort();
    // Peer: the same daemon, idle, empty store.
    const idle = await measureDaemon(writeConfig(dir, path.join(dir, 'idle.db'), port));

    const storePath = path.join(dir, 'queued.db');
    const configFile = writeConfig(dir, storePath, port);
    const store = openStore(storePath, { limits: { maxBytes: 64 * 1024 ** 3 } });
    const t0 = performance.now();
    fill(store, 0, CHECKPOINT);
    let fillMs = performance.now() - t0;
    store.close();
    const atCheckpoint = await measureDaemon(configFile);
    const store2 = openStore(storePath, { limits: { maxBytes: 64 * 1024 ** 3 } });
    const t1 = performance.now();
    fill(store2, CHECKPOINT, N);
    fillMs += performance.now() - t1;
    const fillSeconds = fillMs / 1000;
    store2.db.exec('PRAGMA wal_checkpoint(TRUNCATE)');
    store2.close();
    const storeMb = mb(statSync(storePath).size);
    const full = await measureDaemon(configFile);

    const goalMb = 150;
    const growthMb = Math.round((full.peakRssMb - idle.peakRssMb) * 10) / 10;
    console.log(JSON.stringify({
      bench: 'queue-rss',
      deliveries: N,
      repos: REPOS,
      bodyBytes: bodyFor(0).length,
      destination: 'unreachable (connection refused)',
      fill: { seconds: Math.round(fillSeconds * 10) / 10, perSec: Math.round(N / fillSeconds), storeMb },
      queued: full,
      [`queued${CHECKPOINT}`]: atCheckpoint,
      idle,
      growthOverIdleMb: growthMb,
      goal: { peakRssMb: goalMb },
      pass: full.peakRssMb <= goalMb && full.statusQueued === N,
      table: [
        {
          what: `daemon RSS with ${N.toLocaleString('en')} deliveries queued (${REPOS} repos, destination unreachable)`,
          ours: `${full.peakRssMb} MB peak, ${full.settledRssMb} MB settled (${CHECKPOINT.toLocaleString('en')} queued: ${atCheckpoint.peakRssMb} MB peak)`,
          peer: `${idle.peakRssMb} MB peak, ${idle.settledRssMb} MB settled (idle daemon, empty store)`,
          goal: `≤ ${goalMb} MB, flat in queue length`,
        },
        {
          what: `daemon start → ready / \`relay status\` with ${N.toLocaleString('en')} queued`,
          ours: `${full.startMs} ms / ${full.statusMs} ms`,
          peer: `${idle.startMs} ms / ${idle.statusMs} ms (empty store)`,
          goal: '',
        },
      ],
    }));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
