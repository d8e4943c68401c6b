// The pages, as pure functions from the data the CLI already prints: the
// assessed status report (`relay status`), delivery summaries (`relay
// deliveries`) and the redacted show result (`relay show`). Nothing here
// reads the store or redacts: what arrives is already safe to print.

import type { ShowResult } from '../admin/control-ops.ts';
import type { DestinationReport, StatusReport } from '../admin/status-report.ts';
import { relative } from '../admin/status-report.ts';
import { describeWiring, type WiringReport } from '../admin/wiring-status.ts';
import { formatDuration, formatSize } from '../config/units.ts';
import { formatTimings } from '../destinations/timings.ts';
import { bodyText, lastOutcome } from '../cli/delivery-text.ts';
import { giveUpAt } from '../deliver/retry-policy.ts';
import type { DeliverySummary } from '../store/index.ts';
import { RANGES, type ChartRange } from './chart-series.ts';
import { badge, esc, page, query, table, time } from './html.ts';

const age = (ms: number | null): string => (ms === null ? '-' : esc(formatDuration(ms)));

function stateCell(d: DestinationReport, now: number): string {
  let s = badge(d.state);
  if (d.state === 'circuit-open' && d.nextProbeAt) s += ` <small>next probe ${esc(relative(Date.parse(d.nextProbeAt), now))}</small>`;
  if (d.dead > 0) s += ` ${badge('dead letters')}`;
  return s;
}

/**
 * The hook wiring of `relay status` (the report's `wiring`, worded by the same
 * describeWiring): how ref changes reach the relay, and, marked for attention,
 * the repositories whose changes only reconciliation found.
 */
function wiringSection(w: WiringReport | undefined): string {
  if (!w) return '';
  const d = describeWiring(w);
  const missing = w.reconciledOnly.length > 0;
  const hs = w.hookScripts;
  const scriptTone = hs?.error ? ' class="bad"' : hs && !hs.registered ? ' class="warn"' : '';
  // Repositories without the file hook are covered only if the hook script is on in every project.
  const scriptEverywhere = Boolean(hs && !hs.error && hs.registered && hs.enabledProjects === hs.projects);
  const fileTone = w.fileHooks && w.fileHooks.withHook < w.fileHooks.repositories && !scriptEverywhere ? ' class="warn"' : '';
  const rc = w.refChangesSinceStart;
  const plural = (n: number): string => `${n} ref change${n === 1 ? '' : 's'}`;
  const sinceStart = rc
    ? `<dt>since start</dt><dd id="wiring-sources">${plural(rc.hook)} from the file hook, ${plural(rc.hookScript)} from the hook script, ${rc.reconciled ? `<span class="bad">${plural(rc.reconciled)} found only by reconciliation</span>` : '0 found only by reconciliation'}</dd>`
    : '';
  const facts = `<dl class="facts" id="wiring">
<dt>file hooks</dt><dd${fileTone}>${esc(d.fileHooks)}</dd>
<dt>hook script</dt><dd${scriptTone}>${esc(d.hookScript)}${hs ? ` <small>(the daemon checked ${time(hs.checkedAt)})</small>` : ''}</dd>
<dt>reconciliation</dt><dd${w.reconcile.enabled ? '' : ' class="warn"'}>${esc(d.reconciliation)}${w.reconcile.enabled ? '' : ' (ref changes no hook reports go unnoticed)'}</dd>
${sinceStart}
</dl>`;
  const only = missing
    ? `<div class="attention-box" id="reconciled-only">
<p class="bad">${w.reconciledOnly.length} ${w.reconciledOnly.length === 1 ? 'repository' : 'repositories'} had ref changes in the last 24 h that no hook reported: the hook wiring is missing there. Run <code>relay hooks verify</code>.</p>
${table(
  ['Repository', 'Ref changes only reconciliation found (24 h)', ''],
  w.reconciledOnly.map((r) => [`<span class="bad">${esc(r.repo)}</span>`, String(r.count), `<a href="/deliveries${query({ repo: r.repo, trigger: 'reconciled' })}">deliveries</a>`]),
  { numeric: [1] },
)}
</div>`
    : '';
  return `<h2 id="wiring-title"${missing ? ' class="bad"' : ''}>Hook wiring${missing ? ' ' + badge('hook missing') : ''}</h2>
${only}
${facts}`;
}

