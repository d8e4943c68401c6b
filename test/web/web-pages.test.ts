// The web pages without a browser, over a real store and real HTTP: the
// deliveries filters and page cursor, chart series from the attempts log
// (buckets, percentiles, rows added later, events), auth (bearer, basic,
// unreadable file), the config check for a non-loopback bind, read-only
// methods, escaping and security headers, uPlot served from the process.

import t from 'tap';
import http from 'node:http';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { openStore, type Store } from '../../src/store/store.ts';
import { enqueue } from '../../src/store/enqueue.ts';
import { applyQueueWrites, type AttemptRecord } from '../../src/store/queue.ts';
import { deliveryIdFor } from '../../src/route/delivery-id.ts';
import { listDeliveries } from '../../src/store/queries.ts';
import { defaultConfig } from '../../src/config/load-config.ts';
import { silentLog } from '../../src/log/logger.ts';
import { runControlOp, type OpsContext, type ShowResult } from '../../src/admin/control-ops.ts';
import { assessStatus, collectStatus, type StatusReport } from '../../src/admin/status-report.ts';
import { overviewPage } from '../../src/web/pages.ts';
import { renderWiring } from '../../src/admin/wiring-status.ts';
import type { DeliverySummary } from '../../src/store/index.ts';
import { ChartSeries } from '../../src/web/chart-series.ts';
import { isLoopbackHost, loadWebAuth } from '../../src/web/web-auth.ts';
import { filterFromForm, parseFormTime, webHandler, PAGE_SIZE } from '../../src/web/web-server.ts';
import { webConfigProblem, webStatusLine } from '../../src/web/web-service.ts';
import { items, makeEvent, tempDir } from '../deliver/fixtures.ts';

function attempt(id: string, dest: string, time: number, outcome: AttemptRecord['outcome'], status: number | null, latencyMs: number): AttemptRecord {
  return { deliveryId: id, destination: dest, time, outcome, status, latencyMs, error: status === null ? 'ECONNREFUSED' : null, detail: null, responseExcerpt: null, location: null, target: 'http://x/' };
}
const write = (a: AttemptRecord) => ({ kind: 'attempt' as const, attempt: a, attempts: 1, firstAttemptAt: a.time, nextAttemptAt: a.time + 60_000 });

t.test('form values: times, states, statuses', async (t) => {
  const now = Date.parse('2026-11-30T12:00:00Z');
  t.equal(parseFormTime('2026-11-30 10:30', now), Date.parse('2026-11-30T10:30:00Z'), 'UTC when no zone');
  t.equal(parseFormTime('2026-11-29', now), Date.parse('2026-11-29T00:00:00Z'));
  t.equal(parseFormTime('2h', now), now - 7_200_000, 'a duration means that long ago');
  t.equal(parseFormTime('yesterday', now), null);
  const ok = filterFromForm({ destination: 'ci', state: 'failed', repo: 'P/r', trigger: 'push', status: '503', since: '1d', until: '' }, now);
  t.same(ok, { filter: { destination: 'ci', failed: true, repo: 'P/r', trigger: 'push', status: 503, since: now - 86_400_000 }, error: null });
  const bad = filterFromForm({ destination: '', state: 'gone', repo: '', trigger: '', status: '5xx', since: 'soon', until: '' }, now);
  t.match(bad.error, /state "gone" is not one of .*; HTTP status "5xx" is not a number from 100 to 599; "soon" is not a time/);
});

/** ci: 120 deliveries over 2 repos, one a minute; every 10th failed with 503, every 30th dead. */
function seed(store: Store, now: number): string[] {
  const ids: string[] = [];
  for (let i = 0; i < 120; i++) {
    const e = makeEvent(`e${i}`, { slug: i % 2 ? 'odd' : 'even' });
    enqueue(store, items([e], ['ci']), now - (120 - i) * 60_000);
    ids.push(deliveryIdFor(`e${i}`, 'ci', 0));
  }
  applyQueueWrites(store, ids.map((id, i) => write({
    ...attempt(id, 'ci', now - (120 - i) * 60_000 + 1000, i % 30 === 0 ? 'dead' : i % 10 === 0 ? 'retry' : 'delivered', i % 30 === 0 ? 400 : i % 10 === 0 ? 503 : 200, i % 10 === 0 ? 900 : 40),
    // got's timings of an attempt (the http sender records them).
    timings: i === 10 ? { dnsMs: 1, tcpMs: 2, tlsMs: 3, firstByteMs: 880, totalMs: 890, reused: false } : i === 11 ? { dnsMs: null, tcpMs: null, tlsMs: null, firstByteMs: 30, totalMs: 31, reused: true } : null,
  })));
  return ids;
}

