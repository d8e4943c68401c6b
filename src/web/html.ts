// HTML building blocks of the web pages: escaping and the shared page frame.
// Pages are plain server-rendered HTML (tables and forms work without
// JavaScript); the only script is the charts page's, served from /static.

/** Escape text for HTML content and attribute values. */
export function esc(value: unknown): string {
  return String(value ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** A query string from the non-empty values. */
export function query(params: Record<string, string | number | undefined | null>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
}

/** The navigation tabs. */
export type Tab = 'overview' | 'charts' | 'deliveries';

/** A whole page: header with the node name, tabs, then `body`. */
export function page(options: { title: string; node: string; tab: Tab | null; body: string; charts?: boolean }): string {
  const tab = (id: Tab, href: string, label: string): string => `<a href="${href}"${options.tab === id ? ' aria-current="page"' : ''}>${label}</a>`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(options.title)} · bitbucket-relay on ${esc(options.node)}</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/static/relay.css">
${options.charts ? '<link rel="stylesheet" href="/static/uPlot.min.css">\n<script src="/static/uPlot.iife.min.js" defer></script>\n<script src="/static/charts.js" defer></script>' : ''}
</head>
<body>
<header><span class="brand">bitbucket-relay</span> <span class="node">${esc(options.node)}</span>
<nav>${tab('overview', '/', 'Overview')}${tab('charts', '/charts', 'Charts')}${tab('deliveries', '/deliveries', 'Deliveries')}</nav>
<span class="ro">read-only</span></header>
<main>
${options.body}
</main>
</body>
</html>
`;
}

/** A table: headers, then rows of already-escaped cells. */
export function table(headers: string[], rows: string[][], options: { id?: string; empty?: string; numeric?: number[] } = {}): string {
  const num = new Set(options.numeric ?? []);
  const cls = (i: number): string => (num.has(i) ? ' class="num"' : '');
  if (rows.length === 0) return `<p class="empty">${esc(options.empty ?? 'nothing to show')}</p>`;
  return `<table${options.id ? ` id="${options.id}"` : ''}>
<thead><tr>${headers.map((h, i) => `<th${cls(i)}>${esc(h)}</th>`).join('')}</tr></thead>
<tbody>
${rows.map((r) => `<tr>${r.map((c, i) => `<td${cls(i)}>${c}</td>`).join('')}</tr>`).join('\n')}
</tbody>
</table>`;
}

/** A state as a coloured badge. */
export function badge(state: string): string {
  const tone =
    state === 'ok' || state === 'delivered'
      ? 'good'
      : state === 'retrying' || state === 'pending' || state === 'in_flight' || state === 'retry' || state === 'paused'
        ? 'warn'
        : state === 'disabled' || state === 'removed' || state === 'dropped'
          ? 'dim'
          : 'bad';
  return `<span class="badge ${tone}">${esc(state)}</span>`;
}

/** A timestamp cell: ISO in the title, readable UTC text shown. */
export function time(ms: number | string | null | undefined): string {
  if (ms === null || ms === undefined) return '-';
  const d = new Date(ms);
  if (Number.isNaN(d.getTime())) return '-';
  const iso = d.toISOString();
  return `<time datetime="${iso}">${iso.slice(0, 19).replace('T', ' ')}Z</time>`;
}