/** `/`: the verdict and attention lines of `relay status`, then every destination, intake and store. */
export function overviewPage(report: StatusReport, options: { node: string }): string {
  const now = Date.parse(report.time);
  const { daemon, intake, store } = report;
  const verdict = report.healthy ? '<p class="verdict good" id="verdict">all good</p>' : '<p class="verdict bad" id="verdict">needs attention</p>';
  const list = (items: string[], id: string): string => (items.length ? `<ul id="${id}">${items.map((a) => `<li>${esc(a)}</li>`).join('')}</ul>` : '');
  const dests = table(
    ['Destination', 'Kind', 'Target', 'State', 'Queued', 'Oldest pending', 'Last success', 'Last error', 'OK/1h', 'Failed/1h', 'Dead'],
    report.destinations.map((d) => [
      `<a href="/deliveries${query({ destination: d.name })}">${esc(d.name)}</a>`,
      esc(d.type ?? '-'),
      `<code>${esc(d.target ?? '-')}</code>`,
      stateCell(d, now),
      String(d.queued),
      age(d.oldestPendingAgeMs),
      time(d.lastSuccessAt),
      d.lastError ? `${esc(d.lastError.length > 80 ? d.lastError.slice(0, 79) + '…' : d.lastError)} <small>(${time(d.lastErrorAt)})</small>` : '-',
      String(d.deliveredLastHour),
      String(d.failedLastHour),
      d.dead ? `<a class="bad" href="/deliveries${query({ destination: d.name, state: 'dead' })}">${d.dead}</a>` : '0',
    ]),
    { id: 'destinations', empty: 'no destinations configured', numeric: [4, 8, 9, 10] },
  );
  const storeLine = store.error
    ? `<span class="bad">${esc(store.error)}</span>`
    : `${store.bytes === null ? '?' : esc(formatSize(store.bytes))} of ${esc(formatSize(store.maxBytes))}${store.bytes !== null ? ` (${Math.round((store.bytes / store.maxBytes) * 100)} %)` : ''}${store.full ? ' <span class="bad">full: intake paused</span>' : ''}`;
  const intakeLine = intake.error
    ? `<span class="bad">${esc(intake.error)}</span>`
    : `backlog ${intake.backlog}${intake.oldestAgeMs === null ? '' : `, oldest ${age(intake.oldestAgeMs)}`}, quarantined ${intake.quarantined}${intake.paused ? ', <span class="warn">paused</span>' : ''}${intake.stuck ? `, <span class="bad">${intake.stuck} stuck</span>` : ''}`;
  const body = `
<h1>Overview</h1>
${verdict}
${report.attention.length ? `<h2>Attention</h2>${list(report.attention, 'attention')}` : ''}
${report.notes.length ? `<h2>Notes</h2>${list(report.notes, 'notes')}` : ''}
<h2>Destinations</h2>
${dests}
${wiringSection(report.wiring)}
<h2>Daemon</h2>
<dl class="facts">
<dt>daemon</dt><dd>${daemon.running ? `running, pid ${daemon.pid}, up ${age(daemon.uptimeMs)}, version ${esc(daemon.version)}` : `<span class="bad">${esc(daemon.message ?? 'not running')}</span>`}</dd>
<dt>intake</dt><dd><code>${esc(intake.spoolDir)}</code>: ${intakeLine}</dd>
<dt>store</dt><dd><code>${esc(store.path)}</code>: ${storeLine}</dd>
<dt>report</dt><dd>${time(report.time)} (<a href="/api/status">JSON</a>, the same as <code>relay status --json</code>)</dd>
</dl>`;
  return page({ title: 'Overview', node: options.node, tab: 'overview', body });
}

