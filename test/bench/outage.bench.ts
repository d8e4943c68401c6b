// Benchmark `outage`: the receiver becomes unreachable while pushes keep
// arriving at a steady rate — real `git push`es through the real hook into 4
// repositories, the real daemon process, a cuttable TCP proxy in front of the
// receiver: first it hangs (packets dropped, like a firewall), then it refuses
// (like a stopped service), then the path comes back. Reports, from one run:
// push latency before vs during the outage (goal: unchanged — the hook never
// waits for the network), every ref update delivered (zero lost), per-
// repository order at the receiver, and the time to drain the backlog once the
// path is back. Prints ONE JSON line.
//
//   node test/bench/outage.bench.ts [--rate 5] [--before 10] [--outage 24]
//
// Delivery settings are the defaults except timeout.response 5s (Bitbucket's
// own webhooks wait 10 s) and retry.maxDelay 30s, printed with the result.

import { parseArgs } from 'node:util';
import { loadavg } from 'node:os';
import { createRelayFixture, type RelayFixture, type TestRepo } from '../helpers/relay-fixture.ts';
import { startReceiver } from '../helpers/receiver.ts';
import { startTcpProxy } from '../helpers/tcp-proxy.ts';
import { commitAsync, gitAsync, sleep } from '../chaos/chaos-kit.ts';

const { values: args } = parseArgs({
  options: {
    rate: { type: 'string', default: '5' },
    before: { type: 'string', default: '10' },
    outage: { type: 'string', default: '24' },
    'drain-timeout': { type: 'string', default: '90' },
  },
});
const RATE = Number(args.rate); // pushes per second, all repositories together
const BEFORE_MS = Number(args.before) * 1000;
const OUTAGE_MS = Number(args.outage) * 1000;
const DRAIN_TIMEOUT_MS = Number(args['drain-timeout']) * 1000;
const REPOS = ['alpha', 'bravo', 'charlie', 'delta'];
const RETRY = { baseDelay: '1s', maxDelay: '30s' };
const TIMEOUT = { connect: '10s', response: '5s' };

type Phase = 'before' | 'outage';

interface PushSample {
  repo: string;
  index: number;
  sha: string;
  phase: Phase;
  ms: number;
}

function stats(xs: number[]): { n: number; medianMs: number; p95Ms: number; maxMs: number } {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))];
  const r = (x: number) => Math.round(x * 10) / 10;
  return { n: s.length, medianMs: r(q(0.5)), p95Ms: r(q(0.95)), maxMs: r(s[s.length - 1]) };
}

/** One repository's steady push loop: a commit, then a timed `git push`, every `periodMs`. */
async function pushLoop(fx: RelayFixture, repo: TestRepo, name: string, periodMs: number, phase: () => Phase | 'stop', out: PushSample[]): Promise<void> {
  let next = Date.now() + Math.random() * periodMs; // spread the repositories
  for (let i = 0; ; i++) {
    await sleep(Math.max(0, next - Date.now()));
    next += periodMs;
    const p = phase();
    if (p === 'stop') return;
    const sha = await commitAsync(repo.work, fx.pushEnv, 'a.txt', `${name} ${i}\n`, `${name}: change ${i}`);
    const t0 = performance.now();
    await gitAsync(repo.work, ['push', '--quiet', 'origin', 'main'], fx.pushEnv);
    out.push({ repo: name, index: i, sha, phase: p, ms: performance.now() - t0 });
  }
}

