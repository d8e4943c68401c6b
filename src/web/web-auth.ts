// Who may read the web pages. On loopback anyone on the host may (like
// /metrics); anywhere else `web.auth` is required: a bearer token or basic
// `user:password`, read once at start from a file only the service user
// reads. Comparison is constant-time; the secret is never logged.

import { readFileSync } from 'node:fs';
import { timingSafeEqual, createHash } from 'node:crypto';
import type { WebAuthConfig } from '../config/config-types.ts';

/** Checks the Authorization header of a request. */
export interface WebAuth {
  readonly type: 'bearer' | 'basic';
  /** True when the header carries the configured credentials. */
  allows(authorization: string | undefined): boolean;
  /** The WWW-Authenticate challenge for a 401. */
  readonly challenge: string;
  /** The secret values, for masking in logs. */
  readonly secrets: string[];
}

/** True for addresses only this host can reach (127.0.0.0/8, ::1, localhost). */
export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host) || /^::ffff:127\./i.test(host);
}

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

/** Read `web.auth.file`; throws an operator-facing message when it is unusable. */
export function loadWebAuth(config: WebAuthConfig): WebAuth {
  let text: string;
  try {
    text = readFileSync(config.file, 'utf8');
  } catch (err) {
    throw new Error(`web.auth.file ${config.file}: cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); create it readable by the service user only`);
  }
  const secret = text.trim();
  if (!secret) throw new Error(`web.auth.file ${config.file} is empty; put the ${config.type === 'bearer' ? 'token' : 'user:password'} in it`);
  if (config.type === 'basic' && !/^[^:\s]+:.+$/.test(secret)) {
    throw new Error(`web.auth.file ${config.file}: basic auth needs one line "user:password"`);
  }
  if (config.type === 'bearer' && /\s/.test(secret)) throw new Error(`web.auth.file ${config.file}: a bearer token is one word without spaces`);
  const expected = config.type === 'bearer' ? `Bearer ${secret}` : `Basic ${Buffer.from(secret).toString('base64')}`;
  const want = digest(expected);
  return {
    type: config.type,
    challenge: config.type === 'bearer' ? 'Bearer realm="bitbucket-relay"' : 'Basic realm="bitbucket-relay", charset="UTF-8"',
    secrets: config.type === 'basic' ? [secret.slice(secret.indexOf(':') + 1), Buffer.from(secret).toString('base64')] : [secret],
    allows(authorization) {
      if (!authorization) return false;
      // Compare digests: equal length whatever was sent, so timing says nothing.
      return timingSafeEqual(digest(authorization.trim().replace(/^(bearer|basic)\s+/i, (m) => m[0].toUpperCase() + m.slice(1).toLowerCase().trimEnd() + ' ')), want);
    },
  };
}
