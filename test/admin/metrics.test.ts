// Metrics: attempt counters read incrementally from a real store, every
// documented metric name and the default process metrics in a /metrics answer
// that Prometheus' own parser accepts (`promtool check metrics`), and the
// HTTP server (/metrics, /healthz 200 and 503 with reasons, 404, 405, a port
// in use).

import t from 'tap';
import http from 'node:http';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { openStore } from '../../src/store/store.ts';
import { enqueue } from '../../src/store/enqueue.ts';
import { applyQueueWrites, type AttemptRecord } from '../../src/store/queue.ts';
import { deliveryIdFor } from '../../src/route/delivery-id.ts';
import { AttemptStats, LATENCY_BUCKETS } from '../../src/admin/attempt-stats.ts';
import { spawnSync } from 'node:child_process';
import { RelayMetrics } from '../../src/admin/relay-metrics.ts';
import { healthOf, parseListen, startMetricsServer } from '../../src/admin/metrics-server.ts';
import { collectStatus, type StatusReport } from '../../src/admin/status-report.ts';
import { defaultConfig } from '../../src/config/load-config.ts';
import { silentLog } from '../../src/log/logger.ts';
import { items, makeEvent, tempDir } from '../deliver/fixtures.ts';

/** Every metric family docs/operations.md lists. */
const DOCUMENTED = [
  'relay_build_info', 'relay_start_time_seconds', 'relay_events_total', 'relay_events_unmatched_total', 'relay_analysis_errors_total',
  'relay_spool_record_failures_total', 'relay_config_reloads_total', 'relay_deliveries_total', 'relay_attempt_duration_seconds',
  'relay_queue_depth', 'relay_queue_oldest_pending_age_seconds', 'relay_dead_letters', 'relay_destination_circuit_open',
  'relay_destination_paused', 'relay_spool_backlog', 'relay_spool_oldest_age_seconds', 'relay_spool_quarantined', 'relay_store_bytes',
  'relay_store_max_bytes', 'relay_store_full',
];

function attempt(id: string, dest: string, outcome: AttemptRecord['outcome'], latencyMs: number): AttemptRecord {
  return { deliveryId: id, destination: dest, time: Date.now(), outcome, status: outcome === 'delivered' ? 200 : 503, latencyMs, error: null, responseExcerpt: null, location: null, detail: null, target: 'http://x/' };
}

const write = (a: AttemptRecord) => ({ kind: 'attempt' as const, attempt: a, attempts: 1, firstAttemptAt: a.time, nextAttemptAt: a.time + 1000 });

t.test('listen addresses', async (t) => {
  t.same(parseListen('127.0.0.1:9464'), { host: '127.0.0.1', port: 9464 });
  t.same(parseListen('[::1]:9464'), { host: '::1', port: 9464 });
  t.same(parseListen('localhost:1'), { host: 'localhost', port: 1 });
  for (const bad of ['9464', ':9464', '127.0.0.1', '127.0.0.1:0', '127.0.0.1:70000', 'host:port', '::1:9464']) t.equal(parseListen(bad), null, bad);
});

/**
 * `promtool check metrics` on `text` (Prometheus' own parser): parse errors
 * (exit 1) fail; lint findings (exit 3) are allowed only for prom-client's
 * default nodejs_active_*_total gauges, whose names prom-client fixes.
 */
function promtoolProblems(text: string): string[] {
  const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8', timeout: 30_000 });
  const lines = `${r.stdout}${r.stderr}`.split('\n').filter(Boolean);
  const accepted = /^nodejs_active_(handles|requests|resources)_total non-counter metrics should not have "_total" suffix$/;
  if (r.status === 0 || (r.status === 3 && lines.every((l) => accepted.test(l)))) return [];
  return [`exit ${r.status}`, ...lines];
}

/** Family name → type, from the # TYPE lines. */
function families(text: string): Map<string, string> {
  return new Map([...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => [m[1], m[2]]));
}

