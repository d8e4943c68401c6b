// Every destination kind, keyed by its `type:`. Adding a kind: write
// src/destinations/<type>/ (a DestinationKind) and add one line here.

import type { DestinationConfig, QueuedDestinationConfig, RelayConfig } from '../config/config-types.ts';
import { redactText } from '../log/redact.ts';
import type { DestinationKind, InlineKind, QueuedKind } from './kind.ts';
import { httpKind } from './http/index.ts';
import { fileKind } from './file/index.ts';
import { logKind } from './log/index.ts';
import { natsKind } from './nats/index.ts';
import { amqpKind } from './amqp/index.ts';

const KINDS: Readonly<Record<string, DestinationKind>> = {
  http: httpKind,
  file: fileKind,
  log: logKind,
  nats: natsKind,
  amqp: amqpKind,
};

/** Every `type:` a destination may have. */
export const KIND_TYPES: readonly string[] = Object.keys(KINDS);

/** The kind of a destination (or of a `type:` value); throws for an unknown one (config validation rules those out). */
export function kindOf(dest: Pick<DestinationConfig, 'type'> | string): DestinationKind {
  const type = typeof dest === 'string' ? dest : dest.type;
  const kind = KINDS[type];
  if (!kind) throw new Error(`unknown destination type "${type}"; known: ${KIND_TYPES.join(', ')}`);
  return kind;
}

/** The kind if it exists, else undefined. */
export function findKind(type: string): DestinationKind | undefined {
  return Object.hasOwn(KINDS, type) ? KINDS[type] : undefined;
}

/** Whether the destination's deliveries go through the queue (its kind has a sender). */
export function isQueued(dest: DestinationConfig): dest is QueuedDestinationConfig {
  return isQueuedType(dest.type);
}

/** Whether destinations of this `type:` go through the queue (false for unknown or null). */
export function isQueuedType(type: string | null): boolean {
  return type !== null && findKind(type)?.delivery === 'queued';
}

/** The queued kind of a destination, or null when it is written inline. */
export function queuedKindOf(dest: DestinationConfig): QueuedKind | null {
  const kind = kindOf(dest);
  return kind.delivery === 'queued' ? kind : null;
}

/** The inline kind of a destination, or null when it is queued. */
export function inlineKindOf(dest: DestinationConfig): InlineKind | null {
  const kind = kindOf(dest);
  return kind.delivery === 'inline' ? kind : null;
}

/** Enabled destinations whose deliveries go through the queue. */
export function queuedDestinations(destinations: readonly DestinationConfig[]): QueuedDestinationConfig[] {
  return destinations.filter((d): d is QueuedDestinationConfig => d.enabled && isQueued(d));
}

/** The target of a destination for status / show / logs, secrets redacted. */
export function describeTarget(dest: DestinationConfig): string {
  return kindOf(dest).describeTarget(dest);
}

/** The secret values of one destination. */
function destinationSecrets(dest: DestinationConfig): string[] {
  return kindOf(dest).secrets(dest).filter((s) => s.length > 0);
}

/** Every secret value a config holds (for masking free text: the logger, `relay show`). */
export function configSecrets(config: Pick<RelayConfig, 'destinations'>): string[] {
  const out = new Set<string>();
  for (const d of config.destinations) for (const s of destinationSecrets(d)) out.add(s);
  return [...out].filter((s) => s.length >= 4);
}

/** The redaction of a config's secrets as one function (the store boundary, operator outputs). */
export function configRedactor(config: Pick<RelayConfig, 'destinations'>): (text: string) => string {
  const secrets = configSecrets(config);
  return (text) => redactText(text, secrets);
}

/** A copy of the config safe to print (`relay config check`, status). */
export function redactedConfig(config: RelayConfig): unknown {
  return { ...config, destinations: config.destinations.map((d) => kindOf(d).redactConfig(d)) };
}

/** Config warnings of every enabled destination (TLS off …), once per destination. */
export function destinationWarnings(config: Pick<RelayConfig, 'destinations'>): { destination: string; target: string; message: string }[] {
  return config.destinations
    .filter((d) => d.enabled)
    .flatMap((d) => kindOf(d).warnings(d).map((message) => ({ destination: d.name, target: describeTarget(d), message })));
}
