// Enqueue: the event and one delivery row per rendered request, for a whole
// batch of events, in ONE transaction (group commit: one fsync for many
// pushes). Idempotent: re-enqueueing an event (crash between commit and spool
// removal) writes nothing new because every id is derived. A delivery row
// that cannot be inserted is an error (the whole transaction rolls back and
// the spool record stays), never a silent skip; the event records how many
// rows it got, for the invariant check (invariants.ts).

import type { PushEvent } from '../event/push-event.ts';
import { StoreError, type Store } from './store.ts';
import { deliveryIdFor, repoKeyOf } from '../route/delivery-id.ts';

/** One request to store: what the format rendered (auth and signatures are added at send time, never stored). */
export interface QueuedRequest {
  /** Format headers, no secrets. */
  headers: Record<string, string>;
  /** Exact body bytes. */
  body: Buffer;
  /** Header that will carry the body signature when the destination has a secret, or null. */
  signatureHeader: string | null;
  /** What it covers, for status/show (e.g. the ref). */
  label: string;
}

/** The requests one destination receives for an event. */
export interface DestinationRequests {
  destination: string;
  requests: QueuedRequest[];
}

/** One event and everything it fans out to. */
export interface EnqueueItem {
  event: PushEvent;
  deliveries: DestinationRequests[];
}

/** What enqueue wrote. */
export interface EnqueueResult {
  events: number;
  deliveries: number;
  /** Items whose event was already stored (re-processed spool records). */
  duplicates: number;
}

const INSERT_EVENT = `INSERT OR IGNORE INTO events
  (id, time, repo_key, project_key, repo_slug, repo_id, trigger, json, created_at)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`;

const INSERT_DELIVERY = `INSERT INTO deliveries
  (id, seq, event_id, request_index, destination, repo_key, label, headers, signature_header,
   body_id, body_bytes, state, attempts, next_attempt_at, created_at)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', 0, ?, ?)`;

/** Durably store a batch of events with their deliveries (one transaction); wakes a same-process dispatcher. */
export function enqueue(store: Store, batch: readonly EnqueueItem[], now: number = Date.now()): EnqueueResult {
  const insertEvent = store.statement(INSERT_EVENT);
  const insertDelivery = store.statement(INSERT_DELIVERY);
  const insertBody = store.statement('INSERT INTO bodies (body) VALUES (?)');
  // Every destination that has rows shows up in status, even before its first attempt.
  const countDeliveries = store.statement('UPDATE events SET deliveries = ? WHERE id = ?');
  const registerDestination = store.statement('INSERT OR IGNORE INTO destination_state (name) VALUES (?)');
  const seen = new Set<string>();
  const lanes = new Map<string, { destination: string; repoKey: string }>();
  const result: EnqueueResult = { events: 0, deliveries: 0, duplicates: 0 };
  store.transaction(() => {
    for (const { event, deliveries } of batch) {
      const repo = event.repository;
      const repoKey = repoKeyOf(repo.projectKey, repo.slug);
      const inserted = insertEvent.run(
        event.id, event.time, repoKey, repo.projectKey, repo.slug, repo.id, event.trigger,
        JSON.stringify(event), now,
      );
      if (inserted.changes === 0) {
        result.duplicates++;
        continue;
      }
      result.events++;
      let rows = 0;
      for (const { destination, requests } of deliveries) {
        if (!seen.has(destination)) {
          seen.add(destination);
          registerDestination.run(destination);
        }
        requests.forEach((req, index) => {
          const id = deliveryIdFor(event.id, destination, index);
          const bodyId = insertBody.run(req.body).lastInsertRowid;
          const seq = store.nextSeq();
          try {
            insertDelivery.run(
              id, seq, event.id, index, destination, repoKey, req.label,
              JSON.stringify(req.headers), req.signatureHeader, bodyId, req.body.length, now, now,
            );
          } catch (err) {
            throw new StoreError(`store ${store.path}: cannot queue delivery ${id} (event ${event.id} → ${destination}, seq ${seq}): ${(err as Error).message}; nothing of this batch was stored, its spool records stay and are retried`);
          }
          rows++;
          result.deliveries++;
        });
        if (requests.length > 0) lanes.set(`${destination}\u0000${repoKey}`, { destination, repoKey });
      }
      countDeliveries.run(rows, event.id);
    }
  });
  if (lanes.size > 0) store.notify({ kind: 'enqueued', lanes: [...lanes.values()] });
  return result;
}