t.test('attempt counters: from start on, incremental, cumulative buckets', async (t) => {
  const store = openStore(join(tempDir(t), 'relay.db'));
  t.teardown(() => store.close());
  enqueue(store, items([makeEvent('e1'), makeEvent('e2'), makeEvent('e3')], ['ci']));
  const id = (e: string) => deliveryIdFor(e, 'ci', 0);
  applyQueueWrites(store, [write(attempt(id('e1'), 'ci', 'retry', 3000))]);
  const stats = new AttemptStats(store);
  stats.update();
  t.same(stats.outcomes(['ci']).map((o) => o.value), [0, 0, 0], 'attempts before the daemon started are not counted');
  applyQueueWrites(store, [write(attempt(id('e1'), 'ci', 'delivered', 20)), write(attempt(id('e2'), 'ci', 'retry', 700))]);
  stats.update();
  applyQueueWrites(store, [write(attempt(id('e3'), 'ci', 'dead', 70_000))]);
  stats.update();
  stats.update();
  t.same(stats.outcomes().map((o) => `${o.destination}/${o.outcome}=${o.value}`), ['ci/delivered=1', 'ci/retry=1', 'ci/dead=1']);
  const [h] = stats.latency();
  t.equal(h.count, 3);
  t.equal(h.sum, 70.72);
  t.equal(h.counts[LATENCY_BUCKETS.indexOf(0.025)], 1);
  t.equal(h.counts[LATENCY_BUCKETS.indexOf(1)], 2);
  t.equal(h.counts[LATENCY_BUCKETS.length - 1], 2, 'the 70 s attempt is only in +Inf');
});

t.test('renderMetrics names every documented family; /metrics and /healthz over HTTP', async (t) => {
  const dir = tempDir(t);
  const config = defaultConfig({ node: 'n1', store: { path: join(dir, 'relay.db') }, spool: { dir: join(dir, 'spool') }, destinations: [{ name: 'ci', type: 'http', url: 'http://127.0.0.1:9/x' }] });
  const store = openStore(config.store.path);
  t.teardown(() => store.close());
  enqueue(store, items([makeEvent('e1')], ['ci']), Date.now() - 90_000);
  const attempts = new AttemptStats(store);
  applyQueueWrites(store, [write(attempt(deliveryIdFor('e1', 'ci', 0), 'ci', 'retry', 40))]);
  const counters = { events: 4, unmatched: 1, analysisErrors: 0, recordFailures: 2, reloads: 1, reloadFailures: 1 };
  let full = false;
  const report = async (): Promise<StatusReport> => {
    const r = collectStatus({ config, store, live: { pid: 1, startedAt: Date.now() - 1000, version: 'x', counters, storeFull: full, workers: [], intake: { backlog: 0, oldestAgeMs: null, quarantined: 0, running: 0, retrying: 0, beingWritten: 0, stuck: 0, paused: full, processed: 4 } } });
    return r;
  };
  const text = await new RelayMetrics(attempts).render(await report(), counters);
  for (const name of DOCUMENTED) t.match(text, new RegExp(`^# TYPE ${name} (counter|gauge|histogram)$`, 'm'), `${name} is exported`);
  t.match(text, /^relay_queue_depth\{destination="ci"\} 1$/m);
  t.match(text, /^relay_queue_oldest_pending_age_seconds\{destination="ci"\} (8|9)\d\.\d+$/m);
  t.match(text, /^relay_deliveries_total\{destination="ci",outcome="retry"\} 1$/m);
  t.match(text, /^relay_config_reloads_total\{result="rejected"\} 1$/m);

  const server = await startMetricsServer({ listen: { host: '127.0.0.1', port: 0 }, report, counters: () => counters, attempts, log: silentLog });
  t.teardown(() => server.close());
  const base = `http://127.0.0.1:${server.address.port}`;
  const m = await fetch(`${base}/metrics`);
  t.equal(m.status, 200);
  t.equal(m.headers.get('content-type'), 'text/plain; version=0.0.4; charset=utf-8');
  const scraped = await m.text();
  t.match(scraped, /relay_events_total 4/);
  t.same(promtoolProblems(scraped), [], 'promtool parses /metrics');
  t.equal(promtoolProblems(`${scraped}relay_broken{ 1\n`)[0], 'exit 1', 'the same check rejects a malformed line');
  const types = families(scraped);
  for (const name of DOCUMENTED) t.ok(types.has(name), `${name} in the scrape`);
  t.equal(types.get('relay_attempt_duration_seconds'), 'histogram');
  t.equal(types.get('relay_deliveries_total'), 'counter');
  for (const name of ['process_resident_memory_bytes', 'process_cpu_seconds_total', 'nodejs_eventloop_lag_seconds', 'nodejs_gc_duration_seconds', 'nodejs_heap_size_used_bytes']) {
    t.ok(types.has(name), `default metric ${name}`);
  }
  t.match(scraped, /^process_resident_memory_bytes (\d{7,})$/m, 'resident memory of this process, in bytes');
  const ok = await fetch(`${base}/healthz`);
  t.equal(ok.status, 200);
  t.equal(await ok.text(), 'ok\n');
  full = true;
  const sick = await fetch(`${base}/healthz`);
  t.equal(sick.status, 503);
  t.equal(await sick.text(), 'unhealthy\n- store is full: intake paused (store.maxBytes)\n');
  t.equal((await fetch(`${base}/other`)).status, 404);
  t.equal((await fetch(`${base}/metrics`, { method: 'POST' })).status, 405);

  const blocker = http.createServer();
  await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise<void>((r) => blocker.close(() => r())));
  const port = (blocker.address() as AddressInfo).port;
  await t.rejects(startMetricsServer({ listen: { host: '127.0.0.1', port }, report, counters: () => counters, attempts: null, log: silentLog }),
    { message: `cannot listen on metrics.listen 127.0.0.1:${port} (EADDRINUSE): another process uses that port` });
});

