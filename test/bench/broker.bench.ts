// Benchmark `broker`: 50,000 queued deliveries (50 repositories) published
// by the relay as installed (compiled as install.sh does, with the systemd
// unit's V8 flags) to NATS JetStream (PubAck per message) and to
// RabbitMQ (publisher confirms), each broker a private server on 127.0.0.1.
// Prints ONE JSON line: deliveries/s, CPU per delivery and peak RSS of the publishing process,
// per-repository order violations and missing/duplicate messages seen by a
// consumer reading everything back, and a peer measured in the same run: the
// raw client (nats.js / amqplib) publishing the same bodies in a loop with the
// same number in flight, acknowledged the same way, no store.
// Goals: ≥ 2,000/s to JetStream, ≥ 1,000/s to RabbitMQ, ≤ 150 MB, 0 order violations.
//
//   node test/bench/broker.bench.ts [--n 50000] [--repos 50] [--concurrency 16]

import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import amqp from 'amqplib';
import { connect, headers as natsHeaders } from '@nats-io/transport-node';
import { jetstream, jetstreamManager, AckPolicy, DeliverPolicy } from '@nats-io/jetstream';
import { fillBenchQueue, measuredDrain } from './bench-queue.ts';
import { natsDest, amqpDest } from '../destinations/broker-fixtures.ts';
import { startNatsServer } from '../helpers/nats-server.ts';
import { startRabbitServer } from '../helpers/rabbitmq-server.ts';
import { compiledPath, compiledRelayTree } from './compiled-tree.ts';
import { installedNodeFlags } from './installed-node-options.ts';

const { values: args } = parseArgs({
  options: {
    n: { type: 'string', default: '50000' },
    repos: { type: 'string', default: '50' },
    concurrency: { type: 'string', default: '16' },
    prepare: { type: 'string' },
    drain: { type: 'string' },
    kind: { type: 'string' },
    server: { type: 'string' },
  },
});
const N = Number(args.n);
const REPOS = Number(args.repos);
const CONCURRENCY = Number(args.concurrency);
const SELF = fileURLToPath(import.meta.url);
const EXCHANGE = 'bitbucket';

/** A ~1.5 KB JSON body, like a small cloudevents push (same as the drain benchmark). */
function bodyFor(i: number): Buffer {
  return Buffer.from(JSON.stringify({ specversion: '1.0', id: `ev-${i}`, type: 'dev.bitbucket-relay.push', data: { repo: `r${i % REPOS}`, filler: 'x'.repeat(1400) } }));
}

/** The publishing process: drain the queue to the broker, print {seconds, peakRssMb, cpuUsPerDelivery, delivered}. */
async function drain(path: string, kind: string, server: string): Promise<void> {
  const dest =
    kind === 'nats'
      ? natsDest([server], { name: 'bench', concurrency: CONCURRENCY, subject: 'bench.{projectKey}.{repoSlug}', stream: { name: 'BENCH', create: true, subjects: ['bench.>'], maxAgeMs: 3_600_000, duplicateWindowMs: 120_000, storage: 'file', replicas: 1 }, timeout: { connectMs: 5000, ackMs: 30_000 } })
      : amqpDest(server, { name: 'bench', concurrency: CONCURRENCY, exchange: { name: EXCHANGE, type: 'topic', declare: true }, routingKey: 'bench.{projectKey}.{repoSlug}', timeout: { connectMs: 5000, ackMs: 30_000 } });
  console.log(JSON.stringify(await measuredDrain(path, dest, N)));
}

interface RunResult {
  seconds: number;
  peakRssMb: number;
  cpuUsPerDelivery: number;
  delivered: number;
}

async function runDrain(dir: string, kind: string, server: string, script: string): Promise<RunResult> {
  const path = join(dir, `${kind}.db`);
  const prep = spawnSync(process.execPath, [SELF, '--prepare', path, '--n', String(N), '--repos', String(REPOS)], { stdio: 'inherit' });
  if (prep.status !== 0) throw new Error('prepare failed');
  process.stderr.write(`  ${kind}: store ${Math.round(statSync(path).size / 1e5) / 10} MB, draining …\n`);
  const child = spawn(process.execPath, [...installedNodeFlags(), script, '--drain', path, '--kind', kind, '--server', server, '--n', String(N), '--concurrency', String(CONCURRENCY)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c));
  const code = await new Promise<number | null>((r) => child.once('exit', r));
  if (code !== 0) throw new Error(`${kind} drain process exited with ${code}`);
  for (const f of [path, `${path}-wal`, `${path}-shm`]) rmSync(f, { force: true });
  return JSON.parse(out.trim().split('\n').at(-1)!);
}

