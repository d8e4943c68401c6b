// `type: amqp` config (RabbitMQ, AMQP 0-9-1): the schema fragment, the
// normalized shape and its checks (amqp(s) URL, exchange, routing key,
// credentials, TLS). The YAML shape is documented in config/relay.example.yaml.

import type { DestinationConfig, QueuedDestinationConfig, TlsConfig } from '../../config/config-types.ts';
import type { KindSchema, NormalizeContext } from '../kind.ts';
import { DURATION_SCHEMA, QUEUED_SCHEMA_PROPERTIES, normalizeQueuedFields } from '../queued-config.ts';
import { TLS_SCHEMA, normalizeTls } from '../tls-config.ts';

/** The exchange deliveries are published to. */
export interface AmqpExchangeConfig {
  /** '' is the default exchange (routing key = queue name). */
  name: string;
  type: 'topic' | 'direct' | 'fanout' | 'headers';
  /** Declare it (durable) on connect; off: a missing exchange dead-letters. */
  declare: boolean;
}

/** A RabbitMQ destination. */
export interface AmqpDestination extends QueuedDestinationConfig {
  type: 'amqp';
  /** amqp(s)://user:password@host:port/vhost */
  url: string;
  exchange: AmqpExchangeConfig;
  /** Routing key template: {projectKey}, {repoSlug}, {repoId} filled per delivery (as one word each). */
  routingKey: string;
  /** Extra message headers (AMQP headers table). */
  headers: Record<string, string>;
  /** Credentials when not in the url. */
  auth?: { username: string; password: string };
  tls: TlsConfig;
  timeout: { connectMs: number; ackMs: number };
  /** Values `${ENV}` put into url, routingKey or headers: masked wherever printed. */
  envSecrets?: string[];
}

/** The keys of `type: amqp` (beside name, type, enabled, match). */
export const AMQP_SCHEMA: KindSchema = {
  required: ['url', 'exchange', 'routingKey'],
  properties: {
    url: { type: 'string' },
    exchange: {
      anyOf: [
        { type: 'string' },
        {
          type: 'object',
          additionalProperties: false,
          required: ['name'],
          properties: { name: { type: 'string' }, type: { enum: ['topic', 'direct', 'fanout', 'headers'] }, declare: { type: 'boolean' } },
        },
      ],
    },
    routingKey: { type: 'string' },
    ...QUEUED_SCHEMA_PROPERTIES,
    headers: { type: 'object', additionalProperties: { type: 'string' } },
    auth: {
      type: 'object',
      additionalProperties: false,
      required: ['username'],
      properties: { username: { type: 'string' }, password: { type: 'string' }, passwordFile: { type: 'string' } },
    },
    tls: TLS_SCHEMA,
    timeout: { type: 'object', additionalProperties: false, properties: { connect: DURATION_SCHEMA, ack: DURATION_SCHEMA } },
  },
};

/** Normalize a schema-valid `type: amqp` mapping; problems go to ctx.report. */
export function normalizeAmqp(d: Record<string, any>, base: DestinationConfig, ctx: NormalizeContext): AmqpDestination | null {
  const path = ctx.path;
  const url = String(d.url);
  let parsed: URL | null = null;
  try {
    parsed = new URL(url);
  } catch {
    // reported below
  }
  if (!parsed || !['amqp:', 'amqps:'].includes(parsed.protocol) || parsed.hostname === '') {
    ctx.report([...path, 'url'], `${JSON.stringify(url.replace(/\/\/[^/@]*@/, '//***@'))} is not an AMQP URL; write amqp://host:5672/vhost or amqps://host:5671/vhost`);
  }
  const rawEx = typeof d.exchange === 'string' ? { name: d.exchange } : d.exchange;
  const exchange: AmqpExchangeConfig = { name: String(rawEx.name), type: rawEx.type ?? 'topic', declare: rawEx.declare ?? false };
  if (exchange.name === '' && exchange.declare) ctx.report([...path, 'exchange', 'declare'], 'the default exchange ("") cannot be declared; remove declare or name an exchange');
  if (/^amq\./.test(exchange.name) && exchange.declare) ctx.report([...path, 'exchange', 'name'], `"${exchange.name}": names starting with amq. are reserved by the broker; they cannot be declared`);
  const routingKey = String(d.routingKey);
  if (Buffer.byteLength(routingKey.replace(/\{(projectKey|repoSlug|repoId)\}/g, '')) > 200) ctx.report([...path, 'routingKey'], 'is too long (AMQP allows 255 bytes once the placeholders are filled)');
  let auth: AmqpDestination['auth'];
  if (d.auth) {
    if (d.auth.password !== undefined && d.auth.passwordFile !== undefined) ctx.report([...path, 'auth', 'passwordFile'], 'give either password or passwordFile, not both');
    const password = d.auth.password ?? ctx.readSecretFile([...path, 'auth', 'passwordFile'], d.auth.passwordFile);
    if (password === undefined && d.auth.passwordFile === undefined) ctx.report([...path, 'auth'], 'username and password go together (password or passwordFile)');
    if (parsed?.username) ctx.report([...path, 'auth'], 'credentials are both in url and in auth; keep one');
    auth = { username: d.auth.username, password: password ?? '' };
  }
  const tls = normalizeTls(d.tls, ctx);
  if (d.tls !== undefined && parsed?.protocol === 'amqp:') ctx.report([...path, 'tls'], 'tls: applies to amqps:// URLs only; use amqps://host:5671');
  return {
    ...base,
    type: 'amqp',
    ...normalizeQueuedFields(d, ctx),
    url,
    exchange,
    routingKey,
    headers: d.headers ?? {},
    auth,
    tls,
    timeout: {
      connectMs: ctx.duration([...path, 'timeout', 'connect'], d.timeout?.connect, 10_000),
      ackMs: ctx.duration([...path, 'timeout', 'ack'], d.timeout?.ack, 30_000),
    },
    envSecrets: ctx.envValues(['url', 'routingKey', 'headers']),
  };
}
