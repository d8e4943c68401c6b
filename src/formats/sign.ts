// The HMAC scheme Bitbucket DC (X-Hub-Signature), Bitbucket Cloud and GitHub
// (X-Hub-Signature-256) share: `sha256=` + hex HMAC-SHA256 of the exact body.

import { createHmac } from 'node:crypto';

/** `sha256=<hex>` signature of `body` with `secret`; sign the bytes you send. */
export function signBody(secret: string, body: Buffer | string): string {
  return 'sha256=' + createHmac('sha256', secret).update(body).digest('hex');
}

/**
 * The header names a rendered request's `signatureHeader` names: one
 * (`X-Hub-Signature`) or several separated by commas
 * (`X-Hub-Signature, X-Hub-Signature-256`: one HMAC, every header a receiver
 * may read it from). Stored as one string so queued rows keep their shape.
 */
export function signatureHeaderNames(signatureHeader: string | null): string[] {
  if (!signatureHeader) return [];
  return signatureHeader.split(',').map((name) => name.trim()).filter((name) => name.length > 0);
}