async function main(): Promise<void> {
  const receiver = await startReceiver();
  const proxy = await startTcpProxy({ port: receiver.port });
  const fx = createRelayFixture({ prefix: 'relay-outage-bench-' });
  try {
    fx.writeConfig({
      log: { format: 'json', level: 'info' },
      destinations: [{ name: 'sink', type: 'http', url: `http://127.0.0.1:${proxy.port}/hook`, format: 'cloudevents', retry: RETRY, timeout: TIMEOUT }],
    });
    const daemon = await fx.startDaemon();
    const repos = REPOS.map((name) => ({ name, repo: fx.createRepo(name) }));
    let phase: Phase | 'stop' = 'before';
    const samples: PushSample[] = [];
    const loops = repos.map(({ name, repo }) => pushLoop(fx, repo, name, (1000 * REPOS.length) / RATE, () => phase, samples));

    await sleep(BEFORE_MS);
    const outageStart = Date.now();
    phase = 'outage';
    await proxy.setMode('hang');
    await sleep(OUTAGE_MS / 2);
    await proxy.setMode('refuse');
    await sleep(OUTAGE_MS / 2);
    phase = 'stop';
    await Promise.all(loops);
    const receivedDuringOutage = receiver.requests.filter((r) => r.time >= outageStart).length;
    await proxy.setMode('pass');
    const back = Date.now();

    // Drain: every pushed sha delivered (2xx answered; the receiver answers 200).
    const bodies = () => receiver.requests.map((r) => JSON.parse(r.body.toString()) as { data: { repository: { slug: string }; refs: { after: string }[] } });
    const wanted = new Set(samples.map((s) => s.sha));
    let firstAfterBack: number | null = null;
    while (Date.now() - back < DRAIN_TIMEOUT_MS) {
      const got = new Set(bodies().flatMap((b) => b.data.refs.map((r) => r.after)));
      if (firstAfterBack === null) {
        const req = receiver.requests.find((r) => r.time >= back);
        if (req) firstAfterBack = req.time - back;
      }
      if ([...wanted].every((s) => got.has(s))) break;
      await sleep(50);
    }
    const drainMs = Date.now() - back;
    const delivered = new Set(bodies().flatMap((b) => b.data.refs.map((r) => r.after)));
    const lost = [...wanted].filter((s) => !delivered.has(s)).length;

    // Order: for each repository, first arrival of each push follows push order.
    const firstArrival = new Map<string, number>();
    receiver.requests.forEach((r, i) => {
      for (const ref of JSON.parse(r.body.toString()).data.refs as { after: string }[]) if (!firstArrival.has(ref.after)) firstArrival.set(ref.after, i);
    });
    let orderViolations = 0;
    for (const name of REPOS) {
      const seq = samples.filter((s) => s.repo === name).sort((a, b) => a.index - b.index).map((s) => firstArrival.get(s.sha) ?? Infinity);
      for (let k = 1; k < seq.length; k++) if (seq[k] < seq[k - 1]) orderViolations++;
    }
    const duplicates = receiver.requests.length - new Set(receiver.requests.map((r) => String(r.headers['x-relay-delivery']))).size;

    const before = stats(samples.filter((s) => s.phase === 'before').map((s) => s.ms));
    const during = stats(samples.filter((s) => s.phase === 'outage').map((s) => s.ms));
    const ratio = Math.round((during.medianMs / before.medianMs) * 100) / 100;
    const backlog = samples.filter((s) => s.phase === 'outage').length;
    daemon.child.kill('SIGTERM');
    await daemon.exited;

    console.log(JSON.stringify({
      bench: 'outage',
      repos: REPOS.length,
      pushesPerSec: RATE,
      outage: { seconds: OUTAGE_MS / 1000, modes: ['hang', 'refuse'], requestsThatGotThrough: receivedDuringOutage },
      config: { retry: RETRY, timeout: TIMEOUT },
      pushes: samples.length,
      pushedDuringOutage: backlog,
      delivered: wanted.size - lost,
      lost,
      orderViolations,
      duplicates,
      drain: { firstDeliveryAfterPathBackMs: firstAfterBack, allDeliveredMs: drainMs },
      pushLatency: { before, during, medianRatio: ratio },
      load: loadavg().map((l) => l.toFixed(2)).join(' '),
      goal: { lost: 0, orderViolations: 0, medianRatio: 'about 1 (unchanged)' },
      pass: lost === 0 && orderViolations === 0 && ratio < 1.5,
      table: [
        {
          what: `git push latency during a ${OUTAGE_MS / 1000} s receiver outage (hang, then refuse), ${RATE} pushes/s`,
          ours: `median ${during.medianMs} ms, p95 ${during.p95Ms} ms (×${ratio})`,
          peer: `median ${before.medianMs} ms, p95 ${before.p95Ms} ms before the outage`,
          goal: 'unchanged',
        },
        {
          what: `pushes during the outage delivered once the path is back (${backlog} pushes, ${REPOS.length} repos)`,
          ours: `${wanted.size - lost}/${wanted.size} delivered, ${orderViolations} out of order, ${duplicates} duplicates; drained ${(drainMs / 1000).toFixed(1)} s after the path returned (first delivery after ${((firstAfterBack ?? 0) / 1000).toFixed(1)} s)`,
          peer: 'Bitbucket DC webhooks: dropped while their circuit breaker is open (documented)',
          goal: '0 lost, in order',
        },
      ],
    }));
  } finally {
    await fx.cleanup();
    await proxy.close();
    await receiver.close();
  }
}

await main();
