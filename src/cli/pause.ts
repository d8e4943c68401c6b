// `relay pause <dest>`: stop sending to a destination (maintenance window,
// misbehaving receiver). Deliveries keep queueing; nothing is lost.

import type { PauseSummary } from '../admin/control-ops.ts';
import { parseCommand } from './args.ts';
import { EXIT, type CliIo } from './cli-io.ts';
import { loadCliConfig, withTarget } from './open-target.ts';

const HELP = `usage: relay pause <destination>

Stop sending to <destination>. New pushes keep queueing for it; \`relay resume\`
sends the queue in order. The pause survives daemon restarts.`;

/** Run `relay pause` (and, with op 'resume', `relay resume`). */
export async function runPauseOrResume(op: 'pause' | 'resume', help: string, args: string[], io: CliIo): Promise<number> {
  const parsed = parseCommand(op, args, {}, help, io, { min: 1, max: 1 });
  if (!parsed.ok) return parsed.status;
  const cli = loadCliConfig(parsed.values.config, io.env, parsed.values.socket, parsed.values.timeout);
  return withTarget(io, cli, 'write', op, async (target) => {
    const r = await target.call<PauseSummary>(op, { destination: parsed.positionals[0] });
    io.stdout.write(
      r.paused
        ? `paused ${r.destination}: deliveries keep queueing (${r.queued} queued); resume with \`relay resume ${r.destination}\`\n`
        : `resumed ${r.destination}: sending ${r.queued} queued\n`,
    );
    return EXIT.ok;
  });
}

/** Run `relay pause`. */
export function run(args: string[], io: CliIo): Promise<number> {
  return runPauseOrResume('pause', HELP, args, io);
}
