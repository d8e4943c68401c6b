// Deterministic identifiers. Rendering is pure, so every UUID and every
// number Bitbucket or GitHub would assign is derived by hashing: the same
// inputs always give the same id, and a retry re-sends identical bytes.

import { createHash } from 'node:crypto';

/**
 * A UUID (RFC 4122 layout, version 5 bits) from sha1 of the parts joined by NUL.
 * Use the delivery seed plus a purpose and index for per-request ids, or a
 * stable identity (user e-mail, destination name) for ids that must not change.
 */
export function derivedUuid(...parts: (string | number)[]): string {
  const h = createHash('sha1').update(parts.join('\u0000')).digest();
  h[6] = (h[6] & 0x0f) | 0x50;
  h[8] = (h[8] & 0x3f) | 0x80;
  const x = h.toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20, 32)}`;
}

/**
 * A positive 31-bit integer standing in for a numeric id the host cannot know
 * (Bitbucket user / project ids, GitHub hook ids): sha1("<kind>:<key>"), first
 * four bytes, top bit cleared, never 0. Stable across events and hosts.
 */
export function syntheticId(kind: string, key: string): number {
  const h = createHash('sha1').update(`${kind}:${key}`).digest();
  return h.readUInt32BE(0) & 0x7fffffff || 1;
}

/** Bitbucket's `hierarchyId`: 20 hex characters, here sha1("hierarchy:KEY/slug"). */
export function syntheticHierarchyId(projectKey: string, slug: string): string {
  return createHash('sha1').update(`hierarchy:${projectKey}/${slug}`).digest('hex').slice(0, 20);
}
