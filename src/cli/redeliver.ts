// `relay redeliver <id>` and `relay redeliver --dest D --since 2h`: send
// deliveries again (same delivery id, so consumers can de-duplicate). Bulk
// redelivery on a terminal waits and shows a progress bar until the daemon
// has sent them; Ctrl-C stops watching, not sending.

import type { ProgressSummary, RequeueSummary } from '../admin/control-ops.ts';
import { parseCommand, parseSince, usageError } from './args.ts';
import { EXIT, type CliIo } from './cli-io.ts';
import { loadCliConfig, withTarget, type CliConfig, type Target } from './open-target.ts';
import type { RedeliverState } from '../store/index.ts';
import { createProgress } from './progress.ts';

const HELP = `usage: relay redeliver <delivery-id>
       relay redeliver --dest D (--pending | --delivered | --failed ...) [--since T] [--wait | --no-wait]

Queue deliveries again; they keep their delivery id (X-Relay-Delivery), so
consumers that de-duplicate on it see a repeat, not a new event.
  <delivery-id>  one delivery, in any state (full id or unique prefix)
  --dest D       deliveries of destination D, chosen by state (one or more):
    --pending    queued ones: send now, without waiting for their retry time
                 (an open circuit probes now; same as \`relay retry --dest D\`)
    --delivered  delivered ones: send again (the receiver sees duplicates)
    --failed     dead letters: send again
  --since T      only those created since T: a duration ago (2h) or a date/time
                 (required with --delivered)
  --wait         wait until the daemon has sent them (default on a terminal, with a progress bar)
  --no-wait      return once they are queued
Exit status: 0 requeued (and, when waiting, delivered), 1 some were skipped or went dead.`;

async function sleep(ms: number, signal: { stop: boolean }): Promise<void> {
  const until = Date.now() + ms;
  while (!signal.stop && Date.now() < until) await new Promise((r) => setTimeout(r, Math.min(100, until - Date.now())));
}

/** Poll until every id is delivered, dead or dropped (or Ctrl-C); returns the last counts. */
export async function watchDeliveries(target: Target, ids: string[], io: CliIo, pollMs = 500): Promise<{ progress: ProgressSummary; interrupted: boolean }> {
  const bar = createProgress(io.stderr, { total: ids.length, label: 'sending' });
  const signal = { stop: false };
  const onInt = (): void => void (signal.stop = true);
  process.once('SIGINT', onInt);
  let last: ProgressSummary = { total: ids.length, queued: ids.length, delivered: 0, dead: 0, dropped: 0, missing: 0 };
  try {
    for (;;) {
      last = await target.call<ProgressSummary>('delivery-progress', { ids });
      const done = last.total - last.queued;
      bar.update(done, last.total, `delivered ${last.delivered}, dead ${last.dead}`);
      if (last.queued === 0 || signal.stop) break;
      await sleep(pollMs, signal);
    }
  } finally {
    bar.finish();
    process.off('SIGINT', onInt);
  }
  return { progress: last, interrupted: signal.stop && last.queued > 0 };
}

function printSkipped(io: CliIo, skipped: RequeueSummary['skipped']): void {
  for (const s of skipped.slice(0, 10)) io.stderr.write(`  skipped ${s.id}: ${s.reason}\n`);
  if (skipped.length > 10) io.stderr.write(`  … and ${skipped.length - 10} more skipped\n`);
}

/** "3 delivered, 2 dead; 8 pending made due now" from per-state counts. */
export function describeRequeue(r: RequeueSummary, states: readonly RedeliverState[]): string {
  const by = r.byState ?? {};
  const parts: string[] = [];
  if (states.includes('delivered')) parts.push(`${by.delivered ?? 0} delivered sent again`);
  if (states.includes('dead')) parts.push(`${by.dead ?? 0} dead sent again`);
  if (states.includes('pending')) parts.push(`${by.pending ?? 0} pending sent now`);
  return parts.join(', ');
}

