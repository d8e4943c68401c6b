// `type: nats`: NATS JetStream as a destination kind (config, sender,
// `relay show` view, `relay test` check). Listed once in ../registry.ts.

import { redactHeaders, redactUrl, REDACTED } from '../../log/redact.ts';
import type { QueuedKind } from '../kind.ts';
import { lazySender, urlSecrets } from '../broker-outcome.ts';
import { TLS_OFF_WARNING } from '../tls-config.ts';
import { NATS_SCHEMA, normalizeNats, type NatsDestination } from './config.ts';
import { natsHeaderRecord, natsSubject, readNatsFiles } from './message.ts';

export type { NatsDestination } from './config.ts';

const servers = (d: NatsDestination): string => d.servers.map((s) => redactUrl(s)).join(',');

/** The nats kind. */
export const natsKind: QueuedKind<NatsDestination> = {
  type: 'nats',
  delivery: 'queued',
  schema: NATS_SCHEMA,
  normalize: normalizeNats,
  describeTarget: (d) => `${servers(d)} subject ${d.subject}${d.stream ? ` (stream ${d.stream.name})` : ''}`,
  secrets: (d) => [d.auth.password, d.auth.token, d.auth.nkeySeed, ...(d.envSecrets ?? []), ...d.servers.flatMap(urlSecrets), ...Object.entries(d.headers).filter(([k]) => redactHeaders({ [k]: 'x' })[k] === REDACTED).map(([, v]) => v)].filter((s): s is string => Boolean(s)),
  redactConfig: (d) => ({
    ...d,
    servers: d.servers.map((s) => redactUrl(s)),
    auth: Object.fromEntries(Object.entries(d.auth).map(([k, v]) => [k, k === 'username' || k === 'credsFile' ? v : REDACTED])),
    headers: redactHeaders(d.headers),
    envSecrets: undefined,
  }),
  warnings: (d) => (d.tls.enabled && !d.tls.verify ? [TLS_OFF_WARNING] : []),
  check: async (d, options) => (await import('./check.ts')).checkNats(d, options),
  // Connect, make the stream when asked, publish: each bounded by its timeout.
  maxAttemptMs: (d) => d.timeout.connectMs + 2 * d.timeout.ackMs,
  createSender(dest) {
    readNatsFiles(dest); // unreadable TLS / creds files: a setup error now, not at the first send
    return lazySender(async () => (await import('./sender.ts')).createNatsSender(dest));
  },
  describeRequest(dest, delivery) {
    const headers: Record<string, string> = { 'Nats-Msg-Id': delivery.id, ...natsHeaderRecord(dest, delivery) };
    return { target: `publish ${natsSubject(dest, delivery, true)}${dest.stream ? ` (stream ${dest.stream.name})` : ''} on ${servers(dest)}`, headers: redactHeaders(headers) };
  },
};