t.test('deliveries: filters and the page cursor over a real store', async (t) => {
  const store = openStore(join(tempDir(t), 'relay.db'));
  t.teardown(() => store.close());
  const now = Date.now();
  const ids = seed(store, now);
  const pages: DeliverySummary[][] = [];
  let before: string | undefined;
  for (;;) {
    const rows = listDeliveries(store, { before, limit: 51 });
    pages.push(rows.slice(0, 50));
    if (rows.length <= 50) break;
    before = rows[49].id;
  }
  t.same(pages.map((p) => p.length), [50, 50, 20]);
  const all = pages.flat().map((d) => d.id);
  t.equal(new Set(all).size, 120, 'no delivery twice');
  t.same(all, [...ids].reverse(), 'newest first across pages');
  t.equal(listDeliveries(store, { status: 503, limit: 500 }).length, 8, 'last HTTP status 503 (i % 10 == 0, not % 30)');
  t.equal(listDeliveries(store, { status: 400, repo: 'PROJ/even', limit: 500 }).length, 4);
  t.equal(listDeliveries(store, { trigger: 'push', limit: 500 }).length, 120);
  const failed = listDeliveries(store, { failed: true, limit: 500 });
  t.same(failed.map((d) => d.state).sort(), [...new Array(4).fill('dead'), ...new Array(8).fill('pending')], 'failed: dead, or queued after a failed try (the partial index)');
  t.same(failed.map((d) => d.id), [...failed].sort((a, b) => b.createdAt - a.createdAt).map((d) => d.id), 'newest first');
  t.equal(listDeliveries(store, { failed: true, before: failed[5].id, limit: 500 }).length, 6);
  t.equal(listDeliveries(store, { trigger: 'merge', limit: 500 }).length, 0);
  t.equal(listDeliveries(store, { since: now - 30 * 60_000, until: now - 10 * 60_000, limit: 500 }).length, 20);
});

t.test('chart series: buckets, percentiles, rows added later, pushes, 7 days by the hour', async (t) => {
  const store = openStore(join(tempDir(t), 'relay.db'));
  t.teardown(() => store.close());
  const now = Date.now();
  const ids = seed(store, now);
  const charts = new ChartSeries(store, () => now);
  await charts.load();
  const h = charts.data('1h', ['ci', 'jira']);
  t.equal(h.times.length, 60);
  t.same(h.destinations, ['ci', 'jira']);
  t.ok(h.complete);
  const sum = (xs: number[]) => Math.round(xs.reduce((a, b) => a + b, 0));
  // The last hour's buckets hold the attempts of the last ~60 minutes: 1 a minute.
  t.ok(sum(h.delivered.ci) + sum(h.failed.ci) >= 59 && sum(h.delivered.ci) + sum(h.failed.ci) <= 61, `${sum(h.delivered.ci) + sum(h.failed.ci)} attempts in the last hour`);
  t.same(h.delivered.jira, new Array(60).fill(0), 'a configured destination without attempts has zeros');
  const d = charts.data('24h');
  // Rates are per minute, averaged over 10-minute buckets: ×10 gives the counts back.
  const total = (xs: number[]) => sum(xs.map((x) => x * 10));
  t.equal(total(d.delivered.ci), 120 - 12, 'delivered');
  t.equal(total(d.failed.ci), 12, 'failed (retry and dead)');
  const p50s = d.p50.ci.filter((x): x is number => x !== null);
  const p95s = d.p95.ci.filter((x): x is number => x !== null);
  // A bucket at the range's edge may hold a single (900 ms) attempt; every full one has a p50 of 40 ms.
  t.ok(p50s.filter((x) => x >= 40 && x <= 50).length >= p50s.length - 1, `p50 near 40 ms (bucket bound within 25 %): ${p50s}`);
  t.ok(p95s.some((x) => x >= 900 && x <= 1125), 'p95 of a bucket with a 900 ms attempt');
  t.equal(total(d.pushes), 120, 'one push a minute');
  const w = charts.data('7d');
  t.equal(w.times.length, 168);
  t.equal(sum(w.delivered.ci.map((x) => x * 60)), 108, 'hour buckets hold the same attempts');

  // Rows written after the load are taken in at the next request.
  enqueue(store, items([makeEvent('late')], ['ci']), now - 500);
  applyQueueWrites(store, [write(attempt(deliveryIdFor('late', 'ci', 0), 'ci', now - 400, 'delivered', 200, 10))]);
  const after = charts.data('24h');
  t.equal(total(after.delivered.ci), 109);
  t.equal(total(after.pushes), 121, 'the last 2 s of pushes count at once');
  charts.sampleQueue();
  t.ok(charts.data('1h').queue.ci.some((x) => x !== null), 'queue sampled');
  t.equal(ids.length, 120);
});

