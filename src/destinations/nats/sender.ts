// Publishes deliveries to NATS JetStream. One connection per destination,
// opened on the first send and again on the send after it closed (nats.js's
// own reconnect is off: it would leak a socket per attempt on a server that
// accepts but never greets; the engine's backoff paces our attempts). A delivery counts as
// delivered only on the PubAck; the delivery id is the JetStream message id
// (Nats-Msg-Id), so the stream's duplicate window drops the resends that
// at-least-once delivery makes (a lost ack, a daemon killed before it
// recorded the ack). Errors are classified, never thrown: a missing stream
// (with creation off), a permission violation or a too-large message are
// dead; connection trouble and timeouts retry.

import { performance } from 'node:perf_hooks';
import {
  connect,
  credsAuthenticator,
  headers as natsHeaders,
  nkeyAuthenticator,
  type ConnectionOptions,
  type NatsConnection,
} from '@nats-io/transport-node';
import { jetstream, jetstreamManager, JetStreamApiError, type JetStreamClient, type PubAck } from '@nats-io/jetstream';
import type { BrokerDelivery, PublishOutcome } from '../broker-outcome.ts';
import type { NatsDestination } from './config.ts';
import { natsHeaderRecord, natsSubject, readNatsFiles } from './message.ts';
import { greetingServers } from './greeting.ts';

/** Sends one nats destination's deliveries. */
export interface NatsSender {
  send(delivery: BrokerDelivery, signal?: AbortSignal): Promise<PublishOutcome>;
  close(): Promise<void>;
}

/** The connection options of a destination (reads its TLS / creds files; throws DestinationSetupError naming the field). */
export function natsConnectionOptions(dest: NatsDestination): ConnectionOptions {
  const o: ConnectionOptions = {
    servers: dest.servers,
    name: `bitbucket-relay/${dest.name}`,
    timeout: dest.timeout.connectMs,
    reconnect: false,
    // Frequent pings notice a dead server (a cut network) within seconds.
    pingInterval: 10_000,
    maxPingOut: 2,
    // nats.js otherwise builds two Error objects with stack traces per request (publish) in case it
    // fails: ~15 % of the publishing CPU in the broker benchmark (102 → 87 µs per delivery). Our errors are classified by
    // name and message; the stack of the call site was never shown.
    noAsyncTraces: true,
  };
  const a = dest.auth;
  if (a.username !== undefined) {
    o.user = a.username;
    o.pass = a.password;
  }
  if (a.token !== undefined) o.token = a.token;
  if (a.nkeySeed !== undefined) o.authenticator = nkeyAuthenticator(new TextEncoder().encode(a.nkeySeed));
  const files = readNatsFiles(dest);
  if (files.creds) o.authenticator = credsAuthenticator(new Uint8Array(files.creds));
  // Handed to node:tls by the transport (ca, cert, key, rejectUnauthorized).
  if (files.tls) o.tls = files.tls as unknown as ConnectionOptions['tls'];
  return o;
}

/** The NATS headers of a delivery (natsHeaderRecord as nats.js headers). */
export function natsMessageHeaders(dest: NatsDestination, delivery: BrokerDelivery): ReturnType<typeof natsHeaders> {
  const h = natsHeaders();
  for (const [k, v] of Object.entries(natsHeaderRecord(dest, delivery))) h.set(k, v);
  return h;
}