t.test('wiring metrics: ref changes by source, repositories whose changes only reconciliation found', async (t) => {
  const dir = tempDir(t);
  const config = defaultConfig({ node: 'n1', store: { path: join(dir, 'relay.db') }, spool: { dir: join(dir, 'spool') }, destinations: [] });
  const store = openStore(config.store.path);
  t.teardown(() => store.close());
  const counters = { events: 4, unmatched: 0, analysisErrors: 0, recordFailures: 0, reloads: 0, reloadFailures: 0 };
  const refChanges = { hook: 5, hookScript: 2, reconciled: 0 };
  const report = (): StatusReport =>
    collectStatus({ config, store, live: { pid: 1, startedAt: Date.now() - 1000, version: 'x', counters, storeFull: false, workers: [], intake: null, wiring: { lastSweep: null, reconciledSinceStart: 0, refChanges, hookScripts: null } } });
  let text = await new RelayMetrics(null).render(report(), counters);
  t.match(text, /^# TYPE relay_ref_changes_total counter$/m);
  t.match(text, /^relay_ref_changes_total\{source="hook"\} 5$/m);
  t.match(text, /^relay_ref_changes_total\{source="hook_script"\} 2$/m);
  t.match(text, /^relay_ref_changes_total\{source="reconciled"\} 0$/m, 'every source present from the start, so increase() works');
  t.match(text, /^relay_reconciled_only_repositories 0$/m);
  const put = store.db.prepare(`INSERT INTO ref_updates (repo_path, ref, before, after, event_id, source, time) VALUES (?, ?, ?, ?, NULL, ?, ?)`);
  put.run('/r/a.git', 'refs/heads/main', 'a'.repeat(40), 'b'.repeat(40), 'reconciled', Date.now() - 60_000);
  put.run('/r/a.git', 'refs/heads/dev', 'a'.repeat(40), 'c'.repeat(40), 'reconciled', Date.now() - 60_000);
  put.run('/r/b.git', 'refs/heads/main', 'a'.repeat(40), 'd'.repeat(40), 'reconciled', Date.now() - 2 * 86_400_000);
  put.run('/r/c.git', 'refs/heads/main', 'a'.repeat(40), 'e'.repeat(40), 'hook', Date.now() - 60_000);
  refChanges.reconciled = 2;
  text = await new RelayMetrics(null).render(report(), counters);
  t.match(text, /^relay_ref_changes_total\{source="reconciled"\} 2$/m);
  t.match(text, /^relay_reconciled_only_repositories 1$/m, 'a.git only: b.git is older than 24 h, c.git came through the hook');
  t.same(promtoolProblems(text), [], 'promtool parses it');
  const down = await new RelayMetrics(null).render(collectStatus({ config, store, live: null }), null);
  t.notMatch(down, /relay_ref_changes_total/, 'no since-start counts without a live daemon');
});

t.test('health: what makes the daemon unhealthy (and what does not)', async (t) => {
  const base = collectStatus({ config: defaultConfig(), store: null, storeError: null, spool: { ok: true, stats: { backlog: 3, oldestAgeMs: 400_000, quarantined: 0, temporary: 0, incoming: '/x', quarantine: '/y' } } });
  t.same(healthOf(base), { healthy: false, reasons: ['spool backlog of 3, oldest 6m 40s'] });
  t.same(healthOf(base, 600_000), { healthy: true, reasons: [] }, 'within the threshold');
  const dead = { ...base, intake: { ...base.intake, oldestAgeMs: null }, destinations: [{ ...({} as StatusReport['destinations'][number]), name: 'ci', dead: 5, state: 'circuit-open' as const }] };
  t.equal(healthOf(dead).healthy, true, 'destination trouble is not daemon ill-health');
});
