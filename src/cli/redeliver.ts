// `relay redeliver <id>` and `relay redeliver --dest D --since 2h`: send
// deliveries again (same delivery id, so consumers can de-duplicate). Bulk
// redelivery on a terminal waits and shows a progress bar until the daemon
// has sent them; Ctrl-C stops watching, not sending.

import type { ProgressSummary, RequeueSummary } from '../admin/control-ops.ts';
import { parseCommand, parseSince, usageError } from './args.ts';
import { EXIT, type CliIo } from './cli-io.ts';
import { loadCliConfig, withTarget, type Target } from './open-target.ts';
import { createProgress } from './progress.ts';
import { plural } from './table.ts';

const HELP = `usage: relay redeliver <delivery-id>
       relay redeliver --dest D --since T [--wait | --no-wait]

Queue deliveries again; they keep their delivery id (X-Relay-Delivery), so
consumers that de-duplicate on it see a repeat, not a new event.
  <delivery-id>  one delivery, in any state (full id or unique prefix)
  --dest D       every delivered or dead delivery of destination D …
  --since T      … created since T: a duration ago (2h) or a date/time
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

/** Run `relay redeliver`. */
export async function run(args: string[], io: CliIo): Promise<number> {
  const parsed = parseCommand('redeliver', args, {
    dest: { type: 'string' },
    since: { type: 'string' },
    wait: { type: 'boolean' },
    'no-wait': { type: 'boolean' },
  }, HELP, io, { max: 1 });
  if (!parsed.ok) return parsed.status;
  const v = parsed.values;
  const [id] = parsed.positionals;
  if (id !== undefined && (v.dest !== undefined || v.since !== undefined)) return usageError(io, 'redeliver', 'give either a delivery id or --dest with --since, not both');
  if (id === undefined && (v.dest === undefined || v.since === undefined)) {
    return usageError(io, 'redeliver', 'give a delivery id, or --dest D with --since T (e.g. --dest ci --since 2h) to choose which deliveries to send again');
  }
  const since = v.since === undefined ? undefined : parseSince(v.since);
  if (since === null) return usageError(io, 'redeliver', `--since "${v.since}" is neither a duration (2h) nor a date (2024-05-01)`);
  const cli = loadCliConfig(v.config, io.env, v.socket, v.timeout);
  return withTarget(io, cli, 'write', 'redeliver', async (target) => {
    const wait = target.kind === 'daemon' && !v['no-wait'] && (v.wait ?? Boolean(io.stderr.isTTY));
    const r = await target.call<RequeueSummary>('redeliver', id !== undefined ? { id } : { destination: v.dest, since, withIds: wait });
    printSkipped(io, r.skipped);
    if (id !== undefined) {
      if (r.requeued === 0) {
        io.stderr.write(`relay redeliver: ${id} was not requeued\n`);
        return EXIT.attention;
      }
      io.stdout.write(`requeued ${r.ids?.[0] ?? id}${target.kind === 'local' ? '; the daemon sends it when it runs' : ''}\n`);
      return EXIT.ok;
    }
    io.stdout.write(`requeued ${plural(r.requeued, 'delivery', 'deliveries')} of ${v.dest} created since ${new Date(since!).toISOString()}${r.skipped.length ? `, skipped ${r.skipped.length}` : ''}${target.kind === 'local' ? '; the daemon sends them when it runs' : ''}\n`);
    if (!wait || !r.ids || r.ids.length === 0) return r.skipped.length ? EXIT.attention : EXIT.ok;
    const { progress, interrupted } = await watchDeliveries(target, r.ids, io);
    io.stdout.write(`sent again: ${progress.delivered} delivered, ${progress.dead} dead${progress.queued ? `, ${progress.queued} still queued` : ''}\n`);
    if (interrupted) io.stdout.write('stopped watching; the rest stays queued in the daemon (relay status)\n');
    return progress.dead > 0 || r.skipped.length > 0 ? EXIT.attention : EXIT.ok;
  });
}
