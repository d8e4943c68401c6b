// The web pages in a real browser (Debian's chromium driven by
// puppeteer-core) against a real daemon with real deliveries from real
// pushes: one receiver answers 200, one 503 (retrying, then circuit open), one
// 400 (dead letters). The overview shows each destination's state, a chart has
// data points, the filter narrows the list, a delivery page shows timings and
// *** in place of the secrets, no console errors (auth and the refused bind:
// web-auth.test.ts). Hook wiring, in a Bitbucket home laid out as Data Center
// does: PROJ/app is pushed through our file hook (one push as Bitbucket runs
// the hook script: BB_HOOK_TYPE set), PROJ/web has no hook of ours, so only
// reconciliation finds its push: the overview shows the wiring lines of
// `relay status` and marks PROJ/web.
// RELAY_SCREENSHOTS=docs/images saves the three pages at 1280×800.

import t from 'tap';
import net from 'node:net';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { createRelayFixture, waitUntil, HOOK_PATH } from '../helpers/relay-fixture.ts';
import { makeFakeBitbucketHome } from '../install/fake-bitbucket.ts';
import { repositoriesDir, repositoryHookPaths } from '../../src/install/bitbucket-layout.ts';
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
  // tracker and portal take PROJ/app only: the hook-less change of PROJ/web goes to ci alone.
  const appOnly = { repos: ['PROJ/app'] };
  const fx = createRelayFixture({ prefix: 'relay-web-' });
  t.teardown(() => fx.cleanup());
  // A Bitbucket home as Data Center lays it out: PROJ/app has our file hook in
  // post-receive.d, PROJ/web does not (removed), so only reconciliation sees its pushes.
  const { home } = makeFakeBitbucketHome(fx.root, [{ id: '1', projectKey: 'PROJ', slug: 'app' }, { id: '2', projectKey: 'PROJ', slug: 'web' }]);
  const bare = (id: string): string => path.join(repositoriesDir(home), id);
  copyFileSync(HOOK_PATH, repositoryHookPaths(bare('1')).hookFile);
  chmodSync(repositoryHookPaths(bare('1')).hookFile, 0o755);
  const repo = fx.createRepo('app');
  repo.git(['remote', 'set-url', 'origin', bare('1')]);
  const web = fx.createRepo('web');
  web.git(['remote', 'set-url', 'origin', bare('2')]);
  fx.writeConfig({
    node: 'bb-prod-1',
    web: { listen: `127.0.0.1:${port}` },
    metrics: { listen: `127.0.0.1:${port}` },
    bitbucket: { home },
    // A generous grace: on a loaded machine a hook's record may lag its ref update; PROJ/app must never look hook-less.
    reconcile: { interval: '300ms', grace: '3s' },
    destinations: [
      { name: 'ci', type: 'http', url: ok.url + '/hook', secret: SIGNING, retry: fast },
      { name: 'tracker', type: 'http', url: `${failing.url}/hook?token=${URL_TOKEN}`, retry: fast, match: appOnly },
      { name: 'portal', type: 'http', url: rejecting.url + '/hook', auth: { bearer: BEARER }, retry: fast, match: appOnly },
    ],
  });
  // PROJ/web's main as the daemon first sees it.
  web.commit('index.html', '<h1>v1</h1>\n', 'site v1');
  web.push(['origin', 'main']);
  const daemon = await fx.startDaemon();
  await daemon.waitForLog((l) => l.message === 'web pages listening');
  await waitUntil(() => (daemon.logLines().filter((l) => l.message === 'reconciliation sweep').reduce((n, l) => n + l.firstSight, 0) >= 2 ? true : null), 'both repositories seen');
  for (let i = 0; i < 3; i++) {
    repo.commit(`f${i}.txt`, `v${i}`, `change ${i}`);
    repo.push(['origin', 'main']);
  }
  repo.git(['checkout', '-q', '-b', 'feature']);
  repo.commit('g.txt', 'x', 'feature work');
  // Through the same hook as Bitbucket runs its hook script: BB_* environment.
  repo.push(['origin', 'feature'], { BB_HOOK_TYPE: 'POST', BB_HOOK_TRIGGER_ID: 'push', BB_PROJECT_KEY: 'PROJ', BB_REPO_SLUG: 'app' });
  // A push to PROJ/web: Bitbucket's trampoline runs, but our hook is gone; only reconciliation can find it.
  web.commit('index.html', '<h1>v2</h1>\n', 'site v2');
  web.push(['origin', 'main']);
  await ok.waitFor(5);
  await rejecting.waitFor(4);
  // tracker keeps failing until its circuit opens.
  await failing.waitFor(6);
  const base = `http://127.0.0.1:${port}`;
  await waitUntil(async () => {
    const s = await (await fetch(`${base}/api/status`)).json();
    const by = Object.fromEntries(s.destinations.map((d: any) => [d.name, d]));
    return by.portal.dead === 4 && by.tracker.state === 'circuit-open' && by.ci.state === 'ok' && s.wiring.reconciledOnly.length === 1;
  }, 'portal dead ×4, tracker circuit open, ci ok, PROJ/web reconciled');

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

  t.test('overview: hook wiring as relay status says it; the hook-less repository marked for attention', async (t) => {
    await page.goto(`${base}/`, { waitUntil: 'load' });
    t.match(await page.$eval('#wiring-title', (e) => e.className), /\bbad\b/, 'the section heading is marked');
    t.match(await page.$eval('#wiring-title .badge', (e) => e.textContent), 'hook missing');
    const box = await page.$eval('#reconciled-only', (e) => ({ text: e.textContent!, border: getComputedStyle(e).borderLeftColor, color: getComputedStyle(e.querySelector('p')!).color }));
    t.equal(box.border, 'rgb(198, 40, 40)', 'a red attention box');
    t.equal(box.color, 'rgb(198, 40, 40)');
    t.match(box.text, /1 repository had ref changes in the last 24 h that no hook reported/);
    const rows = await page.$$eval('#reconciled-only tbody tr', (trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent!.trim())));
    t.same(rows, [['PROJ/web', '1', 'deliveries']], 'PROJ/web only: every change of PROJ/app came through a hook');
    const facts = await page.$eval('#wiring', (e) => e.textContent!);
    t.match(facts, /file hooksin 1 of 2 repositories/);
    t.equal(await page.$eval('#wiring dd', (e) => e.className), 'warn', 'a repository without the file hook and no hook script: marked');
    t.match(facts, /hook scriptnot checked \(needs bitbucket\.api and hooks\.autoInstall\)/);
    t.match(facts, /reconciliationon, last sweep \S+ \(2 repositories, \d+ ms\)/);
    t.match(await page.$eval('#wiring-sources', (e) => e.textContent), '3 ref changes from the file hook, 1 ref change from the hook script, 1 ref change found only by reconciliation');
    t.equal(await page.$eval('#wiring-sources .bad', (e) => getComputedStyle(e).color), 'rgb(198, 40, 40)');
    const attention = await page.$$eval('#attention li', (lis) => lis.map((l) => l.textContent));
    t.ok(attention.includes('PROJ/web: 1 ref change arrived only through reconciliation in the last 24 h: its hook wiring is missing; run `relay hooks verify`'), 'the attention line of relay status');

    // The same operation as the CLI: `relay status` prints the same wiring words and list.
    const cli = fx.relay(['status', '--json']);
    const wiring = JSON.parse(cli.stdout).wiring;
    t.same(wiring.reconciledOnly, [{ repo: 'PROJ/web', count: 1 }]);
    t.same(wiring.refChangesSinceStart, { hook: 3, hookScript: 1, reconciled: 1 });
    const screen = fx.relay(['status']).stdout;
    for (const [label, re] of [['file hooks', /file hooks: (.+)/], ['hook script', /hook script: (.+)/]] as const) {
      const said = re.exec(screen)?.[1];
      t.ok(said && facts.includes(`${label}${said}`), `${label}: "${said}" as relay status prints it`);
    }
    // The sweep time moves on between the two reads; the rest of the line is the same.
    t.match(screen, /reconciliation: on, last sweep \S+ \(2 repositories, \d+ ms\), 1 ref changes relayed since start/);

    // Its link lists that repository's reconciled deliveries.
    await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), page.click('#reconciled-only tbody a')]);
    t.match(page.url(), /repo=PROJ%2Fweb&trigger=reconciled/);
    const listed = await page.$$eval('#deliveries tbody tr', (trs) => trs.map((tr) => [tr.children[2].textContent, tr.children[3].textContent]));
    t.same(listed, [['ci', 'PROJ/web']]);

    // /metrics says the same: the counter by source and the gauge the alert rules read.
    const metrics = await (await fetch(`${base}/metrics`)).text();
    t.match(metrics, /^relay_ref_changes_total\{source="hook"\} 3$/m);
    t.match(metrics, /^relay_ref_changes_total\{source="hook_script"\} 1$/m);
    t.match(metrics, /^relay_ref_changes_total\{source="reconciled"\} 1$/m);
    t.match(metrics, /^relay_reconciled_only_repositories 1$/m);
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
