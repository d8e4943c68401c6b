// `relay retry --dest D`: the receiver is fixed, send its queue now — every
// pending delivery becomes due at once and an open circuit probes now; the
// first success closes it.

import { parseCommand, usageError } from './args.ts';
import type { CliIo } from './cli-io.ts';
import { loadCliConfig, withTarget } from './open-target.ts';
import { requeueBulk, unknownDestination } from './redeliver.ts';

const HELP = `usage: relay retry --dest D [--wait | --no-wait]

Send every pending delivery of D now instead of at its next retry time (use it
once the receiver is fixed: \`relay test D\` offers it). An open circuit sends
its probe at once and closes after the first success. Delivered and dead ones
are not touched (see \`relay redeliver\`, \`relay dlq retry\`).
  --dest D     the destination
  --wait       wait until the daemon has sent them (default on a terminal, with a progress bar)
  --no-wait    return once they are due
Exit status: 0 sent (or due), 1 some went dead, 2 usage, 4 daemon and store unavailable.`;

/** Run `relay retry`. */
export async function run(args: string[], io: CliIo): Promise<number> {
  const parsed = parseCommand('retry', args, { dest: { type: 'string' }, wait: { type: 'boolean' }, 'no-wait': { type: 'boolean' } }, HELP, io);
  if (!parsed.ok) return parsed.status;
  const v = parsed.values;
  if (v.dest === undefined) return usageError(io, 'retry', 'give the destination: relay retry --dest D');
  const cli = loadCliConfig(v.config, io.env, v.socket, v.timeout);
  const unknown = unknownDestination(cli, v.dest);
  if (unknown) return usageError(io, 'retry', unknown);
  return withTarget(io, cli, 'write', 'retry', (target) => {
    const wait = target.kind === 'daemon' && !v['no-wait'] && (v.wait ?? Boolean(io.stderr.isTTY));
    return requeueBulk(io, target, { destination: v.dest!, states: ['pending'], wait, command: 'retry' });
  });
}
