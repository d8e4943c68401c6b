// The HMAC scheme Bitbucket DC (X-Hub-Signature), Bitbucket Cloud and GitHub
// (X-Hub-Signature-256) share: `sha256=` + hex HMAC-SHA256 of the exact body.

import { createHmac } from 'node:crypto';

/** `sha256=<hex>` signature of `body` with `secret`; sign the bytes you send. */
export function signBody(secret: string, body: Buffer | string): string {
  return 'sha256=' + createHmac('sha256', secret).update(body).digest('hex');
}
