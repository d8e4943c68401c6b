// config/monitoring: the alert rules pass `promtool check rules` and their
// unit tests (`promtool test rules`: each alert fires on the series meant to
// trigger it and not before); every metric the rules and the Grafana
// dashboard use exists in a live /metrics scrape of a real daemon that made
// real deliveries; the dashboard takes its data source as a variable.

import t from 'tap';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { parse } from 'yaml';
import { createRelayFixture, waitUntil } from '../helpers/relay-fixture.ts';
import { startReceiver } from '../helpers/receiver.ts';

const DIR = path.resolve(import.meta.dirname, '..', '..', 'config', 'monitoring');
const RULES = path.join(DIR, 'relay-alerts.yml');
const DASHBOARD = path.join(DIR, 'grafana-dashboard.json');
/** Series Prometheus itself makes for every target. */
const SYNTHETIC = new Set(['up']);
const PROMQL_WORDS = new Set(['sum', 'max', 'min', 'by', 'on', 'and', 'or', 'unless', 'rate', 'increase', 'time', 'histogram_quantile', 'le', 'job', 'instance', 'destination', 'outcome', 'source', 'without', 'ignoring']);

/** Metric names an expression reads (identifiers that are not functions, keywords or label names). */
function metricsIn(expr: string): string[] {
  const noStrings = expr.replace(/"[^"]*"/g, '""').replace(/\{[^}]*\}/g, '{}').replace(/\[[^\]]*\]/g, '[]');
  return [...noStrings.matchAll(/\b([a-zA-Z_:][a-zA-Z0-9_:]*)\b/g)].map((m) => m[1]).filter((w) => !PROMQL_WORDS.has(w) && !/^\d/.test(w));
}

function promtool(args: string[]): { status: number | null; out: string } {
  const r = spawnSync('promtool', args, { cwd: DIR, encoding: 'utf8', timeout: 30_000 });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

t.test('promtool check rules and the rules unit tests', async (t) => {
  const check = promtool(['check', 'rules', RULES]);
  t.equal(check.status, 0, check.out);
  t.match(check.out, /SUCCESS: 7 rules found/);
  const unit = promtool(['test', 'rules', 'relay-alerts.test.yml']);
  t.equal(unit.status, 0, unit.out);
  t.match(unit.out, /SUCCESS/);
  const names = parse(readFileSync(RULES, 'utf8')).groups[0].rules.map((r: { alert: string }) => r.alert);
  t.same(names, ['RelayDown', 'RelayCircuitOpen', 'RelayDeadLetters', 'RelaySpoolBacklog', 'RelayStoreNearlyFull', 'RelayNoPushes', 'RelayHookWiringMissing']);
});

t.test('the dashboard imports anywhere: data source, job and instance are variables', async (t) => {
  const dash = JSON.parse(readFileSync(DASHBOARD, 'utf8'));
  const vars = Object.fromEntries(dash.templating.list.map((v: any) => [v.name, v]));
  t.equal(vars.datasource.type, 'datasource');
  t.equal(vars.datasource.query, 'prometheus');
  t.ok(vars.job && vars.instance);
  const ids = dash.panels.map((p: any) => p.id);
  t.equal(new Set(ids).size, ids.length, 'panel ids are unique');
  for (const p of dash.panels) {
    t.equal(p.datasource.uid, '${datasource}', `${p.title}: data source variable`);
    for (const target of p.targets) {
      t.equal(target.datasource.uid, '${datasource}');
      t.match(target.expr, /job=~"\$job", instance=~"\$instance"/, `${p.title}: scoped to $job/$instance`);
    }
  }
  t.notMatch(JSON.stringify(dash), /"uid":\s*"(?!\$\{datasource\}|bitbucket-relay")[^"]+"/, 'no hard-coded data source uid');
});

t.test('every metric the rules and the dashboard use is in a live /metrics scrape', async (t) => {
  const receiver = await startReceiver({ respond: (r) => (r.n === 1 ? { status: 503 } : undefined) });
  t.teardown(() => receiver.close());
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  const fx = createRelayFixture({
    prefix: 'relay-mon-',
    config: {
      metrics: { listen: `127.0.0.1:${port}` },
      destinations: [{ name: 'ci', type: 'http', url: receiver.url + '/hook', retry: { baseDelay: '20ms', maxDelay: '50ms', horizon: '1h' } }],
    },
  });
  t.teardown(() => fx.cleanup());
  await fx.startDaemon();
  const repo = fx.createRepo('app');
  repo.commit('a.txt', 'a', 'first');
  repo.push(['origin', 'main']);
  await receiver.waitFor(2);
  // Samples, not just families: the histogram and the per-destination counters have rows.
  const scrape = await waitUntil(async () => {
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    return /relay_deliveries_total\{[^}]*outcome="delivered"[^}]*\} 1/.test(text) ? text : null;
  }, 'a delivered attempt in /metrics');
  const exported = new Set(scrape.split('\n').filter((l) => l && !l.startsWith('#')).map((l) => l.split(/[{ ]/)[0]));

  const rules = parse(readFileSync(RULES, 'utf8')).groups.flatMap((g: any) => g.rules.map((r: any) => r.expr as string));
  const dash = JSON.parse(readFileSync(DASHBOARD, 'utf8'));
  const exprs = [...rules, ...dash.panels.flatMap((p: any) => p.targets.map((x: any) => x.expr as string)), ...dash.templating.list.filter((v: any) => v.definition).map((v: any) => v.definition.replace(/^label_values\(/, '').replace(/,\s*\w+\)$/, ''))];
  const used = new Set(exprs.flatMap(metricsIn));
  t.ok(used.size >= 15, `${used.size} metric names used`);
  for (const name of [...used].sort()) {
    if (SYNTHETIC.has(name)) continue;
    t.ok(exported.has(name), `${name} is in /metrics`);
  }
});
