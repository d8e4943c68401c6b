// The pages' stylesheet and the charts page's script, kept as strings so the
// compiled build (dist/) serves them without a file lookup. uPlot itself is
// read from node_modules (a production dependency) by web-server.ts.

/** /static/relay.css */
export const RELAY_CSS = `
:root { --fg: #1d2330; --muted: #5d6678; --line: #dde1e8; --bg: #fff; --head: #f4f6f9; --good: #1a7f37; --warn: #9a6700; --bad: #c62828; --link: #0b57d0; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); background: var(--bg); }
header { display: flex; align-items: center; gap: 16px; padding: 10px 24px; background: #23304a; color: #fff; }
header .brand { font-weight: 600; }
header .node { color: #b8c4da; }
header nav { display: flex; gap: 4px; margin-left: 16px; }
header nav a { color: #dfe6f3; text-decoration: none; padding: 4px 10px; border-radius: 4px; }
header nav a[aria-current=page] { background: #3d5078; color: #fff; }
header .ro { margin-left: auto; font-size: 12px; color: #b8c4da; }
main { padding: 12px 24px 32px; max-width: 1400px; }
h1 { font-size: 20px; margin: 8px 0 12px; }
h2 { font-size: 15px; margin: 20px 0 8px; }
a { color: var(--link); }
code, pre { font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: 12.5px; }
pre { background: var(--head); border: 1px solid var(--line); padding: 8px 10px; overflow-x: auto; max-height: 420px; margin: 0; white-space: pre-wrap; word-break: break-all; }
td pre { max-height: 120px; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 5px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { background: var(--head); font-weight: 600; white-space: nowrap; }
td.num, th.num { text-align: right; }
td small { color: var(--muted); }
.badge { display: inline-block; padding: 0 7px; border-radius: 9px; font-size: 12px; font-weight: 600; white-space: nowrap; }
.badge.good { background: #dcf3e1; color: var(--good); }
.badge.warn { background: #fdf0cf; color: var(--warn); }
.badge.bad { background: #fde0e0; color: var(--bad); }
.badge.dim { background: #eceff3; color: var(--muted); }
.verdict { font-size: 16px; font-weight: 600; padding: 8px 12px; border-radius: 6px; display: inline-block; margin: 0; }
.verdict.good { background: #dcf3e1; color: var(--good); }
.verdict.bad { background: #fde0e0; color: var(--bad); }
a.bad, .bad { color: var(--bad); font-weight: 600; }
.warn { color: var(--warn); }
ul#attention li { color: var(--bad); margin: 3px 0; }
.attention-box { border: 1px solid #f3b4b4; border-left: 4px solid var(--bad); background: #fff6f6; padding: 6px 12px 10px; margin: 0 0 10px; border-radius: 4px; }
.attention-box p { margin: 4px 0 8px; }
.attention-box table { width: auto; min-width: 40%; background: var(--bg); }
h2.bad .badge { vertical-align: 1px; margin-left: 6px; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 4px 16px; margin: 0; }
dl.facts dt { color: var(--muted); }
dl.facts dd { margin: 0; }
.empty, .hint { color: var(--muted); }
form.filters { display: flex; flex-wrap: wrap; gap: 8px 14px; align-items: end; margin-bottom: 12px; padding: 10px; background: var(--head); border: 1px solid var(--line); border-radius: 6px; }
form.filters label { display: flex; flex-direction: column; font-size: 12px; color: var(--muted); }
form.filters input, form.filters select { font: inherit; padding: 3px 6px; min-width: 120px; }
form.filters button { font: inherit; padding: 4px 14px; }
.pager { text-align: right; }
.ranges a { font-size: 14px; font-weight: normal; margin-left: 8px; }
.ranges a[aria-current=page] { font-weight: 700; text-decoration: none; color: var(--fg); }
#charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(580px, 1fr)); gap: 4px 24px; }
section.chart h2 { margin-top: 10px; }
.plot { min-height: 200px; }
`;

/** /static/charts.js: fetch the series and draw them with uPlot (loaded before it). */
export const CHARTS_JS = `'use strict';
(function () {
  var root = document.getElementById('charts');
  if (!root || typeof uPlot === 'undefined') return;
  var range = root.getAttribute('data-range') || '1h';
  var status = document.getElementById('chart-status');
  var palette = ['#0b57d0', '#c62828', '#1a7f37', '#9a6700', '#7b1fa2', '#00838f', '#5d4037', '#ad1457'];
  function plot(el, times, series, unit, dots) {
    var names = Object.keys(series);
    var data = [times].concat(names.map(function (n) { return series[n]; }));
    var points = 0;
    names.forEach(function (n) { series[n].forEach(function (v) { if (v !== null && v > 0) points++; }); });
    el.setAttribute('data-points', String(points));
    var opts = {
      width: Math.max(320, el.clientWidth || 560),
      height: 200,
      scales: { x: { time: true } },
      axes: [{}, { label: unit, size: 56 }],
      series: [{}].concat(names.map(function (n, i) {
        return { label: n, stroke: palette[i % palette.length], width: 1.5, spanGaps: false, points: { show: !!dots, size: 5 } };
      })),
    };
    el.textContent = '';
    new uPlot(opts, data, el);
  }
  fetch('/api/charts?range=' + encodeURIComponent(range), { credentials: 'same-origin' })
    .then(function (r) { if (!r.ok) throw new Error('HTTP ' + r.status); return r.json(); })
    .then(function (d) {
      plot(document.getElementById('delivered'), d.times, d.delivered, '/min');
      plot(document.getElementById('failed'), d.times, d.failed, '/min');
      plot(document.getElementById('p50'), d.times, d.p50, 'ms', true);
      plot(document.getElementById('p95'), d.times, d.p95, 'ms', true);
      plot(document.getElementById('queue'), d.times, d.queue, 'queued', true);
      plot(document.getElementById('pushes'), d.times, { pushes: d.pushes }, '/min');
      root.setAttribute('data-ready', '1');
      if (status) status.textContent = d.complete ? 'Buckets of ' + (d.stepSeconds / 60) + ' min; rates are per minute.' : 'Still reading the attempts log: the older part of the range is incomplete.';
    })
    .catch(function (e) { if (status) status.textContent = 'Cannot load the chart data: ' + e.message; });
})();
`;