/** `/charts?range=`: the chart frames; charts.js fills them from /api/charts. */
export function chartsPage(range: ChartRange, options: { node: string }): string {
  const ranges = (Object.keys(RANGES) as ChartRange[])
    .map((r) => `<a href="/charts${query({ range: r })}"${r === range ? ' aria-current="page"' : ''}>${r}</a>`)
    .join(' ');
  const frame = (id: string, title: string): string => `<section class="chart"><h2>${esc(title)}</h2><div id="${id}" class="plot" data-series="${id}"></div></section>`;
  const body = `
<h1>Charts <span class="ranges">${ranges}</span></h1>
<noscript><p class="empty">The charts need JavaScript; the tables on the other pages do not. The data is at <a href="/api/charts${query({ range })}">/api/charts</a>.</p></noscript>
<div id="charts" data-range="${esc(range)}">
${frame('delivered', 'Delivered per minute, per destination')}
${frame('failed', 'Failed attempts per minute, per destination')}
${frame('p50', 'Attempt latency p50 (ms), per destination')}
${frame('p95', 'Attempt latency p95 (ms), per destination')}
${frame('queue', 'Queued deliveries (sampled each minute since the daemon started)')}
${frame('pushes', 'Pushes per minute')}
</div>
<p class="hint" id="chart-status"></p>`;
  return page({ title: 'Charts', node: options.node, tab: 'charts', body, charts: true });
}

/** Filters of the deliveries page as the form holds them (strings, empty = any). */
export interface DeliveriesForm {
  destination: string;
  state: string;
  repo: string;
  trigger: string;
  status: string;
  since: string;
  until: string;
}

/** `/deliveries`: the filter form, one page of deliveries newest first, and the link to older ones. */
export function deliveriesPage(
  list: DeliverySummary[],
  form: DeliveriesForm,
  options: { node: string; destinations: string[]; nextBefore: string | null; error: string | null; now: number },
): string {
  const select = (name: keyof DeliveriesForm, values: string[], anyLabel: string): string =>
    `<select name="${name}" id="f-${name}"><option value="">${esc(anyLabel)}</option>${values.map((v) => `<option${v === form[name] ? ' selected' : ''}>${esc(v)}</option>`).join('')}</select>`;
  const input = (name: keyof DeliveriesForm, placeholder: string, type = 'text'): string =>
    `<input type="${type}" name="${name}" id="f-${name}" value="${esc(form[name])}" placeholder="${esc(placeholder)}">`;
  const rows = list.map((d) => [
    time(d.createdAt),
    `<a href="/deliveries/${esc(d.id)}"><code>${esc(d.id.slice(0, 8))}</code></a>`,
    esc(d.destination),
    esc(d.repoKey),
    esc(d.label.length > 40 ? d.label.slice(0, 39) + '…' : d.label),
    badge(d.state),
    String(d.attempts),
    esc(lastOutcome(d, options.now)),
  ]);
  const body = `
<h1>Deliveries</h1>
<form method="get" action="/deliveries" class="filters" id="filters">
<label>Destination ${select('destination', options.destinations, 'any')}</label>
<label>State ${select('state', ['pending', 'in_flight', 'delivered', 'dead', 'dropped', 'failed'], 'any')}</label>
<label>Repository ${input('repo', 'PROJ/repo')}</label>
<label>Event ${input('trigger', 'push, merge, …')}</label>
<label>HTTP status ${input('status', '503')}</label>
<label>From ${input('since', 'YYYY-MM-DD hh:mm', 'text')}</label>
<label>To ${input('until', 'YYYY-MM-DD hh:mm', 'text')}</label>
<button type="submit">Filter</button> <a href="/deliveries">clear</a>
</form>
${options.error ? `<p class="bad" id="filter-error">${esc(options.error)}</p>` : ''}
${table(['Created', 'Id', 'Destination', 'Repository', 'Label', 'State', 'Tries', 'Last'], rows, { id: 'deliveries', empty: 'no deliveries match', numeric: [6] })}
<p class="pager">${options.nextBefore ? `<a id="older" href="/deliveries${query({ ...form, before: options.nextBefore })}">older →</a>` : ''}</p>`;
  return page({ title: 'Deliveries', node: options.node, tab: 'deliveries', body });
}

