// Publishes deliveries to RabbitMQ (AMQP 0-9-1, amqplib) on a confirm
// channel: a delivery counts as delivered only when the broker confirms it
// (for a durable queue: written to disk). Messages are persistent, with the
// delivery id as messageId (consumers de-duplicate resends with it) and
// mandatory, so a message no queue takes comes back and is retried instead of
// silently dropped. One connection and channel per destination, opened on the
// first send; after a broker restart or a channel error the next send opens
// them again. Errors are classified, never thrown: a missing exchange (with
// declare off) and access refused are dead; connection trouble, nacks,
// returns and timeouts retry.

import { performance } from 'node:perf_hooks';
import amqp, { type ChannelModel, type ConfirmChannel } from 'amqplib';
import { redactUrl } from '../../log/redact.ts';
import type { BrokerDelivery, PublishOutcome } from '../broker-outcome.ts';
import type { AmqpDestination } from './config.ts';
import { amqpConnectArgs, amqpProperties, amqpRoutingKey } from './message.ts';

/** Sends one amqp destination's deliveries. */
export interface AmqpSender {
  send(delivery: BrokerDelivery, signal?: AbortSignal): Promise<PublishOutcome>;
  close(): Promise<void>;
}

interface Link {
  conn: ChannelModel;
  ch: ConfirmChannel;
  /** Message ids the broker returned as unroutable (basic.return comes before the confirm). */
  returned: Set<string>;
  /** Why the channel or connection closed, once it did. */
  failure: Error | null;
}

