// `relay test` for an amqp destination: the shared broker steps (TLS from the
// first byte for amqps), a real login that also checks (or declares) the
// exchange, and a ping published through the daemon's own sender and
// confirmed by the broker.

import amqp from 'amqplib';
import { redactUrl } from '../../log/redact.ts';
import { checkBroker, publishPing, type BrokerCheck } from '../broker-check.ts';
import type { AmqpDestination } from './config.ts';
import { createAmqpSender } from './sender.ts';
import { amqpConnectArgs, amqpRoutingKey } from './message.ts';

/** Options of checkAmqp. */
export interface AmqpCheckOptions {
  node: string;
  timeoutMs?: number;
  repo?: { projectKey: string; repoSlug: string; repoId: number | null };
}

/** Check the path to the broker of `destIn` and publish a ping. */
export async function checkAmqp(destIn: AmqpDestination, options: AmqpCheckOptions): Promise<BrokerCheck> {
  const dest: AmqpDestination = options.timeoutMs ? { ...destIn, timeout: { connectMs: options.timeoutMs, ackMs: options.timeoutMs } } : destIn;
  const repo = options.repo ?? { projectKey: 'PROJ', repoSlug: 'repo', repoId: 1 };
  const where = `${dest.exchange.name === '' ? 'default exchange' : `exchange ${dest.exchange.name}`} routing key ${amqpRoutingKey(dest, repo, true)}`;
  const base = { destination: dest.name, type: 'amqp', target: `amqp ${redactUrl(dest.url)} → ${where} (format ${dest.format})` };
  let args;
  try {
    args = amqpConnectArgs(dest);
  } catch (err) {
    return { ...base, steps: [{ step: 'setup', result: 'failed', ms: null, detail: (err as Error).message }], ack: null, ok: false, diagnosis: [(err as Error).message] };
  }
  const s = args.socket as { ca?: (string | Buffer)[]; cert?: Buffer; key?: Buffer };
  return checkBroker({
    destination: dest.name,
    type: 'amqp',
    format: dest.format,
    server: redactUrl(dest.url),
    where,
    greeting: null,
    host: args.url.hostname!,
    port: args.url.port!,
    tls: { mode: args.url.protocol === 'amqps' ? 'direct' : 'none', ca: s.ca, cert: s.cert, key: s.key, verify: dest.tls.verify },
    connectMs: dest.timeout.connectMs,
    async login() {
      const conn = await amqp.connect(args.url, args.socket);
      await conn.close();
    },
    publish: () => publishPing(dest, { node: options.node, repo }, createAmqpSender(dest)),
    advise(stage, text) {
      if (stage === 'auth') {
        if (/ACCESS.REFUSED|403/.test(text)) return `the broker refused our login (${text}): check the user and password (url or auth) and that the user may use the vhost`;
        if (/NOT.ALLOWED|530/.test(text)) return `the vhost does not exist or the user may not use it (${text}): check the vhost in url`;
        return `could not log in: ${text}`;
      }
      if (/unroutable/.test(text)) return `the broker confirmed the ping but no queue took it: ${text}`;
      if (/access refused/.test(text)) return `logged in, but not allowed to publish: ${text}`;
      if (/does not exist/.test(text)) return text;
      return `the ping was not confirmed: ${text}`;
    },
  });
}