/** `/deliveries/<id>`: the request as `relay show` prints it (redacted), every attempt with its timings, and when it gives up. */
export function deliveryPage(r: ShowResult, options: { node: string; now: number; horizonMs: number | null }): string {
  const d = r.delivery;
  const queued = d.state === 'pending' || d.state === 'in_flight';
  let giveUp: string;
  if (d.state === 'delivered') giveUp = `delivered ${time(d.deliveredAt)}`;
  else if (d.state === 'dead') giveUp = `gave up ${time(d.lastAttemptAt)}`;
  else if (d.state === 'dropped') giveUp = 'dropped by an operator';
  else if (options.horizonMs === null) giveUp = 'unknown (the destination is not in the config)';
  else {
    // The one retry policy's answer (relay show prints the same time).
    const at = giveUpAt(d.firstAttemptAt, { horizonMs: options.horizonMs });
    giveUp = at === null ? `${esc(formatDuration(options.horizonMs))} after its first try` : `${time(at)} (${esc(relative(at, options.now))}), unless delivered before`;
  }
  const facts: [string, string][] = [
    ['delivery', `<code>${esc(d.id)}</code>`],
    ['event', `<code>${esc(d.eventId)}</code> (${esc(d.trigger)}, ${time(d.eventTime)})`],
    ['destination', `<a href="/deliveries${query({ destination: d.destination })}">${esc(d.destination)}</a>`],
    ['repository', esc(d.repoKey)],
    ['label', esc(d.label)],
    ['state', `${badge(d.state)} after ${d.attempts} ${d.attempts === 1 ? 'try' : 'tries'}`],
    ['created', time(d.createdAt)],
    ['first try', time(d.firstAttemptAt)],
    ['last try', time(d.lastAttemptAt)],
    ['next try', queued && d.attempts > 0 ? `${time(d.nextAttemptAt)} (${esc(relative(d.nextAttemptAt, options.now))})` : queued ? 'as soon as its lane is free' : '-'],
    ['gives up', giveUp],
  ];
  const request = r.request
    ? `<pre id="request">${esc(r.request.target)}\n${Object.entries(r.request.headers).map(([k, v]) => `${esc(k)}: ${esc(v)}`).join('\n')}</pre>`
    : `<p>(destination ${esc(d.destination)} is no longer a queued destination in the config; stored format headers:)</p><pre id="request">${Object.entries(d.headers).map(([k, v]) => `${esc(k)}: ${esc(v)}`).join('\n')}</pre>`;
  const body = d.body === null ? '<p class="empty">(pruned by retention after delivery; the attempts below remain)</p>' : `<pre id="body">${esc(bodyText(d.body))}</pre>`;
  const attempts = table(
    ['#', 'Time', 'Outcome', 'Status', 'Duration', 'Target', 'Error / response'],
    d.attemptLog.map((a, i) => [
      String(i + 1),
      time(a.time),
      badge(a.outcome),
      a.status === null ? 'no response' : `HTTP ${a.status}`,
      `<span class="timing">${esc(formatDuration(a.latencyMs))}</span>${a.timings ? `<div class="phases">${esc(formatTimings(a.timings))}</div>` : ''}`,
      `<code>${esc(a.target)}</code>`,
      [a.detail ? `<div>${esc(a.detail)}</div>` : '', a.error ? `<div>error: ${esc(a.error)}</div>` : '', a.location ? `<div>location: ${esc(a.location)}</div>` : '', a.responseExcerpt ? `<pre>${esc(a.responseExcerpt)}</pre>` : ''].join('') || '-',
    ]),
    { id: 'attempts', empty: 'no attempts yet', numeric: [0] },
  );
  const html = `
<h1>Delivery <code>${esc(d.id.slice(0, 8))}</code></h1>
<dl class="facts" id="facts">${facts.map(([k, v]) => `<dt>${esc(k)}</dt><dd>${v}</dd>`).join('')}</dl>
<h2>Request</h2>
${request}
<h2>Body (${d.bodyBytes} bytes)</h2>
${body}
<h2>Attempts (${d.attemptLog.length})</h2>
${attempts}`;
  return page({ title: `Delivery ${d.id.slice(0, 8)}`, node: options.node, tab: null, body: html });
}

/** A short error page (404, 400). */
export function messagePage(title: string, message: string, node: string): string {
  return page({ title, node, tab: null, body: `<h1>${esc(title)}</h1><p>${esc(message)}</p><p><a href="/">Overview</a></p>` });
}
