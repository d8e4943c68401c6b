// Destination configs and deliveries for the broker tests.

import type { NatsDestination } from '../../src/destinations/nats/config.ts';
import type { AmqpDestination } from '../../src/destinations/amqp/config.ts';
import type { BrokerDelivery } from '../../src/destinations/broker-outcome.ts';

/** A nats destination with short timeouts; `over` wins. */
export function natsDest(servers: string[], over: Partial<NatsDestination> = {}): NatsDestination {
  return {
    name: 'bus',
    type: 'nats',
    enabled: true,
    servers,
    subject: 'bitbucket.push.{projectKey}.{repoSlug}',
    stream: { name: 'BITBUCKET', create: true, subjects: ['bitbucket.push.*.*'], maxAgeMs: 86_400_000, duplicateWindowMs: 120_000, storage: 'file', replicas: 1 },
    format: 'cloudevents',
    formatOptions: {},
    headers: {},
    auth: {},
    tls: { enabled: false, verify: true },
    timeout: { connectMs: 3000, ackMs: 3000 },
    concurrency: 4,
    retry: { baseDelayMs: 50, maxDelayMs: 500, horizonMs: 60_000 },
    ...over,
  };
}

/** An amqp destination publishing to topic exchange `bitbucket`; `over` wins. */
export function amqpDest(url: string, over: Partial<AmqpDestination> = {}): AmqpDestination {
  return {
    name: 'mq',
    type: 'amqp',
    enabled: true,
    url,
    exchange: { name: 'bitbucket', type: 'topic', declare: true },
    routingKey: 'push.{projectKey}.{repoSlug}',
    format: 'cloudevents',
    formatOptions: {},
    headers: {},
    tls: { verify: true },
    timeout: { connectMs: 3000, ackMs: 3000 },
    concurrency: 4,
    retry: { baseDelayMs: 50, maxDelayMs: 500, horizonMs: 60_000 },
    ...over,
  };
}

/** A delivery of repository PRJ/my.repo. */
export function delivery(id: string, body = `{"n":"${id}"}`): BrokerDelivery {
  return { id, headers: { 'Content-Type': 'application/cloudevents+json; charset=utf-8' }, body: Buffer.from(body), projectKey: 'PRJ', repoSlug: 'my.repo', repoId: 7 };
}