/** Create the sender (throws DestinationSetupError on unreadable TLS files). */
export function createAmqpSender(dest: AmqpDestination): AmqpSender {
  const args = amqpConnectArgs(dest);
  const printable = `${redactUrl(dest.url)} exchange ${dest.exchange.name === '' ? '(default)' : dest.exchange.name}`;
  let link: Promise<Link> | null = null;
  let closed = false;

  const open = async (): Promise<Link> => {
    const conn = await amqp.connect(args.url, args.socket);
    const l: Partial<Link> = { conn, returned: new Set(), failure: null };
    // A closed channel or connection is replaced on the next send.
    const drop = (err?: Error): void => {
      l.failure ??= err ?? new Error('connection closed');
    };
    conn.on('error', drop);
    conn.on('close', drop);
    try {
      const ch = await conn.createConfirmChannel();
      ch.on('error', drop);
      ch.on('close', () => drop(new Error('channel closed')));
      ch.on('return', (msg) => {
        if (msg.properties.messageId) l.returned!.add(String(msg.properties.messageId));
      });
      l.ch = ch;
      if (dest.exchange.name !== '') {
        if (dest.exchange.declare) await ch.assertExchange(dest.exchange.name, dest.exchange.type, { durable: true });
        else await ch.checkExchange(dest.exchange.name);
      }
    } catch (err) {
      void conn.close().catch(() => undefined);
      throw err;
    }
    return l as Link;
  };
  let latest: Link | null = null;
  const connection = (): Promise<Link> => {
    if (latest?.failure) {
      void latest.conn.close().catch(() => undefined);
      latest = null;
      link = null;
    }
    if (!link) {
      const p = open().then((l) => (latest = l));
      link = p;
      p.catch(() => {
        if (link === p) link = null;
      });
    }
    return link;
  };

  return {
    async send(delivery, signal) {
      const started = performance.now();
      const latency = (): number => Math.round(performance.now() - started);
      let key: string;
      try {
        key = amqpRoutingKey(dest, delivery);
      } catch (err) {
        return { outcome: 'retry', reason: (err as Error).message, detail: (err as Error).message, pathWorks: false, latencyMs: 0, target: `${printable} key ${amqpRoutingKey(dest, delivery, true)}` };
      }
      const target = `${printable} key ${key}`;
      const fail = (err: unknown, stage: string): PublishOutcome => ({ ...classifyAmqpError(err, dest, stage), latencyMs: latency(), target });
      if (closed || signal?.aborted) return fail(new Error('aborted (daemon stopping)'), 'publish');
      let l: Link;
      let timer: NodeJS.Timeout | undefined;
      try {
        // A broker that accepts but stalls the handshake, channel or exchange declaration must not hold the lane.
        const limit = dest.timeout.connectMs + dest.timeout.ackMs;
        l = await Promise.race([
          connection(),
          new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no usable connection within ${limit}ms (connect, channel, exchange)`)), limit))),
        ]);
      } catch (err) {
        return fail(err, 'connect');
      } finally {
        clearTimeout(timer);
      }
      const props = amqpProperties(dest, delivery);
      const confirmed = await new Promise<Error | null | 'timeout'>((resolve) => {
        const timer = setTimeout(() => resolve('timeout'), dest.timeout.ackMs);
        try {
          l.ch.publish(dest.exchange.name, key, delivery.body, props, (err: unknown) => {
            clearTimeout(timer);
            if (!err) resolve(null);
            // The channel's own error (e.g. 404 NOT_FOUND) arrives with or just before 'channel closed'.
            else setImmediate(() => resolve(l.failure ?? (err as Error)));
          });
        } catch (err) {
          clearTimeout(timer);
          resolve(l.failure ?? (err as Error));
        }
      });
      if (confirmed === 'timeout') return fail(new Error(`no publisher confirm within ${dest.timeout.ackMs}ms`), 'publish');
      if (confirmed) return fail(confirmed, 'publish');
      if (l.returned.delete(delivery.id)) {
        const text = `unroutable: no queue is bound to exchange ${dest.exchange.name || '(default)'} for routing key ${key}; bind a queue (the delivery is retried until one is)`;
        return { outcome: 'retry', reason: text, detail: text, pathWorks: true, latencyMs: latency(), target };
      }
      return { outcome: 'delivered', reason: null, detail: `confirmed (basic.ack) by ${printable}, routing key ${key}`, pathWorks: true, latencyMs: latency(), target };
    },
    async close() {
      closed = true;
      const l = link;
      link = null;
      if (!l) return;
      try {
        const { conn } = await l;
        await conn.close();
      } catch {
        // never opened, or already closed
      }
    },
  };
}

/** Retry or dead for an error, with a line an operator can act on. */
export function classifyAmqpError(err: unknown, dest: Pick<AmqpDestination, 'exchange' | 'timeout'>, stage: string): Omit<PublishOutcome, 'latencyMs' | 'target'> {
  const e = err as { message?: string; code?: unknown };
  const message = String(e?.message ?? err);
  const retry = (text: string): Omit<PublishOutcome, 'latencyMs' | 'target'> => ({ outcome: 'retry', reason: text, detail: text, pathWorks: false });
  const dead = (text: string): Omit<PublishOutcome, 'latencyMs' | 'target'> => ({ outcome: 'dead', reason: text, detail: text, pathWorks: true });
  if (e?.code === 404 || /NOT_FOUND/.test(message)) {
    return dead(`${stage}: ${message}; exchange ${dest.exchange.name} does not exist: declare it, or set exchange.declare: true`);
  }
  if (e?.code === 403 || /ACCESS_REFUSED|ACCESS-REFUSED|Handshake terminated by server: 403/.test(message)) {
    return dead(`${stage}: access refused (${message}); check the user, password and its permissions on the vhost (write on the exchange${dest.exchange.declare ? ', configure to declare it' : ''})`);
  }
  if (/PRECONDITION_FAILED/.test(message)) {
    return dead(`${stage}: ${message}; the existing exchange differs from exchange.type (or durability); make them agree`);
  }
  if (/ETIMEDOUT|timeout/i.test(message) && stage === 'connect') return retry(`connect: no connection within ${dest.timeout.connectMs}ms (${message})`);
  const code = typeof e?.code === 'string' && !message.includes(e.code) ? `${e.code}: ` : '';
  return retry(`${stage}: ${code}${message}`);
}