t.test('auth and the bind check', async (t) => {
  const dir = tempDir(t);
  for (const h of ['127.0.0.1', '127.8.9.1', '::1', 'localhost']) t.ok(isLoopbackHost(h), h);
  for (const h of ['0.0.0.0', '::', '10.0.0.5', 'relay.example.com']) t.notOk(isLoopbackHost(h), h);
  const file = join(dir, 'auth');
  writeFileSync(file, 'admin:pa ss:word\n');
  const basic = loadWebAuth({ type: 'basic', file });
  t.ok(basic.allows(`Basic ${Buffer.from('admin:pa ss:word').toString('base64')}`));
  t.ok(basic.allows(`basic   ${Buffer.from('admin:pa ss:word').toString('base64')}`), 'scheme is case-insensitive');
  t.notOk(basic.allows(`Basic ${Buffer.from('admin:wrong').toString('base64')}`));
  t.notOk(basic.allows(undefined));
  writeFileSync(file, 'tok123\n');
  const bearer = loadWebAuth({ type: 'bearer', file });
  t.ok(bearer.allows('Bearer tok123'));
  t.notOk(bearer.allows('Bearer tok1234'));
  t.throws(() => loadWebAuth({ type: 'basic', file }), { message: `web.auth.file ${file}: basic auth needs one line "user:password"` });
  writeFileSync(file, '\n');
  t.throws(() => loadWebAuth({ type: 'bearer', file }), { message: `web.auth.file ${file} is empty; put the token in it` });
  t.throws(() => loadWebAuth({ type: 'bearer', file: join(dir, 'missing') }), /cannot read it \(ENOENT\)/);

  const open = defaultConfig({ web: { listen: '0.0.0.0:9464' } } as never);
  t.match(webConfigProblem(open), /^web\.listen 0\.0\.0\.0:9464 is not a loopback address and web\.auth is not set: refusing/);
  t.match(webStatusLine(open), /^off: /);
  const authed = defaultConfig({ web: { listen: '0.0.0.0:9464', auth: { type: 'bearer', file } } } as never);
  t.equal(webConfigProblem(authed), null);
  t.equal(webStatusLine(authed), 'http://0.0.0.0:9464/ (bearer auth)');
  t.equal(webStatusLine(defaultConfig({ web: { listen: '[::1]:9464' } } as never)), 'http://[::1]:9464/');
  t.equal(webStatusLine(defaultConfig()), null, 'off when unset');
  t.match(webConfigProblem(defaultConfig({ web: { listen: 'nine' } } as never)), /is not host:port/);
});

