// `relay resume <dest>`: send a paused destination's queue again, in order.

import type { CliIo } from './cli-io.ts';
import { runPauseOrResume } from './pause.ts';

const HELP = `usage: relay resume <destination>

Resume sending to a paused destination; its queue goes out in order.`;

/** Run `relay resume`. */
export function run(args: string[], io: CliIo): Promise<number> {
  return runPauseOrResume('resume', HELP, args, io);
}