/** Per-lane order violations, missing and duplicate messages among (lane, seq) pairs as consumed. */
function judge(seen: { lane: string; seq: number }[]): { orderViolations: number; missing: number; duplicates: number } {
  const last = new Map<string, number>();
  const ids = new Set<number>();
  let orderViolations = 0;
  let duplicates = 0;
  for (const { lane, seq } of seen) {
    if (ids.has(seq)) {
      duplicates++;
      continue;
    }
    ids.add(seq);
    if ((last.get(lane) ?? -1) > seq) orderViolations++;
    last.set(lane, seq);
  }
  return { orderViolations, missing: N - ids.size, duplicates };
}

async function natsRun(script: string): Promise<Record<string, unknown>> {
  const server = await startNatsServer();
  try {
    const ours = await runDrain(server.dir, 'nats', server.url, script);
    const nc = await connect({ servers: server.url });
    const js = jetstream(nc);
    const jsm = await jetstreamManager(nc);
    const stored = (await jsm.streams.info('BENCH')).state.messages;
    await jsm.consumers.add('BENCH', { durable_name: 'check', ack_policy: AckPolicy.None, deliver_policy: DeliverPolicy.All });
    const consumer = await js.consumers.get('BENCH', 'check');
    const seen: { lane: string; seq: number }[] = [];
    while (seen.length < stored) {
      const batch = await consumer.fetch({ max_messages: 1000, expires: 2000 });
      let got = 0;
      for await (const m of batch) {
        got++;
        seen.push({ lane: m.headers!.get('X-Bench-Lane'), seq: Number(m.headers!.get('X-Bench-Seq')) });
      }
      if (got === 0) break;
    }
    const check = judge(seen);
    // Peer: nats.js publishing the same bodies, same number awaiting their PubAck, no store.
    await jsm.streams.add({ name: 'PEER', subjects: ['peer.>'] });
    const bodies = Array.from({ length: 1000 }, (_, i) => bodyFor(i));
    let next = 0;
    const peerCpu0 = process.cpuUsage();
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < N) {
          const i = next++;
          const h = natsHeaders();
          h.set('content-type', 'application/cloudevents+json');
          await js.publish(`peer.PROJ.r${i % REPOS}`, bodies[i % 1000], { msgID: `peer-${i}`, headers: h });
        }
      }),
    );
    const peerPerSec = Math.round(N / ((performance.now() - t0) / 1000));
    const peerCpu = process.cpuUsage(peerCpu0);
    const peerCpuUsPerDelivery = Math.round((peerCpu.user + peerCpu.system) / N);
    await nc.close();
    return { perSec: Math.round(N / ours.seconds), peakRssMb: ours.peakRssMb, cpuUsPerDelivery: ours.cpuUsPerDelivery, delivered: ours.delivered, stored, ...check, peerPerSec, peerCpuUsPerDelivery };
  } finally {
    await server.cleanup();
  }
}

async function rabbitRun(script: string): Promise<Record<string, unknown>> {
  const server = await startRabbitServer();
  try {
    const setup = await amqp.connect(server.url);
    const ch = await setup.createChannel();
    await ch.assertExchange(EXCHANGE, 'topic', { durable: true });
    await ch.assertQueue('bench', { durable: true });
    await ch.bindQueue('bench', EXCHANGE, 'bench.#');
    await ch.assertQueue('peer', { durable: true });
    await ch.bindQueue('peer', EXCHANGE, 'peer.#');
    const ours = await runDrain(server.dir, 'amqp', server.url, script);
    const seen: { lane: string; seq: number }[] = [];
    await ch.prefetch(2000);
    await new Promise<void>((resolve) => {
      void ch.consume('bench', (m) => {
        if (!m) return;
        const h = m.properties.headers as Record<string, string>;
        seen.push({ lane: String(h['X-Bench-Lane']), seq: Number(h['X-Bench-Seq']) });
        ch.ack(m);
        if (seen.length >= ours.delivered) resolve();
      });
    });
    const check = judge(seen);
    // Peer: amqplib publishing the same bodies on a confirm channel, same number awaiting their confirm, no store.
    const cc = await setup.createConfirmChannel();
    const bodies = Array.from({ length: 1000 }, (_, i) => bodyFor(i));
    let next = 0;
    const peerCpu0 = process.cpuUsage();
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < N) {
          const i = next++;
          await new Promise<void>((resolve, reject) =>
            cc.publish(EXCHANGE, `peer.PROJ.r${i % REPOS}`, bodies[i % 1000], { persistent: true, messageId: `peer-${i}`, contentType: 'application/cloudevents+json', mandatory: true }, (err: unknown) => (err ? reject(err) : resolve())),
          );
        }
      }),
    );
    const peerPerSec = Math.round(N / ((performance.now() - t0) / 1000));
    const peerCpu = process.cpuUsage(peerCpu0);
    const peerCpuUsPerDelivery = Math.round((peerCpu.user + peerCpu.system) / N);
    await setup.close();
    return { perSec: Math.round(N / ours.seconds), peakRssMb: ours.peakRssMb, cpuUsPerDelivery: ours.cpuUsPerDelivery, delivered: ours.delivered, stored: seen.length, ...check, peerPerSec, peerCpuUsPerDelivery, startMs: server.startedInMs };
  } finally {
    await server.cleanup();
  }
}

