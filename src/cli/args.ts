// Option parsing shared by the operator commands: node:util parseArgs with a
// usage message on mistakes, --help, and the option kinds operators type
// (durations like 2h, times like 2024-05-01T10:00, names).

import { parseArgs, type ParseArgsConfig } from 'node:util';
import { parseDuration } from '../config/units.ts';
import { EXIT, type CliIo } from './cli-io.ts';

/** Option definitions as parseArgs takes them. */
export type OptionSpec = NonNullable<ParseArgsConfig['options']>;

/** Options every operator command accepts. */
export const COMMON_OPTIONS = {
  config: { type: 'string', short: 'c' },
  socket: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
  /** How long to wait for the daemon's answer; reads then use the store, writes expire unapplied. */
  timeout: { type: 'string' },
} as const satisfies OptionSpec;

/** Parsed arguments, or the exit status to return at once (usage error, or --help printed). */
export type Parsed<V> = { ok: true; values: V; positionals: string[] } | { ok: false; status: number };

/** Parse `args` for command `name`; prints usage on errors and help on --help. */
export function parseCommand<const O extends OptionSpec>(
  name: string,
  args: string[],
  options: O,
  help: string,
  io: CliIo,
  positionals: { min?: number; max?: number } = { max: 0 },
): Parsed<ReturnType<typeof parseArgs<{ options: O & typeof COMMON_OPTIONS; allowPositionals: true; strict: true }>>['values']> {
  let parsed;
  try {
    parsed = parseArgs({ args, options: { ...COMMON_OPTIONS, ...options }, allowPositionals: true, strict: true });
  } catch (err) {
    io.stderr.write(`relay ${name}: ${parseArgsProblem(err as NodeJS.ErrnoException)}\n${help.split('\n')[0]}\n(relay ${name} --help lists every option)\n`);
    return { ok: false, status: EXIT.usage };
  }
  if ((parsed.values as { help?: boolean }).help) {
    io.stdout.write(help + '\n');
    return { ok: false, status: EXIT.ok };
  }
  const timeout = (parsed.values as { timeout?: string }).timeout;
  if (timeout !== undefined && !parseDuration(timeout)) {
    io.stderr.write(`relay ${name}: --timeout "${timeout}" is not a duration (e.g. 5s)\n`);
    return { ok: false, status: EXIT.usage };
  }
  const n = parsed.positionals.length;
  if ((positionals.min !== undefined && n < positionals.min) || (positionals.max !== undefined && n > positionals.max)) {
    const what = n > (positionals.max ?? Infinity) ? `unexpected argument "${parsed.positionals[positionals.max ?? 0]}"` : 'missing argument';
    io.stderr.write(`relay ${name}: ${what}\n\n${help}\n`);
    return { ok: false, status: EXIT.usage };
  }
  return { ok: true, values: parsed.values as never, positionals: parsed.positionals };
}

/** Print a usage problem for `name`; returns EXIT.usage. */
export function usageError(io: CliIo, name: string, message: string): number {
  io.stderr.write(`relay ${name}: ${message}\n`);
  return EXIT.usage;
}

/**
 * A point in time as operators write it: a duration meaning "that long ago"
 * (90s, 10m, 2h, 7d), or a date / date-time (2024-05-01, 2024-05-01T10:00,
 * with or without zone; without one it is local time). Null when neither.
 */
export function parseSince(text: string, now: number = Date.now()): number | null {
  const ago = parseDuration(text);
  if (ago !== null) return now - ago;
  if (!/^\d{4}-\d{2}-\d{2}/.test(text.trim())) return null;
  // A bare date is midnight local time (Date.parse would read it as UTC).
  const t = /^\d{4}-\d{2}-\d{2}$/.test(text.trim()) ? Date.parse(`${text.trim()}T00:00:00`) : Date.parse(text.trim().replace(' ', 'T'));
  return Number.isNaN(t) ? null : t;
}

/** A positive integer option, or null when malformed. */
export function parsePositiveInt(text: string): number | null {
  return /^\d+$/.test(text) && Number(text) > 0 ? Number(text) : null;
}

/** node:util parseArgs' errors in our words: the option named, without its advice about "--" positionals. */
function parseArgsProblem(err: NodeJS.ErrnoException): string {
  const option = /'(-[^' ]*)/.exec(err.message)?.[1];
  switch (err.code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return `unknown option ${option ?? err.message}`;
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      return /argument missing/.test(err.message) ? `${option ?? 'an option'} needs a value` : `${option ?? 'an option'} takes no value`;
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL':
      return `unexpected argument ${/'([^']*)'/.exec(err.message)?.[1] ?? ''}`.trim();
    default:
      return err.message.split('. ')[0];
  }
}
