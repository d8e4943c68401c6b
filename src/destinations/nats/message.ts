// What a nats message is made of, without the client library (so config
// loading, `relay show` and status never load nats.js): the subject, the
// headers, and the files a connection needs (read up front: an unreadable
// one is a setup error naming the field).

import { readFileSync } from 'node:fs';
import { fillPlaceholders, subjectToken } from '../../route/destination-url.ts';
import type { BrokerDelivery } from '../broker-outcome.ts';
import { DestinationSetupError } from '../kind.ts';
import { readTlsMaterial } from '../tls-config.ts';
import type { NatsDestination } from './config.ts';

/** The subject of a delivery (placeholders filled, each value one token). */
export function natsSubject(dest: NatsDestination, repo: { projectKey: string; repoSlug: string; repoId: number | null }, forDisplay = false): string {
  return fillPlaceholders(dest.subject, { projectKey: repo.projectKey, slug: repo.repoSlug, id: repo.repoId }, { encode: subjectToken, forDisplay });
}

/** The message headers: format headers (`content-type` is the CloudEvents NATS binding's structured-mode header), config headers, X-Relay-Delivery. */
export function natsHeaderRecord(dest: NatsDestination, delivery: Pick<BrokerDelivery, 'id' | 'headers'>): Record<string, string> {
  const out: Record<string, string> = {};
  const put = (name: string, value: string): void => {
    out[name.toLowerCase() === 'content-type' ? 'content-type' : name] = value;
  };
  put('content-type', 'application/json');
  for (const k in delivery.headers) put(k, delivery.headers[k]);
  for (const k in dest.headers) put(k, dest.headers[k]);
  out['X-Relay-Delivery'] = delivery.id;
  return out;
}

/** The creds file and TLS material of a destination (throws DestinationSetupError naming the field). */
export function readNatsFiles(dest: NatsDestination): { creds: Buffer | null; tls: ReturnType<typeof readTlsMaterial> | null } {
  let creds: Buffer | null = null;
  if (dest.auth.credsFile !== undefined) {
    try {
      creds = readFileSync(dest.auth.credsFile);
    } catch (err) {
      throw new DestinationSetupError(`destination ${dest.name}: cannot read auth.credsFile ${dest.auth.credsFile} (${(err as NodeJS.ErrnoException).code}); check the path and that the service user may read it`);
    }
  }
  return { creds, tls: dest.tls.enabled ? readTlsMaterial(dest.tls, dest.name) : null };
}
