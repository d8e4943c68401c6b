// `relay test` for a nats destination: the shared broker steps with NATS's
// greeting (INFO, then the TLS upgrade), a real login, and a ping published
// through the daemon's own sender and acknowledged by JetStream.

import { connect } from '@nats-io/transport-node';
import { redactUrl } from '../../log/redact.ts';
import { checkBroker, publishPing, type BrokerCheck } from '../broker-check.ts';
import type { NatsDestination } from './config.ts';
import { createNatsSender, natsConnectionOptions } from './sender.ts';
import { natsSubject } from './message.ts';

/** Options of checkNats. */
export interface NatsCheckOptions {
  node: string;
  timeoutMs?: number;
  repo?: { projectKey: string; repoSlug: string; repoId: number | null };
}

/** Check the path to the first server of `destIn` and publish a ping. */
export async function checkNats(destIn: NatsDestination, options: NatsCheckOptions): Promise<BrokerCheck> {
  const dest: NatsDestination = options.timeoutMs ? { ...destIn, timeout: { connectMs: options.timeoutMs, ackMs: options.timeoutMs } } : destIn;
  const first = new URL(dest.servers[0].includes('://') ? dest.servers[0] : `nats://${dest.servers[0]}`);
  const server = redactUrl(first.toString()).replace(/\/$/, '');
  const repo = options.repo ?? { projectKey: 'PROJ', repoSlug: 'repo', repoId: 1 };
  const where = `subject ${natsSubject(dest, repo, true)}${dest.stream ? ` (stream ${dest.stream.name})` : ''}`;
  const base = { destination: dest.name, type: 'nats', target: `nats ${server} → ${where} (format ${dest.format})` };
  let connectOptions;
  try {
    connectOptions = natsConnectionOptions(dest);
  } catch (err) {
    return { ...base, steps: [{ step: 'setup', result: 'failed', ms: null, detail: (err as Error).message }], ack: null, ok: false, diagnosis: [(err as Error).message] };
  }
  const tlsOpts = (connectOptions.tls ?? {}) as { ca?: (string | Buffer)[]; cert?: Buffer; key?: Buffer };
  return checkBroker({
    destination: dest.name,
    type: 'nats',
    format: dest.format,
    server,
    where,
    greeting: 'nats-info',
    host: first.hostname.replace(/^\[|\]$/g, ''),
    port: Number(first.port || 4222),
    tls: {
      mode: dest.tls.enabled || first.protocol === 'tls:' ? 'after-info' : 'none',
      ca: tlsOpts.ca,
      cert: tlsOpts.cert,
      key: tlsOpts.key,
      verify: dest.tls.verify,
    },
    connectMs: dest.timeout.connectMs,
    async login() {
      const nc = await connect({ ...connectOptions, servers: [dest.servers[0]], reconnect: false });
      await nc.close();
    },
    publish: () => publishPing(dest, { node: options.node, repo }, createNatsSender(dest)),
    advise(stage, text) {
      if (stage === 'auth') {
        if (/authorization|authentication/i.test(text)) return `the server refused our credentials (${text}): check auth (username/password, token, nkeySeedFile or credsFile)`;
        return `could not log in: ${text}`;
      }
      if (/permission/i.test(text)) return `logged in, but not allowed to publish: ${text}`;
      if (/no stream/i.test(text)) return `published, but no JetStream stream takes the subject: create the stream, set stream.create: true, or fix subject`;
      return `the ping was not acknowledged: ${text}`;
    },
  });
}
