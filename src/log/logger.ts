// The one logger: winston, JSON lines on stdout for journald, readable text on
// a TTY. Every line passes through secret redaction; callers put ids (event,
// delivery, destination) in the fields, never secrets in the message. Lines
// are bounded (LOG_LINE_MAX_BYTES, with counts of what was cut) and never
// carry a raw U+0085 / U+2028 / U+2029 (bound-line.ts).

import winston from 'winston';
import { Writable } from 'node:stream';
import { redactText } from './redact.ts';
import { boundLogFields, escapeLineBreakers } from './bound-line.ts';

/** Structured fields attached to a log line. */
export type LogFields = Record<string, unknown>;

/** What components log through. */
export interface Log {
  error(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  debug(message: string, fields?: LogFields): void;
  /** A logger that adds `fields` to every line. */
  child(fields: LogFields): Log;
  /** Replace the set of secret values masked in every line (on reload). */
  setSecrets(secrets: readonly string[]): void;
}

/** Logger options. */
export interface LoggerOptions {
  level?: 'error' | 'warn' | 'info' | 'debug';
  format?: 'auto' | 'json' | 'text';
  /** Where lines go; default stdout. */
  stream?: NodeJS.WritableStream;
  secrets?: readonly string[];
}

/** Create the process logger. */
export function createLogger(options: LoggerOptions = {}): Log {
  const stream = options.stream ?? process.stdout;
  const tty = Boolean((stream as NodeJS.WriteStream).isTTY);
  const text = options.format === 'text' || (options.format !== 'json' && tty);
  const state = { secrets: [...(options.secrets ?? [])] };

  const scrub = winston.format((info) => {
    const scrubbed = boundLogFields(JSON.parse(redactText(JSON.stringify(info), state.secrets)) as Record<string, unknown>);
    for (const k of Object.keys(info)) delete (info as any)[k];
    Object.assign(info, scrubbed);
    return info;
  });
  const line = text
    ? winston.format.printf((info) => {
        const { level, message, timestamp, ...rest } = info;
        const extra = Object.entries(rest)
          .filter(([k]) => typeof k === 'string')
          .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
          .join(' ');
        return `${timestamp} ${level.padEnd(5)} ${message}${extra ? ' ' + extra : ''}`;
      })
    : winston.format.json();
  const MESSAGE = Symbol.for('message');
  const escape = winston.format((info) => {
    const rec = info as unknown as Record<symbol, unknown>;
    if (typeof rec[MESSAGE] === 'string') rec[MESSAGE] = escapeLineBreakers(rec[MESSAGE]);
    return info;
  });
  const logger = winston.createLogger({
    level: options.level ?? 'info',
    format: winston.format.combine(winston.format.timestamp(), scrub(), line, escape()),
    transports: [new winston.transports.Stream({ stream: stream as Writable })],
  });
  return wrap(logger, state);
}

function wrap(logger: winston.Logger, state: { secrets: string[] }): Log {
  return {
    error: (m, f) => logger.error(m, f),
    warn: (m, f) => logger.warn(m, f),
    info: (m, f) => logger.info(m, f),
    debug: (m, f) => logger.debug(m, f),
    child: (fields) => wrap(logger.child(fields), state),
    setSecrets: (secrets) => {
      state.secrets = [...secrets];
    },
  };
}

/** A logger that drops everything (library use, quiet CLI paths). */
export const silentLog: Log = {
  error() {},
  warn() {},
  info() {},
  debug() {},
  child: () => silentLog,
  setSecrets() {},
};
