// What a broker publish produced, transport-neutral: the shape the
// destination-kind interface's send() outcome takes for nats and amqp.

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
