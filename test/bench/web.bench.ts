// Benchmark `web`: response times of the web pages served by the real daemon
// (`relay daemon`, web.listen on loopback) with 1,000,000 deliveries in the
// store: 250,000 events × 4 destinations over the last 7 days, 100
// repositories, mostly delivered, some dead, some still queued, and a full
// attempts log (1,000,000 rows, its retention bound). The store is filled
// with the store's own `enqueue` in batches; states and the attempts log are
// then written in bulk SQL (the shapes the dispatcher writes). Measured: p50
// and p95 of the overview, filtered deliveries lists, a delivery page and the
// chart data endpoints (sequential requests after a warm-up), the daemon's
// RSS while serving, and, as the peer in the same run on the same store,
// `relay status --json` (a whole CLI process asking the daemon).
// Prints ONE JSON line.
//
//   node test/bench/web.bench.ts [--events 250000] [--requests 40]

import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
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
import { compiledRelayTree } from './compiled-tree.ts';
import { installedNodeFlags } from './installed-node-options.ts';

const { values: args } = parseArgs({ options: { events: { type: 'string', default: '250000' }, requests: { type: 'string', default: '40' }, store: { type: 'string' } } });
/** --store FILE: fill it once and keep it (later runs reuse it; for profiling), instead of a temp store. */
const KEEP_STORE = args.store ? path.resolve(args.store) : null;
const EVENTS = Number(args.events);
const REQUESTS = Number(args.requests);
const DESTINATIONS = ['ci', 'jira', 'portal', 'tracker'];
const REPOS = 100;
const SPAN_MS = 7 * 86_400_000;
const BATCH = 5000;
/** The daemon runs as installed: compiled by install.sh's step, with the systemd unit's V8 flags. */
const INSTALLED_ENV = { ...process.env, NODE_OPTIONS: installedNodeFlags().join(' ') };
const mb = (bytes: number): number => Math.round(bytes / 1e5) / 10;
const pct = (xs: number[], q: number): number => Math.round([...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil(q * xs.length) - 1)] * 10) / 10;

function body(i: number): Buffer {
  return Buffer.from(JSON.stringify({ id: `ev-${i}`, type: 'push', repo: `r${i % REPOS}`, after: i.toString(16).padStart(40, '0') }));
}

/** 250,000 events × 4 destinations, created evenly over the last 7 days; then states and the attempts log in bulk. */
function fill(store: Store, now: number): void {
  const start = now - SPAN_MS;
  for (let from = 0; from < EVENTS; from += BATCH) {
    const batch: EnqueueItem[] = [];
    for (let i = from; i < Math.min(EVENTS, from + BATCH); i++) {
      batch.push({
        event: makeEvent(`ev-${i}`, { slug: `r${i % REPOS}` }),
        deliveries: DESTINATIONS.map((destination) => ({ destination, requests: [{ headers: { 'Content-Type': 'application/json' }, body: body(i), signatureHeader: null, label: 'refs/heads/main' }] })),
      });
    }
    // created_at spread over the week, oldest first (seq follows time, as in production).
    enqueue(store, batch, start + Math.floor((from / EVENTS) * (SPAN_MS - 3_600_000)));
    if ((from / BATCH) % 10 === 0) process.stderr.write(`  events ${from.toLocaleString('en')}\n`);
  }
  process.stderr.write('  states and attempts log …\n');
  store.db.exec('BEGIN');
  // Spread created_at within each batch too (one ms per row) so ordering is realistic.
  store.db.exec(`UPDATE events SET created_at = created_at + (rowid % ${BATCH}) * ${Math.floor(SPAN_MS / EVENTS)}`);
  store.db.exec(`UPDATE deliveries SET created_at = (SELECT created_at FROM events WHERE id = deliveries.event_id)`);
  // jira: 1 in 50 dead (HTTP 400); tracker: 1 in 200 dead after retries (503); portal: the newest 300 queued, failing; rest delivered.
  store.db.exec(`UPDATE deliveries SET state = 'delivered', attempts = 1, first_attempt_at = created_at + 40, last_attempt_at = created_at + 40,
    delivered_at = created_at + 40, finished_at = created_at + 40, last_status = 200, body_id = NULL`);
  store.db.exec(`UPDATE deliveries SET state = 'dead', last_status = 400, last_error = 'HTTP 400', delivered_at = NULL WHERE destination = 'jira' AND seq % 50 = 0`);
  store.db.exec(`UPDATE deliveries SET state = 'dead', attempts = 6, last_status = 503, last_error = 'HTTP 503', delivered_at = NULL WHERE destination = 'tracker' AND seq % 200 = 0`);
  store.db.exec(`DELETE FROM bodies WHERE id NOT IN (SELECT body_id FROM deliveries WHERE body_id IS NOT NULL)`);
  store.db.exec('COMMIT');
  // The attempts log: one row per delivery (its retention bound is 1,000,000 rows), newest last.
  store.db.exec(`INSERT INTO attempts (delivery_id, destination, time, outcome, status, latency_ms, error, response_excerpt, location, target)
    SELECT id, destination, last_attempt_at, CASE state WHEN 'dead' THEN 'dead' ELSE 'delivered' END, last_status,
      20 + (seq * 7919) % 400, last_error, NULL, NULL, 'https://' || destination || '.example/hook'
    FROM deliveries ORDER BY last_attempt_at`);
  // The newest portal deliveries: queued, failing.
  store.db.exec(`UPDATE deliveries SET state = 'pending', delivered_at = NULL, finished_at = NULL, last_status = 503, last_error = 'HTTP 503', next_attempt_at = ${now + 3_600_000}
    WHERE destination = 'portal' AND seq > (SELECT max(seq) FROM deliveries) - 1200`);
}

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

