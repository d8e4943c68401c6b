// The config keys every queued kind shares (format, formatOptions, events,
// concurrency, retry): one schema fragment and one normalization, so the
// generic queue's knobs read the same whatever the kind.

import type { FormatName, FormatOptions, RetryConfig } from '../config/config-types.ts';
import { FORMAT_NAMES } from '../formats/index.ts';
import { FORMAT_EVENTS } from '../formats/event-keys.ts';
import type { NormalizeContext } from './kind.ts';

/** Schema of a duration: "500ms", "30s", "7d" or milliseconds. */
export const DURATION_SCHEMA = { type: ['string', 'number'] } as const;

/** Schema properties of the shared queued keys. */
export const QUEUED_SCHEMA_PROPERTIES = {
  format: { enum: FORMAT_NAMES },
  formatOptions: {
    type: 'object',
    additionalProperties: false,
    properties: { extended: { type: 'boolean' }, commitLimit: { type: 'integer', minimum: 0 } },
  },
  events: { type: 'array', minItems: 1, items: { type: 'string' } },
  concurrency: { type: 'integer', minimum: 1, maximum: 64 },
  retry: {
    type: 'object',
    additionalProperties: false,
    properties: { baseDelay: DURATION_SCHEMA, maxDelay: DURATION_SCHEMA, horizon: DURATION_SCHEMA },
  },
} as const;

/** The shared queued fields, normalized. */
export interface QueuedFields {
  format: FormatName;
  formatOptions: FormatOptions;
  events?: string[];
  concurrency: number;
  retry: RetryConfig;
}

/** Normalize format/formatOptions/events/concurrency/retry (defaults: cloudevents, 4 lanes, 1s…10m backoff, 7d horizon). */
export function normalizeQueuedFields(raw: Record<string, any>, ctx: NormalizeContext, defaults: { concurrency?: number } = {}): QueuedFields {
  const at = ctx.path;
  const r = raw.retry ?? {};
  const retry = {
    baseDelayMs: ctx.duration([...at, 'retry', 'baseDelay'], r.baseDelay, 1000),
    maxDelayMs: ctx.duration([...at, 'retry', 'maxDelay'], r.maxDelay, 600_000),
    horizonMs: ctx.duration([...at, 'retry', 'horizon'], r.horizon, 7 * 86_400_000),
  };
  if (retry.baseDelayMs > retry.maxDelayMs) ctx.report([...at, 'retry'], 'baseDelay is larger than maxDelay');
  const format: FormatName = raw.format ?? 'cloudevents';
  const events = raw.events === undefined ? undefined : [...new Set(raw.events as string[])];
  (raw.events as string[] | undefined)?.forEach((name, i) => {
    const known: readonly string[] = FORMAT_EVENTS[format].all;
    if (!known.includes(name)) ctx.report([...at, 'events', i], `"${name}" is not an event of format ${format}; use ${known.join(', ')}`);
  });
  return {
    format,
    formatOptions: raw.formatOptions ?? {},
    ...(events ? { events } : {}),
    concurrency: raw.concurrency ?? defaults.concurrency ?? 4,
    retry,
  };
}
