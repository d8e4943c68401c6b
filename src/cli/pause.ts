// `relay pause <dest>`: stop sending to a destination (maintenance window,
// misbehaving receiver). Deliveries keep queueing; nothing is lost.

import type { PauseSummary } from '../admin/control-ops.ts';
import { userInfo } from 'node:os';
import { parseCommand } from './args.ts';
import { EXIT, type CliIo } from './cli-io.ts';
import { loadCliConfig, withTarget } from './open-target.ts';

const HELP = `usage: relay pause <destination>

Stop sending to <destination>. New pushes keep queueing for it; \`relay resume\`
sends the queue in order. The pause survives daemon restarts. While a paused destination has a queue,
\`relay status\` exits 1 and shows since when and by whom it is paused.`;

/** Run `relay pause` (and, with op 'resume', `relay resume`). */
export async function runPauseOrResume(op: 'pause' | 'resume', help: string, args: string[], io: CliIo): Promise<number> {
  const parsed = parseCommand(op, args, {}, help, io, { min: 1, max: 1 });
  if (!parsed.ok) return parsed.status;
  const cli = loadCliConfig(parsed.values.config, io.env, parsed.values.socket, parsed.values.timeout);
  return withTarget(io, cli, 'write', op, async (target) => {
    // Who paused it, for status ("paused since … by alice"): the admin behind sudo, else this login.
    const by = io.env.SUDO_USER || io.env.USER || safeLogin();
    const r = await target.call<PauseSummary>(op, { destination: parsed.positionals[0], by });
    io.stdout.write(
      r.paused
        ? `paused ${r.destination}: deliveries keep queueing (${r.queued} queued); resume with \`relay resume ${r.destination}\`\n`
        : `resumed ${r.destination}: sending ${r.queued} queued\n`,
    );
    return EXIT.ok;
  });
}

function safeLogin(): string {
  try {
    return userInfo().username;
  } catch {
    return `uid ${process.getuid?.() ?? '?'}`;
  }
}

/** Run `relay pause`. */
export function run(args: string[], io: CliIo): Promise<number> {
  return runPauseOrResume('pause', HELP, args, io);
}
