// What a broker publish produced, and its mapping onto the kind interface's
// transport-neutral SendResult (nats and amqp share both).

import type { Sender, SendResult } from './kind.ts';

/** The result of one publish attempt. Text fields are redacted. */
export interface PublishOutcome {
  outcome: 'delivered' | 'retry' | 'dead';
  /** Why it was not delivered (for the attempt log and dead letters). */
  reason: string | null;
  /** Short description of what happened: the ack, or the error. */
  detail: string;
  /** The broker answered sensibly (an ack, or a rejection of this one message): the path works. */
  pathWorks: boolean;
  latencyMs: number;
  /** Where it went: subject / exchange + routing key. */
  target: string;
}

/** The parts of a queued delivery a broker publish needs. */
export interface BrokerDelivery {
  id: string;
  headers: Record<string, string>;
  body: Buffer;
  projectKey: string;
  repoSlug: string;
  repoId: number | null;
}

/** The kind interface's SendResult of a publish outcome. */
export function toSendResult(p: PublishOutcome): SendResult {
  const common = { health: p.pathWorks ? ('up' as const) : ('down' as const), target: p.target, detail: p.detail, latencyMs: p.latencyMs, status: null, responseExcerpt: null, location: null };
  if (p.outcome === 'delivered') return { outcome: 'delivered', ...common };
  if (p.outcome === 'retry') return { outcome: 'retry', error: p.reason ?? p.detail, retryAfterMs: null, ...common };
  return { outcome: 'dead', reason: p.reason ?? p.detail, ...common };
}

/** `user:password@` of a URL, decoded, for masking (empty when none). */
export function urlSecrets(url: string): string[] {
  try {
    const u = new URL(url);
    return u.password ? [decodeURIComponent(u.password)] : [];
  } catch {
    return [];
  }
}

/** A broker client's sender (nats.js, amqplib), as the kind's sender wraps it. */
export interface BrokerSender {
  send(delivery: BrokerDelivery, signal?: AbortSignal): Promise<PublishOutcome>;
  close(): Promise<void>;
}

/**
 * The kind's Sender over a broker sender whose module (and client library)
 * is loaded on the first send: the CLI and a daemon without broker
 * destinations never load nats.js or amqplib (~1 s of start-up here).
 */
export function lazySender(load: () => Promise<BrokerSender>): Sender {
  let sender: Promise<BrokerSender> | null = null;
  const get = (): Promise<BrokerSender> => (sender ??= load());
  return {
    send: async (delivery, signal) => toSendResult(await (await get()).send(delivery, signal)),
    close: async () => {
      if (sender) await (await sender).close();
    },
  };
}