t.test('overview: the hook wiring of relay status, escaped; reconciled-only repositories marked for attention', async (t) => {
  const dir = tempDir(t);
  const config = defaultConfig({ store: { path: join(dir, 'relay.db') }, spool: { dir: join(dir, 'spool') }, destinations: [] } as never);
  const store = openStore(config.store.path);
  t.teardown(() => store.close());
  const live = {
    pid: 1, startedAt: Date.now() - 60_000, version: 'x', storeFull: false, workers: [], intake: null,
    counters: { events: 3, unmatched: 0, analysisErrors: 0, recordFailures: 0, reloads: 0, reloadFailures: 0 },
    wiring: { lastSweep: { at: Date.now() - 1000, durationMs: 12, repositories: 2 }, reconciledSinceStart: 0, refChanges: { hook: 2, hookScript: 1, reconciled: 0 }, hookScripts: null },
  };
  const build = (): StatusReport => assessStatus(collectStatus({ config, store, live }));
  const quiet = build();
  let html = overviewPage(quiet, { node: 'n1' });
  t.match(html, /<h2 id="wiring-title">Hook wiring<\/h2>/, 'no attention styling while every change came through a hook');
  t.notMatch(html, /id="reconciled-only"/);
  t.match(html, /<dt>file hooks<\/dt><dd>not counted \(bitbucket\.home not set\)<\/dd>/);
  t.match(html, /<dt>hook script<\/dt><dd>not checked \(needs bitbucket\.api and hooks\.autoInstall\)<\/dd>/);
  t.match(html, /<dt>reconciliation<\/dt><dd>on, last sweep \S+ \(2 repositories, 12 ms\)<\/dd>/);
  t.match(html, /2 ref changes from the file hook, 1 ref change from the hook script, 0 found only by reconciliation/);
  // Each phrase is the status screen's.
  for (const line of renderWiring(quiet.wiring!)) t.ok(html.includes(line.replace(/^\s*(wiring)?\s+[a-z ]+: /, '')), `same words as relay status: ${line.trim()}`);

  // A change only reconciliation found, in a repository whose name carries markup.
  store.db.prepare(`INSERT INTO ref_updates (repo_path, ref, before, after, event_id, source, time) VALUES (?, 'refs/heads/main', ?, ?, NULL, 'reconciled', ?)`)
    .run('/srv/<b>evil</b>.git', 'a'.repeat(40), 'b'.repeat(40), Date.now() - 5000);
  live.wiring.refChanges.reconciled = 1;
  const missing = build();
  t.equal(missing.healthy, false);
  html = overviewPage(missing, { node: 'n1' });
  t.match(html, /<h2 id="wiring-title" class="bad">Hook wiring <span class="badge bad">hook missing<\/span><\/h2>/);
  t.match(html, /<div class="attention-box" id="reconciled-only">/);
  t.match(html, /1 repository had ref changes in the last 24 h that no hook reported/);
  t.match(html, /<span class="bad">\/srv\/&lt;b&gt;evil&lt;\/b&gt;\.git<\/span><\/td><td class="num">1<\/td>/);
  t.match(html, /href="\/deliveries\?repo=%2Fsrv%2F%3Cb%3Eevil%3C%2Fb%3E\.git&amp;trigger=reconciled"|href="\/deliveries\?repo=%2Fsrv%2F%3Cb%3Eevil%3C%2Fb%3E.git&trigger=reconciled"/);
  t.notMatch(html, /<b>evil/, 'markup comes out as text');
  t.match(html, /<span class="bad">1 ref change found only by reconciliation<\/span>/);
  t.match(html, /<li>\/srv\/&lt;b&gt;evil&lt;\/b&gt;\.git: 1 ref change arrived only through reconciliation/, 'and the attention line of relay status');

  // Repositories without the file hook: marked unless the hook script is enabled in every project.
  const partial = { ...quiet.wiring!, fileHooks: { withHook: 3, repositories: 5 } };
  t.match(overviewPage({ ...quiet, wiring: partial }, { node: 'n1' }), /<dt>file hooks<\/dt><dd class="warn">in 3 of 5 repositories<\/dd>/);
  const scripts = { enabledProjects: 4, projects: 4, registered: true, checkedAt: Date.now(), error: null };
  html = overviewPage({ ...quiet, wiring: { ...partial, hookScripts: scripts } }, { node: 'n1' });
  t.match(html, /<dt>file hooks<\/dt><dd>in 3 of 5 repositories<\/dd>/);
  t.match(html, /<dt>hook script<\/dt><dd>enabled in 4 of 4 projects <small>\(the daemon checked <time datetime="[^"]+">[^<]+<\/time>\)<\/small><\/dd>/);
  html = overviewPage({ ...quiet, wiring: { ...partial, hookScripts: { ...scripts, error: 'HTTP 401 <token>' } } }, { node: 'n1' });
  t.match(html, /<dt>hook script<\/dt><dd class="bad">unknown \(HTTP 401 &lt;token&gt;\) <small>/);
  t.match(html, /<dd class="warn">in 3 of 5/);

  const off = assessStatus(collectStatus({ config: { ...config, reconcile: { ...config.reconcile, enabled: false } }, store: null, live: null }));
  html = overviewPage(off, { node: 'n1' });
  t.match(html, /<dd class="warn">off \(ref changes no hook reports go unnoticed\)<\/dd>/);
  t.notMatch(html, /id="wiring-sources"/, 'no counts without a running daemon');
});

t.test('over HTTP: read-only, auth, escaping, headers, uPlot, paging links, 404', async (t) => {
  const dir = tempDir(t);
  const config = defaultConfig({ node: 'n<1>', store: { path: join(dir, 'relay.db') }, spool: { dir: join(dir, 'spool') }, destinations: [{ name: 'ci', type: 'http', url: 'http://127.0.0.1:9/x?token=tok-SECRET-1' }] } as never);
  const store = openStore(config.store.path);
  t.teardown(() => store.close());
  const ids = seed(store, Date.now());
  // A label with markup must come out as text.
  store.db.prepare('UPDATE deliveries SET label = ? WHERE id = ?').run('<script>alert(1)</script>', ids[119]);
  const ctx = (): OpsContext => ({ store, config });
  const charts = new ChartSeries(store);
  await charts.load();
  const tokenFile = join(dir, 'tok');
  writeFileSync(tokenFile, 'T0KEN');
  const handler = webHandler({
    node: () => config.node,
    report: async () => assessStatus((await runControlOp(ctx(), 'status', {})) as StatusReport),
    deliveries: async (f) => (await runControlOp(ctx(), 'deliveries', f)) as DeliverySummary[],
    show: async (id) => {
      try {
        return (await runControlOp(ctx(), 'show', { id })) as ShowResult;
      } catch {
        return null;
      }
    },
    destinations: () => ['ci'],
    horizonMs: () => 3_600_000,
    charts,
  }, { auth: loadWebAuth({ type: 'bearer', file: tokenFile }), log: silentLog });
  const server = http.createServer((req, res) => {
    if (!handler(req, res)) res.writeHead(404).end('other');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise<void>((r) => server.close(() => r())));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const get = (p: string, init: RequestInit = {}) => fetch(base + p, { ...init, headers: { authorization: 'Bearer T0KEN', ...(init.headers as Record<string, string>) } });

  t.equal((await fetch(`${base}/`)).status, 401);
  t.equal((await get('/deliveries', { method: 'POST' })).status, 405);
  t.equal((await get('/metrics')).status, 404, 'not a web path: left to the metrics server');
  const list = await get('/deliveries');
  t.equal(list.status, 200);
  t.match(list.headers.get('content-security-policy'), /default-src 'none'; script-src 'self'/);
  t.equal(list.headers.get('cache-control'), 'no-store');
  const html = await list.text();
  t.notMatch(html, /<script>alert/);
  t.match(html, /&lt;script&gt;alert\(1\)&lt;\/script&gt;/);
  t.match(html, /<span class="node">n&lt;1&gt;<\/span>/);
  t.equal((html.match(/<tr><td><time/g) ?? []).length, PAGE_SIZE);
  const older = /id="older" href="([^"]+)"/.exec(html)![1].replace(/&amp;/g, '&');
  const page2 = await (await get(older)).text();
  t.equal((page2.match(/<tr><td><time/g) ?? []).length, PAGE_SIZE);
  t.notOk(page2.includes(`/deliveries/${ids[119]}"`), 'page 2 starts after page 1');
  const bad = await get('/deliveries?status=abc');
  t.equal(bad.status, 400);
  t.match(await bad.text(), /HTTP status &quot;abc&quot; is not a number/);
  const one = await (await get(`/deliveries/${ids[10]}`)).text();
  t.match(one, /<pre id="request">POST http/);
  t.notMatch(one, /tok-SECRET-1/);
  t.match(one, /HTTP 503/);
  t.match(one, /<div class="phases">dns 1ms · tcp 2ms · tls 3ms · first byte 880ms · total 890ms<\/div>/, "the attempt's per-phase timings");
  t.match(await (await get(`/deliveries/${ids[11]}`)).text(), /<div class="phases">reused connection · first byte 30ms · total 31ms<\/div>/, 'a reused connection has no connection phases');
  t.notMatch(await (await get(`/deliveries/${ids[12]}`)).text(), /class="phases"/, 'no timings, no line');
  t.match(one, /<dt>gives up<\/dt><dd><time/);
  t.equal((await get('/deliveries/ffffffff-0000')).status, 404);
  const uplot = await get('/static/uPlot.iife.min.js');
  t.equal(uplot.status, 200);
  t.match(await uplot.text(), /uPlot/);
  const overview = await (await get('/')).text();
  t.match(overview, /needs attention/);
  t.match(overview, /ci: 4 dead letters/);
  t.notMatch(overview, /tok-SECRET-1/);
  t.equal((await get('/charts?range=2d')).status, 400);
  const data = await (await get('/api/charts?range=24h')).json();
  t.same(data.destinations, ['ci']);
});
