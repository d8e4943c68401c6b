// Benchmark `http-client`: what got 16 costs per request against a plain
// node:http loop, before any store or queue (issue 14 item 2: HTTP delivery
// on got within the drain goals, ≥ 1,500 deliveries/s, ≤ 150 MB). Same
// receiver process as `drain`, 1.5 KB JSON bodies, keep-alive agents, 16 in
// flight. Three clients alternate, twice each, in the same run: the
// got transport (src/destinations/http/transport.ts: got configured down,
// body written through its stream), got's promise API with the `body`
// option (retry off, throwHttpErrors false, no redirects, per-phase
// timeouts, buffer body: the first configuration tried), and the plain loop.
// Each reports requests/s, CPU µs per request and peak RSS of this process.
//
//   node test/bench/http-client.bench.ts [--n 10000]

import { fork } from 'node:child_process';
import http from 'node:http';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loadavg } from 'node:os';
import got from 'got';
import https from 'node:https';
import { createTransport } from '../../src/destinations/http/transport.ts';

const { values: args } = parseArgs({ options: { n: { type: 'string', default: '10000' } } });
const N = Number(args.n);
const CONCURRENCY = 16;

async function startReceiver(): Promise<{ port: number; stop(): void }> {
  const proc = fork(fileURLToPath(new URL('../helpers/receiver.ts', import.meta.url)), [], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  const port = await new Promise<number>((resolve) => proc.once('message', (m: { port: number }) => resolve(m.port)));
  return {
    port,
    stop: () => {
      proc.send({ type: 'exit' });
      proc.disconnect();
    },
  };
}

interface Figures {
  perSec: number;
  cpuUsPerRequest: number;
  peakRssMb: number;
}

async function measure(send: () => Promise<unknown>): Promise<Figures> {
  let next = 0;
  let peak = 0;
  const sample = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 20);
  const cpu = process.cpuUsage();
  const started = performance.now();
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (next++ < N) await send();
  }));
  const seconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  clearInterval(sample);
  return { perSec: Math.round(N / seconds), cpuUsPerRequest: Math.round((used.user + used.system) / N), peakRssMb: Math.round(peak / 1e5) / 10 };
}

async function main(): Promise<void> {
  const receiver = await startReceiver();
  const url = `http://127.0.0.1:${receiver.port}/hook/PROJ/repo`;
  const body = Buffer.from(JSON.stringify({ padding: 'x'.repeat(1480) }));
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  const headers = { 'content-type': 'application/json', 'x-relay-delivery': 'bench' };
  const plain = (): Promise<void> =>
    new Promise((resolve, reject) => {
      const req = http.request(url, { method: 'POST', agent, headers: { ...headers, 'content-length': String(body.length) } }, (res) => {
        res.resume();
        res.on('end', resolve);
      });
      req.on('error', reject);
      req.end(body);
    });
  const client = got.extend({
    agent: { http: agent },
    retry: { limit: 0 },
    throwHttpErrors: false,
    followRedirect: false,
    decompress: false,
    timeout: { lookup: 10_000, connect: 10_000, secureConnect: 10_000, send: 5_000, response: 5_000, request: 30_000 },
  });
  const viaGot = () => client.post(url, { body, headers, responseType: 'buffer' });
  const transport = createTransport({ agents: { http: agent, https: new https.Agent() }, connectTimeoutMs: 10_000, responseTimeoutMs: 5_000, maxBodyBytes: 2048 });
  const target = new URL(url);
  const viaTransport = () => transport.send({ url: target, method: 'POST', headers, body });
  const runs: { plain: Figures[]; got: Figures[]; transport: Figures[] } = { plain: [], got: [], transport: [] };
  for (let i = 0; i < 2; i++) {
    runs.plain.push(await measure(plain));
    runs.transport.push(await measure(viaTransport));
    runs.got.push(await measure(viaGot));
  }
  agent.destroy();
  receiver.stop();
  const best = (xs: Figures[]): Figures => xs.reduce((a, b) => (b.perSec > a.perSec ? b : a));
  const g = best(runs.got);
  const p = best(runs.plain);
  const tr = best(runs.transport);
  process.stdout.write(JSON.stringify({
    bench: 'http-client',
    requests: N,
    concurrency: CONCURRENCY,
    bodyBytes: body.length,
    transport: runs.transport,
    got: runs.got,
    plain: runs.plain,
    cpuRatio: Number((tr.cpuUsPerRequest / p.cpuUsPerRequest).toFixed(2)),
    gotBodyOptionCpuRatio: Number((g.cpuUsPerRequest / p.cpuUsPerRequest).toFixed(2)),
    loadAverage: loadavg().map((x) => Number(x.toFixed(2))),
    table: [
      {
        what: `the got transport (delivery's and relay test's) alone: ${N.toLocaleString('en')} POSTs of 1.5 KB, ${CONCURRENCY} in flight, keep-alive (best of 2)`,
        ours: `${tr.perSec}/s, ${tr.cpuUsPerRequest} µs CPU per request, ${tr.peakRssMb} MB peak`,
        peer: `node:http loop: ${p.perSec}/s, ${p.cpuUsPerRequest} µs (×${(tr.cpuUsPerRequest / p.cpuUsPerRequest).toFixed(1)} CPU)`,
        goal: 'input to the drain goals (≥ 1,500/s, ≤ 150 MB with got)',
      },
      {
        what: `got promise API alone: ${N.toLocaleString('en')} POSTs of 1.5 KB, ${CONCURRENCY} in flight, keep-alive (best of 2)`,
        ours: `got 16 promise API, body option: ${g.perSec}/s, ${g.cpuUsPerRequest} µs CPU per request, ${g.peakRssMb} MB peak`,
        peer: `node:http loop: ${p.perSec}/s, ${p.cpuUsPerRequest} µs (got ×${(g.cpuUsPerRequest / p.cpuUsPerRequest).toFixed(1)} CPU)`,
        goal: 'input to issue 14 item 2 (drain ≥ 1,500/s, ≤ 150 MB with got)',
      },
    ],
  }) + '\n');
}

await main();
