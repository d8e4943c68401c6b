// `relay dlq list|retry|drop [--dest D]`: dead letters — deliveries that
// failed for good (4xx, or retried past the horizon) — listed, replayed, or
// given up on.

import type { DropSummary, RequeueSummary } from '../admin/control-ops.ts';
import type { DeliverySummary } from '../store/index.ts';
import { parseCommand, parsePositiveInt, usageError } from './args.ts';
import { EXIT, type CliIo } from './cli-io.ts';
import { deliveriesTable, deliveryJson } from './delivery-text.ts';
import { loadCliConfig, withTarget } from './open-target.ts';
import { styleFor } from './style.ts';
import { plural } from './table.ts';
import { unknownDestination } from './redeliver.ts';

const HELP = `usage: relay dlq list [--dest D] [--limit N] [--wide] [--json]
       relay dlq retry [<delivery-id>] [--dest D]
       relay dlq drop (<delivery-id> | --dest D | --all)

Dead letters: deliveries that failed for good (a 4xx other than 408/429, or
still failing at the retry horizon). They stay until retried or dropped.
  list    oldest first, with the last response (relay show <id> for all attempts)
  retry   queue them again (one, one destination's, or all)
  drop    give up on them (kept as "dropped" until retention removes them);
          for a destination removed from the config, its queued deliveries too
Exit status: list 0 (1 when there are dead letters, for scripts); retry/drop 0, 1 when nothing matched.`;

/** Run `relay dlq`. */
export async function run(args: string[], io: CliIo): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === undefined || sub === '--help' || sub === '-h') {
    io.stdout.write(HELP + '\n');
    return sub === undefined ? EXIT.usage : EXIT.ok;
  }
  if (!['list', 'retry', 'drop'].includes(sub)) return usageError(io, 'dlq', `unknown subcommand "${sub}"; use list, retry or drop`);
  const parsed = parseCommand(`dlq ${sub}`, rest, {
    dest: { type: 'string' },
    limit: { type: 'string' },
    all: { type: 'boolean' },
    wide: { type: 'boolean' },
    json: { type: 'boolean' },
  }, HELP, io, { max: sub === 'list' ? 0 : 1 });
  if (!parsed.ok) return parsed.status;
  const v = parsed.values;
  const [id] = parsed.positionals;
  const cli = loadCliConfig(v.config, io.env, v.socket, v.timeout);
  if (v.dest !== undefined) {
    const unknown = unknownDestination(cli, v.dest);
    if (unknown) return usageError(io, `dlq ${sub}`, unknown);
  }

  if (sub === 'list') {
    const limit = v.limit === undefined ? 100 : parsePositiveInt(v.limit);
    if (limit === null) return usageError(io, 'dlq list', `--limit "${v.limit}" is not a positive number`);
    return withTarget(io, cli, 'read', 'dlq list', async (target) => {
      const list = await target.call<DeliverySummary[]>('dlq-list', { destination: v.dest, limit });
      if (v.json) io.stdout.write(JSON.stringify(list.map(deliveryJson), null, 2) + '\n');
      else if (list.length === 0) io.stdout.write(`no dead letters${v.dest ? ` for ${v.dest}` : ''}\n`);
      else io.stdout.write(deliveriesTable(list, styleFor(io.stdout, io.env), Date.now(), v.wide) + `\n${plural(list.length, 'dead letter')}; replay with \`relay dlq retry${v.dest ? ` --dest ${v.dest}` : ''}\` or give up with \`relay dlq drop\`\n`);
      return list.length ? EXIT.attention : EXIT.ok;
    });
  }

  if (id !== undefined && (v.dest !== undefined || v.all)) return usageError(io, `dlq ${sub}`, 'give either a delivery id or --dest/--all, not both');
  if (sub === 'drop' && id === undefined && v.dest === undefined && !v.all) {
    return usageError(io, 'dlq drop', 'say which dead letters to drop: a delivery id, --dest D, or --all');
  }
  const args2 = id !== undefined ? { id } : { destination: v.dest };
  if (sub === 'retry') {
    return withTarget(io, cli, 'write', 'dlq retry', async (target) => {
      const r = await target.call<RequeueSummary>('dlq-retry', args2);
      for (const s of r.skipped.slice(0, 10)) io.stderr.write(`  skipped ${s.id}: ${s.reason}\n`);
      io.stdout.write(`requeued ${plural(r.requeued, 'dead letter')}${r.skipped.length ? `, skipped ${r.skipped.length}` : ''}${target.kind === 'local' ? '; the daemon sends them when it runs' : ''}\n`);
      return r.requeued > 0 && r.skipped.length === 0 ? EXIT.ok : EXIT.attention;
    });
  }
  return withTarget(io, cli, 'write', 'dlq drop', async (target) => {
    const r = await target.call<DropSummary>('dlq-drop', args2);
    const per = Object.entries(r.byDestination).map(([d, n]) => `${d}: ${n}`).join(', ');
    io.stdout.write(`dropped ${plural(r.dropped, 'delivery', 'deliveries')}${per ? ` (${per})` : ''}\n`);
    return r.dropped > 0 ? EXIT.ok : EXIT.attention;
  });
}
