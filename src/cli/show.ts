// `relay show <delivery-id>`: one delivery in full — where it goes, the
// request as it is sent (secrets as ***), the body, and every attempt with
// its response excerpt. Any unique id prefix of 4+ characters works.

import type { ShowResult } from '../admin/control-ops.ts';
import { formatDuration } from '../config/units.ts';
import { formatTimings } from '../destinations/timings.ts';
import { parseCommand, usageError } from './args.ts';
import { EXIT, type CliIo } from './cli-io.ts';
import { bodyText, deliveryJson, stateWord } from './delivery-text.ts';
import { loadCliConfig, withTarget } from './open-target.ts';
import { styleFor, type Style } from './style.ts';
import { formatAge, formatTimestamp } from './table.ts';

const HELP = `usage: relay show <delivery-id> [--full] [--raw] [--json]

One delivery: destination, state (a queued one: when it is given up if every
try fails), request headers (secrets shown as ***), body, and every attempt
with its response: the start of the body and the headers (redacted, capped).
  <delivery-id>  the full id or a unique prefix (at least 4 characters)
  --full         the whole body (default: the first 16 KiB)
  --raw          the body byte for byte (default: JSON is indented)
  --json         JSON object (keys documented in docs/operations.md)`;

function indent(text: string, by = '  '): string {
  return text.split('\n').map((l) => by + l).join('\n');
}

/** The human-readable form of a delivery. */
export function renderShowText(r: ShowResult, style: Style, now: number, options: { full?: boolean; raw?: boolean } = {}): string {
  const d = r.delivery;
  const out: string[] = [];
  const field = (name: string, value: string): void => void out.push(`${name.padEnd(12)} ${value}`);
  field('delivery', style.bold(d.id));
  field('event', `${d.eventId} (${d.trigger}, ${formatTimestamp(d.eventTime)})`);
  field('destination', d.destination);
  field('repository', d.repoKey);
  field('label', d.label);
  let state = `${stateWord(d.state, style)} after ${d.attempts} ${d.attempts === 1 ? 'try' : 'tries'}`;
  if (d.state === 'delivered') state += ` at ${formatTimestamp(d.deliveredAt)}`;
  if ((d.state === 'pending' || d.state === 'in_flight') && d.attempts > 0) state += `, next try ${formatAge(d.nextAttemptAt, now)}`;
  if (d.state === 'pending' && d.attempts === 0) state = `${stateWord(d.state, style)}, not tried yet`;
  field('state', state);
  field('created', formatTimestamp(d.createdAt));
  if (r.giveUp) field('gives up', giveUpText(r.giveUp, now));
  out.push('', style.bold('request'));
  if (r.request) {
    out.push(`  ${r.request.target}`);
    for (const [k, v] of Object.entries(r.request.headers)) out.push(`  ${k}: ${v}`);
  } else {
    out.push(`  (destination ${d.destination} is no longer a queued destination in the config; stored format headers:)`);
    for (const [k, v] of Object.entries(d.headers)) out.push(`  ${k}: ${v}`);
  }
  out.push('', style.bold(`body (${d.bodyBytes} bytes)`));
  if (d.body === null) out.push('  (pruned by retention after delivery; the attempts below remain)');
  else {
    const text = bodyText(d.body, options);
    out.push(options.raw ? text : indent(text));
  }
  out.push('', style.bold(`attempts (${d.attemptLog.length})`));
  if (d.attemptLog.length === 0) out.push('  none yet');
  d.attemptLog.forEach((a, i) => {
    const outcome = a.outcome === 'delivered' ? style.green(a.outcome) : a.outcome === 'dead' ? style.red(a.outcome) : style.yellow(a.outcome);
    const answer = a.status !== null ? `HTTP ${a.status}` : a.outcome === 'delivered' ? 'ok' : 'no response';
    out.push(`  #${i + 1}  ${formatTimestamp(a.time)}  ${outcome}  ${answer}  ${formatDuration(a.latencyMs)}  ${a.target}`);
    if (a.detail) out.push(`      detail: ${a.detail}`);
    if (a.error) out.push(`      error: ${a.error}`);
    if (a.location) out.push(`      location: ${a.location}`);
    if (a.responseExcerpt) out.push(`      response: ${a.responseExcerpt.replace(/\n/g, '\n                ')}`);
    if (a.responseHeaders) for (const [k, v] of Object.entries(a.responseHeaders)) out.push(`      < ${k}: ${v}`);
    if (a.timings) out.push(`      timings: ${formatTimings(a.timings)}`);
  });
  return out.join('\n') + '\n';
}

/** When a queued delivery is dead-lettered if it keeps failing (the retry policy's horizon, from the first try). */
function giveUpText(g: NonNullable<ShowResult['giveUp']>, now: number): string {
  const horizon = formatDuration(g.horizonMs);
  if (g.at === null) return `${horizon} after its first try, if every try fails (retry.horizon)`;
  return `${formatTimestamp(g.at)} (${formatAge(g.at, now)}), if every try fails until then (retry.horizon ${horizon} from the first try)`;
}

/** The stable JSON form of `relay show`. */
export function showJson(r: ShowResult): unknown {
  const d = r.delivery;
  return {
    delivery: {
      ...deliveryJson(d),
      eventTime: d.eventTime,
      trigger: d.trigger,
      headers: d.headers,
      signatureHeader: d.signatureHeader,
      body: d.body,
    },
    request: r.request,
    giveUp: r.giveUp ?? null,
    attempts: d.attemptLog.map((a) => ({
      time: new Date(a.time).toISOString(),
      outcome: a.outcome,
      status: a.status,
      latencyMs: a.latencyMs,
      error: a.error,
      detail: a.detail,
      responseExcerpt: a.responseExcerpt,
      location: a.location,
      target: a.target,
      url: a.target, // the same as target; kept for scripts written when every destination was http
      responseHeaders: a.responseHeaders ?? null,
      timings: a.timings ?? null,
    })),
  };
}

/** Run `relay show`. */
export async function run(args: string[], io: CliIo): Promise<number> {
  const parsed = parseCommand('show', args, { full: { type: 'boolean' }, raw: { type: 'boolean' }, json: { type: 'boolean' } }, HELP, io, { min: 1, max: 1 });
  if (!parsed.ok) return parsed.status;
  const v = parsed.values;
  const id = parsed.positionals[0];
  if (id.length < 4) return usageError(io, 'show', `"${id}" is too short: give the full delivery id or a prefix of at least 4 characters (relay deliveries lists them)`);
  const cli = loadCliConfig(v.config, io.env, v.socket, v.timeout);
  return withTarget(io, cli, 'read', 'show', async (target) => {
    const r = await target.call<ShowResult>('show', { id: parsed.positionals[0] });
    if (v.json) io.stdout.write(JSON.stringify(showJson(r), null, 2) + '\n');
    else io.stdout.write(renderShowText(r, styleFor(io.stdout, io.env), Date.now(), { full: v.full, raw: v.raw }));
    return EXIT.ok;
  });
}