/** Create the sender (throws DestinationSetupError on unreadable files). */
export function createNatsSender(dest: NatsDestination): NatsSender {
  const options = natsConnectionOptions(dest);
  let conn: Promise<{ nc: NatsConnection; js: JetStreamClient }> | null = null;
  let streamReady: Promise<void> | null = null;
  let closed = false;

  const connection = (): Promise<{ nc: NatsConnection; js: JetStreamClient }> => {
    if (!conn) {
      // Only servers that sent their INFO greeting on a socket we close ourselves (see greeting.ts).
      const p = greetingServers(dest.servers, dest.timeout.connectMs).then((servers) => connect({ ...options, servers })).then((nc) => {
        // A closed connection (auth expired, closed by us) is opened again on the next send.
        void nc.closed().then(() => {
          if (conn === p) conn = null;
        });
        return { nc, js: jetstream(nc, { timeout: dest.timeout.ackMs }) };
      });
      conn = p;
      p.catch(() => {
        if (conn === p) conn = null;
      });
    }
    return conn;
  };

  const ensureStream = (nc: NatsConnection): Promise<void> => {
    const s = dest.stream;
    if (!s || !s.create) return Promise.resolve();
    if (!streamReady) {
      const p = (async () => {
        const jsm = await jetstreamManager(nc, { timeout: dest.timeout.ackMs });
        try {
          await jsm.streams.info(s.name);
        } catch (err) {
          if (!(err instanceof JetStreamApiError) || err.code !== 10059) throw err;
          await jsm.streams.add({
            name: s.name,
            subjects: s.subjects,
            max_age: s.maxAgeMs * 1_000_000,
            duplicate_window: s.duplicateWindowMs * 1_000_000,
            storage: s.storage as never,
            num_replicas: s.replicas,
          });
        }
      })();
      streamReady = p;
      p.catch(() => {
        if (streamReady === p) streamReady = null;
      });
    }
    return streamReady;
  };

  return {
    async send(delivery, signal) {
      const started = performance.now();
      const latency = (): number => Math.round(performance.now() - started);
      let subject: string;
      try {
        subject = natsSubject(dest, delivery);
      } catch (err) {
        // {repoId} unknown: a config problem; retried once the subject is fixed.
        return { outcome: 'retry', reason: (err as Error).message, detail: (err as Error).message, pathWorks: false, latencyMs: 0, target: natsSubject(dest, delivery, true) };
      }
      const fail = (err: unknown, stage: string): PublishOutcome => ({ ...classifyNatsError(err, dest, stage), latencyMs: latency(), target: subject });
      if (closed) return fail(new Error('sender closed (daemon stopping)'), 'publish');
      if (signal?.aborted) return fail(new Error('aborted (daemon stopping)'), 'publish');
      let c: { nc: NatsConnection; js: JetStreamClient };
      try {
        c = await connection();
      } catch (err) {
        return fail(err, 'connect');
      }
      try {
        await ensureStream(c.nc);
      } catch (err) {
        return fail(err, 'stream');
      }
      let ack: PubAck;
      try {
        ack = await c.js.publish(subject, delivery.body, {
          msgID: delivery.id,
          headers: natsMessageHeaders(dest, delivery),
          timeout: dest.timeout.ackMs,
          ...(dest.stream ? { expect: { streamName: dest.stream.name } } : {}),
        });
      } catch (err) {
        if (isNoStream(err)) {
          // Nobody answered the publish: no stream captures the subject, or JetStream is down. Ask which.
          const missing = await streamMissing(c.nc, subject, dest.timeout.ackMs);
          if (missing && dest.stream?.create) {
            // Deleted since we made it: make it again before the next attempt.
            streamReady = null;
            const text = `stream ${dest.stream.name} is gone; it is created again on the next attempt`;
            return { outcome: 'retry', reason: text, detail: text, pathWorks: true, latencyMs: latency(), target: subject };
          }
          if (missing) {
            return {
              outcome: 'dead',
              reason: `no JetStream stream captures subject ${subject}${dest.stream ? ` (stream ${dest.stream.name}${dest.stream.create ? '' : '; stream.create is off'})` : ''}; create the stream or fix subject`,
              detail: `publish to ${subject}: no stream`,
              pathWorks: true,
              latencyMs: latency(),
              target: subject,
            };
          }
        }
        return fail(err, 'publish');
      }
      return {
        outcome: 'delivered',
        reason: null,
        detail: `PubAck stream ${ack.stream} seq ${ack.seq}${ack.duplicate ? ' (duplicate: already stored)' : ''}`,
        pathWorks: true,
        latencyMs: latency(),
        target: subject,
      };
    },
    async close() {
      closed = true;
      const c = conn;
      conn = null;
      if (!c) return;
      try {
        const { nc } = await c;
        if (nc.isClosed()) return;
        // Drain flushes what is buffered; bounded, in case the server stops answering.
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([nc.drain(), new Promise((resolve) => (timer = setTimeout(resolve, 2000)))]);
        clearTimeout(timer);
        if (!nc.isClosed()) await nc.close();
      } catch {
        // never connected, or already closed
      }
    },
  };
}

function isNoStream(err: unknown): boolean {
  const e = err as { name?: string; message?: string };
  return e?.name === 'JetStreamNotEnabled' || /no responders|jetstream is not enabled/i.test(String(e?.message));
}

/** True when JetStream answers and no stream captures `subject`; false when it cannot tell (JetStream down). */
async function streamMissing(nc: NatsConnection, subject: string, timeoutMs: number): Promise<boolean> {
  try {
    const jsm = await jetstreamManager(nc, { timeout: timeoutMs });
    await jsm.streams.find(subject);
    return false;
  } catch (err) {
    return /no stream matches subject/i.test(String((err as Error).message));
  }
}

/** Retry or dead for an error, with a line an operator can act on. */
export function classifyNatsError(err: unknown, dest: Pick<NatsDestination, 'timeout' | 'stream'>, stage: string): Omit<PublishOutcome, 'latencyMs' | 'target'> {
  const e = err as { name?: string; message?: string; code?: unknown };
  const message = String(e?.message ?? err);
  const name = e?.name ?? 'Error';
  const retry = (text: string): Omit<PublishOutcome, 'latencyMs' | 'target'> => ({ outcome: 'retry', reason: text, detail: text, pathWorks: false });
  const dead = (text: string): Omit<PublishOutcome, 'latencyMs' | 'target'> => ({ outcome: 'dead', reason: text, detail: text, pathWorks: true });
  if (name === 'PermissionViolationError' || /permissions violation/i.test(message)) {
    return dead(`${stage}: permission denied (${message}); allow this user to publish to the subject (and to use the JetStream API when stream.create is on)`);
  }
  if (name === 'AuthorizationError' || /authorization violation|authentication/i.test(message)) {
    return dead(`${stage}: the server refused our credentials (${message}); check auth`);
  }
  if (e instanceof JetStreamApiError) {
    const code = e.code;
    // 10060: the subject is captured by another stream than `stream.name`.
    if (code === 10060) return dead(`${stage}: ${message}; subject is captured by another stream than ${dest.stream?.name}`);
    if (code === 10059) return dead(`${stage}: stream ${dest.stream?.name} not found (stream.create is off); create it or set stream.create: true`);
    if (code === 10054 || /maximum payload|message size/i.test(message)) return dead(`${stage}: message too large for the stream (${message})`);
    return retry(`${stage}: JetStream error ${code}: ${message}`);
  }
  if (/maximum payload/i.test(message)) return dead(`${stage}: message larger than the server's max_payload (${message})`);
  if (name === 'TimeoutError' || /timeout/i.test(message)) {
    return retry(`${stage}: no ${stage === 'connect' ? 'connection' : 'PubAck'} within ${stage === 'connect' ? dest.timeout.connectMs : dest.timeout.ackMs}ms (${message})`);
  }
  const code = typeof e?.code === 'string' && !message.includes(e.code) ? `${e.code}: ` : '';
  return retry(`${stage}: ${code}${message}`);
}