/** Run `relay redeliver`. */
export async function run(args: string[], io: CliIo): Promise<number> {
  const parsed = parseCommand('redeliver', args, {
    dest: { type: 'string' },
    since: { type: 'string' },
    pending: { type: 'boolean' },
    delivered: { type: 'boolean' },
    failed: { type: 'boolean' },
    wait: { type: 'boolean' },
    'no-wait': { type: 'boolean' },
  }, HELP, io, { max: 1 });
  if (!parsed.ok) return parsed.status;
  const v = parsed.values;
  const [id] = parsed.positionals;
  const states: RedeliverState[] = [...(v.pending ? ['pending' as const] : []), ...(v.delivered ? ['delivered' as const] : []), ...(v.failed ? ['dead' as const] : [])];
  if (id !== undefined && (v.dest !== undefined || v.since !== undefined || states.length > 0)) return usageError(io, 'redeliver', 'give either a delivery id or --dest with --pending/--delivered/--failed, not both');
  if (id === undefined && (v.dest === undefined || states.length === 0)) {
    return usageError(io, 'redeliver', 'give a delivery id, or --dest D with which deliveries: --pending (send queued ones now), --delivered (send again; needs --since), --failed (dead letters)');
  }
  if (v.delivered && v.since === undefined) return usageError(io, 'redeliver', '--delivered sends duplicates of what receivers already have: say since when with --since (e.g. --since 2h)');
  const since = v.since === undefined ? undefined : parseSince(v.since);
  if (since === null) return usageError(io, 'redeliver', `--since "${v.since}" is neither a duration (2h) nor a date (2024-05-01)`);
  const cli = loadCliConfig(v.config, io.env, v.socket, v.timeout);
  if (v.dest !== undefined) {
    const unknown = unknownDestination(cli, v.dest);
    if (unknown) return usageError(io, 'redeliver', unknown);
  }
  return withTarget(io, cli, 'write', 'redeliver', async (target) => {
    const wait = target.kind === 'daemon' && !v['no-wait'] && (v.wait ?? Boolean(io.stderr.isTTY));
    if (id !== undefined) {
      const r = await target.call<RequeueSummary>('redeliver', { id });
      printSkipped(io, r.skipped);
      if (r.requeued === 0) {
        io.stderr.write(`relay redeliver: ${id} was not requeued\n`);
        return EXIT.attention;
      }
      io.stdout.write(`requeued ${r.ids?.[0] ?? id}${target.kind === 'local' ? '; the daemon sends it when it runs' : ''}\n`);
      return EXIT.ok;
    }
    return requeueBulk(io, target, { destination: v.dest!, since, states, wait, command: 'redeliver' });
  });
}

/** An error message when `name` is not a configured destination (null when it is, or the config is unknown). */
export function unknownDestination(cli: CliConfig, name: string): string | null {
  if (!cli.valid) return null;
  const names = cli.config.destinations.map((d) => d.name);
  return names.includes(name) ? null : `no destination named "${name}"; configured: ${names.join(', ') || 'none'}`;
}

/** Bulk requeue of a destination (redeliver --dest, retry --dest): print what was selected, optionally wait for the sends. */
export async function requeueBulk(
  io: CliIo,
  target: Target,
  o: { destination: string; since?: number; states: RedeliverState[]; wait: boolean; command: string },
): Promise<number> {
  const r = await target.call<RequeueSummary>('redeliver', { destination: o.destination, since: o.since, states: o.states, withIds: o.wait });
  printSkipped(io, r.skipped);
  const when = o.since === undefined ? '' : ` created since ${new Date(o.since).toISOString()}`;
  io.stdout.write(`${o.destination}${when}: ${describeRequeue(r, o.states)}${r.skipped.length ? `, skipped ${r.skipped.length}` : ''}${target.kind === 'local' ? '; the daemon sends them when it runs' : ''}\n`);
  if (!o.wait || !r.ids || r.ids.length === 0) return r.skipped.length ? EXIT.attention : EXIT.ok;
  const { progress, interrupted } = await watchDeliveries(target, r.ids, io);
  io.stdout.write(`sent: ${progress.delivered} delivered, ${progress.dead} dead${progress.queued ? `, ${progress.queued} still queued` : ''}\n`);
  if (interrupted) io.stdout.write('stopped watching; the rest stays queued in the daemon (relay status)\n');
  return progress.dead > 0 || r.skipped.length > 0 ? EXIT.attention : EXIT.ok;
}
