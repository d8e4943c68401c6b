// What a broker publish produced, and its mapping onto the kind interface's
// transport-neutral SendResult (nats and amqp share both).

import type { SendResult } from './kind.ts';

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
