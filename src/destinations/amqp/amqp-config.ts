// The normalized config of a `type: amqp` destination (RabbitMQ, AMQP 0-9-1).
// The YAML shape is documented in config/relay.example.yaml.

import type { FormatName, FormatOptions, MatchConfig, RetryConfig, TlsConfig } from '../../config/config-types.ts';

/** The exchange deliveries are published to. */
export interface AmqpExchangeConfig {
  /** '' is the default exchange (routing key = queue name). */
  name: string;
  type: 'topic' | 'direct' | 'fanout' | 'headers';
  /** Declare it (durable) on connect; off: a missing exchange dead-letters. */
  declare: boolean;
}

/** A RabbitMQ destination. */
export interface AmqpDestination {
  name: string;
  type: 'amqp';
  enabled: boolean;
  match?: MatchConfig;
  /** amqp(s)://user:password@host:port/vhost */
  url: string;
  exchange: AmqpExchangeConfig;
  /** Routing key template: {projectKey}, {repoSlug}, {repoId} filled per delivery (as one word each). */
  routingKey: string;
  format: FormatName;
  formatOptions: FormatOptions;
  /** Extra message headers (AMQP headers table). */
  headers: Record<string, string>;
  /** Credentials when not in the url. */
  auth?: { username: string; password: string };
  tls: TlsConfig;
  timeout: { connectMs: number; ackMs: number };
  concurrency: number;
  retry: RetryConfig;
}
