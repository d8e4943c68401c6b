// Benchmark `http-client`: what got 16 costs per request against a plain
// node:http loop, before any store or queue (issue 14 item 2 decides from it
// whether HTTP delivery can move to got within the drain goals: ≥ 1,500
// deliveries/s, ≤ 150 MB). Same receiver process as `drain`, 1.5 KB JSON
// bodies, keep-alive agents, 16 in flight; got as delivery would configure
// it (retry off, throwHttpErrors false, no redirects, per-phase timeouts,
// buffer body). The variants alternate, twice each, in the same run; each
// reports requests/s, CPU µs per request and peak RSS of this process.
//
//   node test/bench/http-client.bench.ts [--n 10000]

import { fork } from 'node:child_process';
import http from 'node:http';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import got from 'got';

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
  const runs: { plain: Figures[]; got: Figures[] } = { plain: [], got: [] };
  for (let i = 0; i < 2; i++) {
    runs.plain.push(await measure(plain));
    runs.got.push(await measure(viaGot));
  }
  agent.destroy();
  receiver.stop();
  const best = (xs: Figures[]): Figures => xs.reduce((a, b) => (b.perSec > a.perSec ? b : a));
  const g = best(runs.got);
  const p = best(runs.plain);
  process.stdout.write(JSON.stringify({
    bench: 'http-client',
    requests: N,
    concurrency: CONCURRENCY,
    bodyBytes: body.length,
    got: runs.got,
    plain: runs.plain,
    cpuRatio: Number((g.cpuUsPerRequest / p.cpuUsPerRequest).toFixed(2)),
    table: [
      {
        what: `HTTP client alone: ${N.toLocaleString('en')} POSTs of 1.5 KB, ${CONCURRENCY} in flight, keep-alive (best of 2)`,
        ours: `got 16: ${g.perSec}/s, ${g.cpuUsPerRequest} µs CPU per request, ${g.peakRssMb} MB peak`,
        peer: `node:http loop: ${p.perSec}/s, ${p.cpuUsPerRequest} µs (got ×${(g.cpuUsPerRequest / p.cpuUsPerRequest).toFixed(1)} CPU)`,
        goal: 'input to issue 14 item 2 (drain ≥ 1,500/s, ≤ 150 MB with got)',
      },
    ],
  }) + '\n');
}

await main();
