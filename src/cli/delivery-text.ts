// How deliveries print: the table `relay deliveries` and `relay dlq list`
// share, and their stable JSON form (times as ISO 8601 strings).

import type { DeliverySummary } from '../store/index.ts';
import type { Style } from './style.ts';
import { formatAge, formatTimestamp, renderTable, truncate, type Column } from './table.ts';

/** A delivery as `--json` prints it (keys documented in docs/operations.md). */
export interface DeliveryJson {
  id: string;
  eventId: string;
  destination: string;
  repo: string;
  label: string;
  state: DeliverySummary['state'];
  attempts: number;
  createdAt: string;
  nextAttemptAt: string | null;
  firstAttemptAt: string | null;
  lastAttemptAt: string | null;
  lastStatus: number | null;
  lastError: string | null;
  deliveredAt: string | null;
  bodyBytes: number;
  bodyPruned: boolean;
}

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

/** The stable JSON form of a delivery summary. */
export function deliveryJson(d: DeliverySummary): DeliveryJson {
  const queued = d.state === 'pending' || d.state === 'in_flight';
  return {
    id: d.id,
    eventId: d.eventId,
    destination: d.destination,
    repo: d.repoKey,
    label: d.label,
    state: d.state,
    attempts: d.attempts,
    createdAt: new Date(d.createdAt).toISOString(),
    nextAttemptAt: queued ? iso(d.nextAttemptAt) : null,
    firstAttemptAt: iso(d.firstAttemptAt),
    lastAttemptAt: iso(d.lastAttemptAt),
    lastStatus: d.lastStatus,
    lastError: d.lastError,
    deliveredAt: iso(d.deliveredAt),
    bodyBytes: d.bodyBytes,
    bodyPruned: d.bodyPruned,
  };
}

/** How much of a body `relay show` and the web page print unless asked for all of it. */
export const BODY_PREVIEW = 16 * 1024;

/** A stored body as printed: JSON indented (unless `raw`), cut after BODY_PREVIEW characters (unless `full`). */
export function bodyText(body: string, options: { full?: boolean; raw?: boolean } = {}): string {
  let text = body;
  if (!options.raw) {
    try {
      text = JSON.stringify(JSON.parse(body), null, 2);
    } catch {
      /* not JSON: as is */
    }
  }
  if (!options.full && text.length > BODY_PREVIEW) {
    const rest = text.length - BODY_PREVIEW;
    text = `${text.slice(0, BODY_PREVIEW)}\n… ${rest} more characters (--full shows all)`;
  }
  return text;
}

/** Colour a delivery state. */
export function stateWord(state: string, style: Style): string {
  if (state === 'delivered') return style.green(state);
  if (state === 'dead') return style.red(state);
  if (state === 'pending' || state === 'in_flight') return style.yellow(state);
  return style.dim(state);
}

/** What happened last: HTTP status and/or error, and when the next try is due. */
export function lastOutcome(d: DeliverySummary, now: number): string {
  const parts: string[] = [];
  if (d.lastStatus !== null) parts.push(`HTTP ${d.lastStatus}`);
  if (d.lastError && !(d.lastStatus !== null && d.lastError === `HTTP ${d.lastStatus}`)) parts.push(truncate(d.lastError, 48));
  if ((d.state === 'pending' || d.state === 'in_flight') && d.attempts > 0) parts.push(`next ${formatAge(d.nextAttemptAt, now)}`);
  if (d.attempts === 0 && d.state === 'pending') parts.push('not tried yet');
  return parts.join(', ') || '-';
}

/** Deliveries as an aligned table, newest first as given. Ids are shortened unless `wide`. */
export function deliveriesTable(list: readonly DeliverySummary[], style: Style, now: number, wide = false): string {
  const columns: Column[] = [
    { header: 'CREATED' },
    { header: 'ID' },
    { header: 'DESTINATION' },
    { header: 'REPO' },
    { header: 'LABEL' },
    { header: 'STATE' },
    { header: 'TRIES', align: 'right' },
    { header: 'LAST' },
  ];
  const rows = list.map((d) => [
    formatTimestamp(d.createdAt),
    wide ? d.id : d.id.slice(0, 8),
    d.destination,
    d.repoKey,
    truncate(d.label, wide ? 200 : 32),
    stateWord(d.state, style),
    String(d.attempts),
    lastOutcome(d, now),
  ]);
  return renderTable(columns, rows) + '\n';
}
