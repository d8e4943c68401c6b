// `type: amqp`: RabbitMQ (AMQP 0-9-1) as a destination kind (config, sender,
// `relay show` view, `relay test` check). Listed once in ../registry.ts.

import { redactHeaders, redactUrl, REDACTED } from '../../log/redact.ts';
import type { QueuedKind } from '../kind.ts';
import { lazySender, urlSecrets } from '../broker-outcome.ts';
import { TLS_OFF_WARNING } from '../tls-config.ts';
import { AMQP_SCHEMA, normalizeAmqp, type AmqpDestination } from './config.ts';
import { amqpConnectArgs, amqpProperties, amqpRoutingKey } from './message.ts';

export type { AmqpDestination } from './config.ts';

const exchangeName = (d: AmqpDestination): string => (d.exchange.name === '' ? '(default exchange)' : `exchange ${d.exchange.name}`);

/** The amqp kind. */
export const amqpKind: QueuedKind<AmqpDestination> = {
  type: 'amqp',
  delivery: 'queued',
  schema: AMQP_SCHEMA,
  normalize: normalizeAmqp,
  describeTarget: (d) => `${redactUrl(d.url)} ${exchangeName(d)} routing key ${d.routingKey}`,
  secrets: (d) => [d.auth?.password, ...(d.envSecrets ?? []), ...urlSecrets(d.url), ...Object.entries(d.headers).filter(([k]) => redactHeaders({ [k]: 'x' })[k] === REDACTED).map(([, v]) => v)].filter((s): s is string => Boolean(s)),
  redactConfig: (d) => ({
    ...d,
    url: redactUrl(d.url),
    auth: d.auth ? { username: d.auth.username, password: REDACTED } : undefined,
    headers: redactHeaders(d.headers),
    envSecrets: undefined,
  }),
  warnings: (d) => (d.url.startsWith('amqps:') && !d.tls.verify ? [TLS_OFF_WARNING] : []),
  check: async (d, options) => (await import('./check.ts')).checkAmqp(d, options),
  // Connect + channel + exchange (bounded together), then the confirm.
  maxAttemptMs: (d) => d.timeout.connectMs + 2 * d.timeout.ackMs,
  createSender(dest) {
    amqpConnectArgs(dest); // unreadable TLS files: a setup error now, not at the first send
    return lazySender(async () => (await import('./sender.ts')).createAmqpSender(dest));
  },
  describeRequest(dest, delivery) {
    const p = amqpProperties(dest, delivery);
    const headers: Record<string, string> = {
      'message-id': String(p.messageId),
      'content-type': String(p.contentType),
      'delivery-mode': '2 (persistent)',
      ...(p.headers as Record<string, string>),
    };
    return { target: `publish to ${exchangeName(dest)} routing key ${amqpRoutingKey(dest, delivery, true)} on ${redactUrl(dest.url)} (publisher confirms)`, headers: redactHeaders(headers) };
  },
};
