// Delivery ids are derived, not random: the same (event, destination, request
// index) always gives the same id, so re-processing a spool record after a
// crash writes the same rows, and consumers can de-duplicate on the header.

import { createHash } from 'node:crypto';

/** Stable UUID-shaped id (RFC 9562 version 8) for one request of one event to one destination. */
export function deliveryIdFor(eventId: string, destination: string, index: number): string {
  const h = createHash('sha256').update(`${eventId}\u0000${destination}\u0000${index}`).digest();
  h[6] = (h[6] & 0x0f) | 0x80; // version 8: custom
  h[8] = (h[8] & 0x3f) | 0x80; // RFC 4122 variant
  const hex = h.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

/** The render seed for (event, destination): the id of its first request. */
export function renderSeedFor(eventId: string, destination: string): string {
  return deliveryIdFor(eventId, destination, 0);
}

/** "PROJ/slug": the repository part of a FIFO lane. */
export function repoKeyOf(projectKey: string, slug: string): string {
  return `${projectKey}/${slug}`;
}
