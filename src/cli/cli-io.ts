// What every `relay` command receives: streams and environment, so commands
// run the same in tests (captured) and for real (process streams).

/** Streams and environment of one command invocation. */
export interface CliIo {
  stdin: NodeJS.ReadableStream;
  stdout: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
}

/** A `relay` subcommand: resolves to the process exit status. */
export type CommandRun = (args: string[], io: CliIo) => Promise<number>;

/** Exit statuses shared by all commands. */
export const EXIT = { ok: 0, attention: 1, usage: 2, config: 3, unavailable: 4 } as const;

/** The process's own streams. */
export function processIo(): CliIo {
  return { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, env: process.env };
}