async function timeGet(url: string): Promise<{ ms: number; status: number; bytes: number }> {
  const t0 = performance.now();
  const res = await fetch(url);
  const text = await res.text();
  return { ms: performance.now() - t0, status: res.status, bytes: text.length };
}

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), 'relay-bench-web-'));
  try {
    mkdirSync(path.join(dir, 'spool/incoming'), { recursive: true });
    mkdirSync(path.join(dir, 'spool/quarantine'), { recursive: true });
    const storePath = KEEP_STORE ?? path.join(dir, 'relay.db');
    const now = Date.now();
    const t0 = performance.now();
    const reuse = KEEP_STORE !== null && existsSync(KEEP_STORE);
    const store = openStore(storePath, { limits: { maxBytes: 64 * 1024 ** 3 } });
    if (!reuse) fill(store, now);
    const deliveries = (store.db.prepare('SELECT count(*) AS n FROM deliveries').get() as { n: number }).n;
    const attempts = (store.db.prepare('SELECT count(*) AS n FROM attempts').get() as { n: number }).n;
    const sample = store.db.prepare(`SELECT id FROM deliveries WHERE destination = 'jira' AND state = 'dead' ORDER BY seq DESC LIMIT 1`).get() as { id: string };
    store.db.exec('PRAGMA wal_checkpoint(TRUNCATE)');
    store.close();
    const fillSeconds = Math.round((performance.now() - t0) / 100) / 10;
    const storeMb = mb(statSync(storePath).size);

    const RELAY_BIN = compiledRelayTree(path.join(dir, 'app'));
    const port = await freePort();
    const refused = await freePort();
    const writeConfig = (file: string, web: boolean): string => {
      writeFileSync(file, stringify({
        node: 'bench',
        spool: { dir: path.join(dir, 'spool') },
        store: { path: storePath, maxBytes: '64GiB', log: { maxRows: 2_000_000 } },
        admin: { socket: path.join(dir, 'relay.sock') },
        log: { format: 'json', level: 'info' },
        ...(web ? { web: { listen: `127.0.0.1:${port}` } } : {}),
        destinations: DESTINATIONS.map((name) => ({ name, type: 'http', url: `http://127.0.0.1:${refused}/${name}`, retry: { baseDelay: '30s', maxDelay: '5m' } })),
      }));
      return file;
    };
    const startDaemon = async (config: string): Promise<{ child: ReturnType<typeof spawn>; startMs: number }> => {
      const started = performance.now();
      const child = spawn(process.execPath, [RELAY_BIN, 'daemon', '--config', config], { stdio: ['ignore', 'pipe', 'pipe'], env: INSTALLED_ENV });
      let out = '';
      await new Promise<void>((resolve, reject) => {
        const onData = (c: Buffer): void => {
          out += c;
          if (out.includes('relay daemon started')) resolve();
        };
        child.stdout!.on('data', onData);
        child.stderr!.on('data', onData);
        child.once('exit', (code) => reject(new Error(`daemon exited (${code}):\n${out.slice(-3000)}`)));
      });
      return { child, startMs: Math.round(performance.now() - started) };
    };
    const stop = async (child: ReturnType<typeof spawn>): Promise<void> => {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    };
    // Peer for memory: the same daemon on the same store with the pages off, settled.
    const plain = await startDaemon(writeConfig(path.join(dir, 'plain.yaml'), false));
    await new Promise((r) => setTimeout(r, 5000));
    const plainMem = procMemory(plain.child.pid!);
    await stop(plain.child);

    const configFile = writeConfig(path.join(dir, 'relay.yaml'), true);
    const { child, startMs } = await startDaemon(configFile);
    const base = `http://127.0.0.1:${port}`;
    // Charts are complete once the 7-day read of the log finished (in the background, in chunks).
    const loadStart = performance.now();
    for (;;) {
      const d = (await (await fetch(`${base}/api/charts?range=1h`)).json()) as { complete: boolean };
      if (d.complete) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const chartLoadMs = Math.round(performance.now() - loadStart);
    await new Promise((r) => setTimeout(r, 2000));
    const before = procMemory(child.pid!);

    const pages: Record<string, string> = {
      overview: '/',
      'deliveries (unfiltered)': '/deliveries',
      'deliveries destination=jira state=dead': '/deliveries?destination=jira&state=dead',
      'deliveries repo=PROJ/r42': '/deliveries?repo=PROJ%2Fr42',
      'deliveries status=503, since 3d': '/deliveries?status=503&since=3d',
      'deliveries state=failed, page 2': '',
      'delivery page': `/deliveries/${sample.id}`,
      'chart data 1h': '/api/charts?range=1h',
      'chart data 24h': '/api/charts?range=24h',
      'chart data 7d': '/api/charts?range=7d',
    };
    // Page 2 of a filter: the cursor from page 1's "older" link.
    const first = await (await fetch(`${base}/deliveries?state=failed`)).text();
    const older = /id="older" href="([^"]+)"/.exec(first)?.[1]?.replace(/&amp;/g, '&');
    if (!older) throw new Error('no older link on the failed deliveries page');
    pages['deliveries state=failed, page 2'] = older;

    const figures: Record<string, { p50: number; p95: number; max: number; bytes: number }> = {};
    let peakServing = 0;
    for (const [name, p] of Object.entries(pages)) {
      const times: number[] = [];
      let bytes = 0;
      for (let i = 0; i < REQUESTS + 3; i++) {
        const r = await timeGet(base + p);
        if (r.status !== 200) throw new Error(`${p}: HTTP ${r.status}`);
        if (i >= 3) times.push(r.ms); // 3 warm-up requests
        bytes = r.bytes;
        if (i % 10 === 0) peakServing = Math.max(peakServing, procMemory(child.pid!).rss);
      }
      figures[name] = { p50: pct(times, 0.5), p95: pct(times, 0.95), max: pct(times, 1), bytes };
      process.stderr.write(`  ${name}: p50 ${figures[name].p50} ms, p95 ${figures[name].p95} ms\n`);
    }
    const mem = procMemory(child.pid!);

    // Peer: `relay status --json`, a CLI process asking the same daemon about the same store.
    const statusTimes: number[] = [];
    for (let i = 0; i < 10; i++) {
      const s0 = performance.now();
      await new Promise<void>((resolve, reject) =>
        execFile(process.execPath, [RELAY_BIN, 'status', '--json', '--config', configFile], { maxBuffer: 1 << 24, env: INSTALLED_ENV }, (err, stdout) => {
          if (err && !stdout) reject(err);
          else resolve();
        }),
      );
      statusTimes.push(performance.now() - s0);
    }
    await stop(child);

    const goalMs = 200;
    const goalMb = 150;
    const worst = Math.max(...Object.values(figures).map((f) => f.p95));
    const peakMb = mb(Math.max(mem.hwm, peakServing));
    const row = (name: string): string => `p95 ${figures[name].p95} ms (p50 ${figures[name].p50})`;
    const peer = `\`relay status --json\`: p50 ${pct(statusTimes, 0.5)} ms, p95 ${pct(statusTimes, 0.95)} ms`;
    console.log(JSON.stringify({
      bench: 'web',
      deliveries,
      attempts,
      events: EVENTS,
      destinations: DESTINATIONS.length,
      repos: REPOS,
      fill: { seconds: fillSeconds, storeMb },
      daemon: { runtime: `compiled, ${INSTALLED_ENV.NODE_OPTIONS} (as installed)`, startMs, chartLogReadMs: chartLoadMs, rssBeforeRequestsMb: mb(before.rss), pagesOff: { rssMb: mb(plainMem.rss), peakRssMb: mb(plainMem.hwm) }, rssMb: mb(mem.rss), peakRssMb: peakMb },
      requestsPerPage: REQUESTS,
      pages: figures,
      peer: { statusJson: { p50: pct(statusTimes, 0.5), p95: pct(statusTimes, 0.95) } },
      goal: { p95Ms: goalMs, rssMb: goalMb },
      pass: worst <= goalMs && peakMb <= goalMb,
      table: [
        { what: `overview with ${deliveries.toLocaleString('en')} deliveries stored`, ours: row('overview'), peer, goal: `≤ ${goalMs} ms p95` },
        { what: 'deliveries list filtered (destination + state / repository / status + time / page 2 of failed)', ours: ['deliveries destination=jira state=dead', 'deliveries repo=PROJ/r42', 'deliveries status=503, since 3d', 'deliveries state=failed, page 2'].map((n) => `${figures[n].p95}`).join(' / ') + ' ms p95', peer, goal: `≤ ${goalMs} ms p95` },
        { what: 'chart data endpoint 1h / 24h / 7d', ours: ['chart data 1h', 'chart data 24h', 'chart data 7d'].map((n) => `${figures[n].p95}`).join(' / ') + ' ms p95', peer, goal: `≤ ${goalMs} ms p95` },
        { what: 'a delivery page', ours: row('delivery page'), peer, goal: `≤ ${goalMs} ms p95` },
        { what: 'daemon RSS while serving the pages', ours: `${mb(mem.rss)} MB after ${Object.keys(pages).length * (REQUESTS + 3)} requests, peak ${peakMb} MB (compiled, as installed; 7-day log read at start: ${chartLoadMs} ms)`, peer: `${mb(plainMem.rss)} MB (peak ${mb(plainMem.hwm)} MB) the same daemon and store with the pages off; ${mb(before.rss)} MB with them, before the requests`, goal: `≤ ${goalMb} MB` },
      ],
    }));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
