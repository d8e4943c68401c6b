// What of an http destination is secret, and how to print it without them:
// the signing secret, auth, URL credentials / tokens, auth-like headers and
// values ${ENV} put into url, proxy or headers.

import { REDACTED, basicCredential, isSecretHeader, maskHeaderValues, maskSecrets, redactHeaders, redactText, redactUrl, urlSecrets } from '../../log/redact.ts';
import type { HttpDestination } from './config.ts';

/** The secret values of one http destination. */
export function httpSecrets(d: HttpDestination): string[] {
  const out: string[] = [];
  if (d.secret) out.push(d.secret);
  out.push(...(d.envSecrets ?? []));
  if (d.auth?.bearer) out.push(d.auth.bearer);
  if (d.auth?.password) out.push(d.auth.password);
  // Basic credentials travel base64-encoded; a receiver echoing its request headers would print them so.
  if (d.auth?.username !== undefined && d.auth.password) out.push(basicCredential(d.auth.username, d.auth.password));
  for (const [name, value] of Object.entries(d.headers)) if (isSecretHeader(name)) out.push(value);
  for (const url of [d.url, d.proxy]) if (url) out.push(...urlSecrets(url));
  return out.filter((s) => s.length > 0);
}

/** The destination's URL (or one derived from it) safe to print: credentials, token-like query values and every secret value masked. */
export function redactHttpUrl(d: HttpDestination, url?: string): string {
  // The URL's own user:password@ is already ***:***@ (redactUrl); only the secret values remain to mask.
  return maskSecrets(redactUrl(url ?? d.url), httpSecrets(d).filter((s) => s.length >= 4));
}

/** A copy of the destination's config safe to print. */
export function redactHttpConfig(d: HttpDestination): Record<string, unknown> {
  const secrets = httpSecrets(d);
  return {
    ...d,
    url: redactHttpUrl(d),
    proxy: d.proxy && redactHttpUrl(d, d.proxy),
    secret: d.secret === undefined ? undefined : REDACTED,
    headers: maskHeaderValues(redactHeaders(d.headers), (text) => redactText(text, secrets)),
    envSecrets: d.envSecrets?.length ? `${d.envSecrets.length} value(s) from the environment, masked` : undefined,
    auth: d.auth && {
      bearer: d.auth.bearer === undefined ? undefined : REDACTED,
      username: d.auth.username,
      password: d.auth.password === undefined ? undefined : REDACTED,
    },
  };
}