async function main(): Promise<void> {
  // The machine may be shared: the load average at start (run.ts records it at the end).
  const loadAtStart = loadavg().map((l) => l.toFixed(2)).join(' ');
  const dir = mkdtempSync(join(tmpdir(), 'relay-broker-bench-'));
  try {
    const tree = join(dir, 'compiled');
    compiledRelayTree(tree, ['test/bench/broker.bench.ts', 'test/destinations/broker-fixtures.ts', 'test/deliver/fixtures.ts', 'test/helpers/nats-server.ts', 'test/helpers/rabbitmq-server.ts', 'test/helpers/broker-process.ts', 'test/bench/compiled-tree.ts']);
    const script = compiledPath(tree, 'test/bench/broker.bench.ts');
    const nats = await natsRun(script);
    const rabbit = await rabbitRun(script);
    const ok = (r: Record<string, unknown>): boolean => r.delivered === N && r.missing === 0 && r.orderViolations === 0;
    const natsPass = ok(nats) && (nats.perSec as number) >= 2000 && (nats.peakRssMb as number) <= 150 && nats.duplicates === 0;
    const rabbitPass = ok(rabbit) && (rabbit.perSec as number) >= 1000 && (rabbit.peakRssMb as number) <= 150;
    console.log(
      JSON.stringify({
        bench: 'broker',
        deliveries: N,
        repos: REPOS,
        concurrency: CONCURRENCY,
        bodyBytes: bodyFor(0).length,
        installed: `compiled as install.sh installs it, ${installedNodeFlags().join(' ')} as the systemd unit sets`,
        loadAtStart,
        nats,
        rabbitmq: rabbit,
        goal: { natsPerSec: 2000, rabbitPerSec: 1000, peakRssMb: 150, orderViolations: 0 },
        pass: natsPass && rabbitPass,
        table: [
          { what: `JetStream: deliveries/s (PubAck each), ${N.toLocaleString('en')} queued, ${REPOS} repos, ${CONCURRENCY} in flight`, ours: `${nats.perSec} as installed`, peer: `${nats.peerPerSec} (nats.js loop, same bodies, no store)`, goal: '≥ 2,000/s' },
          { what: 'JetStream: CPU per delivery of the publishing process (user + system)', ours: `${nats.cpuUsPerDelivery} µs`, peer: `${nats.peerCpuUsPerDelivery} µs`, goal: '' },
          { what: 'JetStream: peak RSS of the publishing process', ours: `${nats.peakRssMb} MB`, peer: '', goal: '≤ 150 MB' },
          { what: 'JetStream: order violations / missing / duplicates in the stream', ours: `${nats.orderViolations} / ${nats.missing} / ${nats.duplicates}`, peer: '', goal: '0 / 0 / 0' },
          { what: `RabbitMQ: deliveries/s (publisher confirms, persistent), same queue`, ours: `${rabbit.perSec} as installed`, peer: `${rabbit.peerPerSec} (amqplib confirm-channel loop, no store)`, goal: '≥ 1,000/s' },
          { what: 'RabbitMQ: CPU per delivery of the publishing process (user + system)', ours: `${rabbit.cpuUsPerDelivery} µs`, peer: `${rabbit.peerCpuUsPerDelivery} µs`, goal: '' },
          { what: 'RabbitMQ: peak RSS of the publishing process', ours: `${rabbit.peakRssMb} MB`, peer: '', goal: '≤ 150 MB' },
          { what: 'RabbitMQ: order violations / missing in the queue', ours: `${rabbit.orderViolations} / ${rabbit.missing}`, peer: '', goal: '0 / 0' },
        ],
      }),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// Lane and seq headers let the consumer check FIFO.
if (args.prepare) fillBenchQueue(args.prepare, N, REPOS, (i) => ({ headers: { 'Content-Type': 'application/cloudevents+json', 'X-Bench-Lane': `r${i % REPOS}`, 'X-Bench-Seq': String(i) }, body: bodyFor(i), signatureHeader: null }));
else if (args.drain) await drain(args.drain, args.kind!, args.server!);
else await main();
