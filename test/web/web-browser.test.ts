// The web pages in a real browser (Debian's chromium driven by
// puppeteer-core) against a real daemon with real deliveries from real
// pushes: one receiver answers 200, one 503 (retrying, then circuit open), one
// 400 (dead letters). The overview shows each destination's state, a chart has
// data points, the filter narrows the list, a delivery page shows timings and
// *** in place of the secrets, no console errors (auth and the refused bind:
// web-auth.test.ts).
// RELAY_SCREENSHOTS=docs/images saves the three pages at 1280×800.

import t from 'tap';
import net from 'node:net';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { createRelayFixture, waitUntil } from '../helpers/relay-fixture.ts';
import { startReceiver } from '../helpers/receiver.ts';
import { openStore } from '../../src/store/store.ts';

const CHROMIUM = '/usr/bin/chromium';
const BEARER = 'portal-bearer-SECRET-77';
const URL_TOKEN = 'tracker-url-SECRET-88';
const SIGNING = 'ci-signing-SECRET-99';

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

t.test('web pages in chromium against a daemon with real deliveries', async (t) => {
  const ok = await startReceiver();
  const failing = await startReceiver({ respond: () => ({ status: 503, body: 'maintenance' }) });
  const rejecting = await startReceiver({ respond: () => ({ status: 400, body: '{"error":"unknown project"}' }) });
  t.teardown(() => Promise.all([ok.close(), failing.close(), rejecting.close()]));
  const port = await freePort();
  const fast = { baseDelay: '50ms', maxDelay: '200ms', horizon: '1h' };
  const fx = createRelayFixture({
    prefix: 'relay-web-',
    config: {
      node: 'bb-prod-1',
      web: { listen: `127.0.0.1:${port}` },
      metrics: { listen: `127.0.0.1:${port}` },
      destinations: [
        { name: 'ci', type: 'http', url: ok.url + '/hook', secret: SIGNING, retry: fast },
        { name: 'tracker', type: 'http', url: `${failing.url}/hook?token=${URL_TOKEN}`, retry: fast },
        { name: 'portal', type: 'http', url: rejecting.url + '/hook', auth: { bearer: BEARER }, retry: fast },
      ],
    },
  });
  t.teardown(() => fx.cleanup());
  const daemon = await fx.startDaemon();
  await daemon.waitForLog((l) => l.message === 'web pages listening');
  const repo = fx.createRepo('app');
  for (let i = 0; i < 3; i++) {
    repo.commit(`f${i}.txt`, `v${i}`, `change ${i}`);
    repo.push(['origin', 'main']);
  }
  repo.git(['checkout', '-q', '-b', 'feature']);
  repo.commit('g.txt', 'x', 'feature work');
  repo.push(['origin', 'feature']);
  await ok.waitFor(4);
  await rejecting.waitFor(4);
  // tracker keeps failing until its circuit opens.
  await failing.waitFor(6);
  const base = `http://127.0.0.1:${port}`;
  await waitUntil(async () => {
    const s = await (await fetch(`${base}/api/status`)).json();
    const by = Object.fromEntries(s.destinations.map((d: any) => [d.name, d]));
    return by.portal.dead === 4 && by.tracker.state === 'circuit-open' && by.ci.state === 'ok';
  }, 'portal dead ×4, tracker circuit open, ci ok');

  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'relay-chromium-'));
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
  const browser: Browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', `--user-data-dir=${dataDir}`, '--no-first-run', '--disable-gpu'],
  });
  t.teardown(() => browser.close());
  const page: Page = await browser.newPage();
  await page.setViewport({ width: 1280, height: 800 });
  const problems: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${(e as Error).message}`));
  page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()}`));
  const shots = process.env.RELAY_SCREENSHOTS ? path.resolve(process.env.RELAY_SCREENSHOTS) : null;
  if (shots) mkdirSync(shots, { recursive: true });
  const shot = async (name: string): Promise<void> => {
    if (shots) await page.screenshot({ path: path.join(shots, name) as `${string}.png` });
  };

  t.test('overview: verdict, attention and each destination state', async (t) => {
    const res = await page.goto(`${base}/`, { waitUntil: 'load' });
    t.equal(res?.status(), 200);
    t.equal(await page.$eval('#verdict', (e) => e.textContent), 'needs attention');
    const rows = await page.$$eval('#destinations tbody tr', (trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent!.trim())));
    const by = Object.fromEntries(rows.map((r) => [r[0], r]));
    t.same(Object.keys(by).sort(), ['ci', 'portal', 'tracker']);
    t.match(by.ci[3], /^ok/);
    t.match(by.tracker[3], /^circuit-open next probe/);
    t.match(by.portal[3], /dead letters/);
    t.equal(by.portal[10], '4', 'dead letters column');
    t.match(by.tracker[2], /token=\*\*\*/, 'target redacted');
    const attention = await page.$$eval('#attention li', (lis) => lis.map((l) => l.textContent));
    t.ok(attention.some((a) => /portal: 4 dead letters/.test(a!)), 'the attention line of relay status');
    t.ok(attention.some((a) => /tracker: circuit open/.test(a!)));
    t.notMatch(await page.content(), URL_TOKEN);
    await shot('web-overview.png');
  });

  t.test('charts: data points drawn by uPlot', async (t) => {
    await page.goto(`${base}/charts?range=1h`, { waitUntil: 'load' });
    await page.waitForSelector('#charts[data-ready="1"]', { timeout: 15_000 });
    const delivered = Number(await page.$eval('#delivered', (e) => e.getAttribute('data-points')));
    const failed = Number(await page.$eval('#failed', (e) => e.getAttribute('data-points')));
    const pushes = Number(await page.$eval('#pushes', (e) => e.getAttribute('data-points')));
    t.ok(delivered > 0, `delivered chart has ${delivered} points`);
    t.ok(failed > 0, `failed chart has ${failed} points`);
    t.ok(pushes > 0, `pushes chart has ${pushes} points`);
    t.equal(await page.$$eval('#delivered canvas', (c) => c.length), 1, 'uPlot drew a canvas');
    await shot('web-charts.png');
  });

  t.test('deliveries: the filter narrows the list; a delivery page shows timings and *** for secrets', async (t) => {
    await page.goto(`${base}/deliveries`, { waitUntil: 'load' });
    const all = await page.$$eval('#deliveries tbody tr', (trs) => trs.map((tr) => tr.children[2].textContent));
    t.ok(all.length >= 12, `${all.length} deliveries listed`);
    t.same(new Set(all), new Set(['ci', 'tracker', 'portal']));
    await page.select('#f-destination', 'portal');
    await page.select('#f-state', 'dead');
    await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), page.click('#filters button[type=submit]')]);
    t.match(page.url(), /destination=portal/);
    const filtered = await page.$$eval('#deliveries tbody tr', (trs) => trs.map((tr) => [tr.children[2].textContent, tr.children[5].textContent]));
    t.equal(filtered.length, 4);
    t.ok(filtered.every(([d, s]) => d === 'portal' && s === 'dead'));
    await shot('web-deliveries.png');

    await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), page.click('#deliveries tbody tr a')]);
    const request = await page.$eval('#request', (e) => e.textContent!);
    t.match(request, /^POST http:\/\/127\.0\.0\.1:\d+\/hook/);
    t.match(request, /Authorization: \*\*\*/i, 'bearer shown as ***');
    const timings = await page.$$eval('#attempts .timing', (els) => els.map((e) => e.textContent));
    t.equal(timings.length, 1);
    t.match(timings[0]!, /^\d+(ms|s)/);
    const facts = await page.$eval('#facts', (e) => e.textContent!);
    t.match(facts, /gives upgave up/);
    t.match(await page.$eval('#attempts', (e) => e.textContent!), /HTTP 400/);
    t.match(await page.$eval('#attempts', (e) => e.textContent!), /unknown project/);
    await shot('web-delivery.png');
    const html = await page.content();
    for (const s of [BEARER, URL_TOKEN, SIGNING]) t.notOk(html.includes(s), 'no secret in the page');

    // The oldest tracker delivery heads its lane: retrying, so it tells when it gives up.
    await page.goto(`${base}/deliveries?destination=tracker`, { waitUntil: 'load' });
    await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), page.click('#deliveries tbody tr:last-child a')]);
    t.match(await page.$eval('#facts', (e) => e.textContent!), /gives up\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ \(in \d+m( \d+s)?\), unless delivered before/);
    t.match(await page.$eval('#request', (e) => e.textContent!), /token=\*\*\*/);
  });

  t.test('no console errors', async (t) => {
    t.same(problems, [], 'no console errors, page errors or failed requests');
  });

  t.test('the store has the index migration the pages rely on', async (t) => {
    const store = openStore(fx.storePath, { readOnly: true });
    t.teardown(() => store.close());
    const names = (store.db.prepare(`SELECT name FROM sqlite_master WHERE type = 'index'`).all() as { name: string }[]).map((r) => r.name);
    for (const n of ['deliveries_repo', 'deliveries_status', 'attempts_time']) t.ok(names.includes(n), n);
  });
});
