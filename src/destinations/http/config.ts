// `type: http` config: the schema fragment, the normalized shape and its
// checks (URL with placeholders, proxy, secrets from files, auth, TLS).

import type { QueuedDestinationConfig, TlsConfig } from '../../config/config-types.ts';
import type { DestinationConfig } from '../../config/config-types.ts';
import type { KindSchema, NormalizeContext } from '../kind.ts';
import { DURATION_SCHEMA, QUEUED_SCHEMA_PROPERTIES, normalizeQueuedFields } from '../queued-config.ts';
import { TLS_SCHEMA, normalizeTls } from '../tls-config.ts';
import { unknownUrlPlaceholders, URL_PLACEHOLDERS } from '../../route/destination-url.ts';

/** Credentials sent with each request. */
export interface AuthConfig {
  bearer?: string;
  username?: string;
  password?: string;
}

/** A webhook receiver. */
export interface HttpDestination extends QueuedDestinationConfig {
  type: 'http';
  url: string;
  method: 'POST' | 'PUT';
  headers: Record<string, string>;
  /** connect: TCP+TLS of a new connection; response: to the status line and longest body silence; total: the whole attempt, redirects included. */
  timeout: { connectMs: number; responseMs: number; totalMs: number };
  secret?: string;
  auth?: AuthConfig;
  proxy?: string;
  tls: TlsConfig;
  followRedirects: boolean;
  /** Values `${ENV}` put into url, proxy or headers (e.g. a webhook key in the URL path): masked wherever printed. */
  envSecrets?: string[];
}

/** The keys of `type: http` (beside name, type, enabled, match). */
export const HTTP_SCHEMA: KindSchema = {
  required: ['url'],
  properties: {
    url: { type: 'string' },
    method: { enum: ['POST', 'PUT'] },
    ...QUEUED_SCHEMA_PROPERTIES,
    headers: { type: 'object', additionalProperties: { type: 'string' } },
    timeout: {
      type: 'object',
      additionalProperties: false,
      properties: { connect: DURATION_SCHEMA, response: DURATION_SCHEMA, total: DURATION_SCHEMA },
    },
    secret: { type: 'string' },
    secretFile: { type: 'string' },
    auth: {
      type: 'object',
      additionalProperties: false,
      properties: {
        bearer: { type: 'string' },
        bearerFile: { type: 'string' },
        username: { type: 'string' },
        password: { type: 'string' },
        passwordFile: { type: 'string' },
      },
    },
    proxy: { type: 'string' },
    tls: TLS_SCHEMA,
    followRedirects: { type: 'boolean' },
  },
};

/** Normalize a schema-valid `type: http` mapping; problems go to ctx.report. */
export function normalizeHttp(d: Record<string, any>, base: DestinationConfig, ctx: NormalizeContext): HttpDestination | null {
  const path = ctx.path;
  if (d.path !== undefined) ctx.report([...path, 'path'], '"path" does not apply to type: http (did you mean url?)', true);
  const urlText = String(d.url);
  // Placeholders ({projectKey}, {repoSlug}, {repoId}) are filled per event.
  if (!isHttpUrl(urlText.replace(/\{(projectKey|repoSlug|repoId)\}/g, 'x'))) {
    ctx.report([...path, 'url'], `${JSON.stringify(redactUrlForError(urlText))} is not an http(s) URL`);
  }
  for (const u of unknownUrlPlaceholders(urlText)) {
    const fix = u.meant ? `did you mean {${u.meant}}?` : `use ${URL_PLACEHOLDERS.map((p) => `{${p}}`).join(', ')}`;
    ctx.report([...path, 'url'], `${u.found} is not a placeholder (it would be sent literally, as ${encodeURI(u.found)}); ${fix}`);
  }
  if (d.proxy !== undefined && !isHttpUrl(d.proxy)) {
    ctx.report([...path, 'proxy'], `${JSON.stringify(redactUrlForError(d.proxy))} is not an http(s) proxy URL; write e.g. http://proxy.corp:3128`);
  }
  if (d.secret !== undefined && d.secretFile !== undefined) ctx.report([...path, 'secretFile'], 'give either secret or secretFile, not both');
  const secret = d.secret ?? ctx.readSecretFile([...path, 'secretFile'], d.secretFile);
  let auth: AuthConfig | undefined;
  if (d.auth) {
    const a = d.auth;
    const bearer = a.bearer ?? ctx.readSecretFile([...path, 'auth', 'bearerFile'], a.bearerFile);
    const password = a.password ?? ctx.readSecretFile([...path, 'auth', 'passwordFile'], a.passwordFile);
    if (bearer !== undefined && a.username !== undefined) ctx.report([...path, 'auth'], 'give either bearer or username/password, not both');
    if ((a.username === undefined) !== (password === undefined)) ctx.report([...path, 'auth'], 'username and password go together');
    auth = { bearer, username: a.username, password };
  }
  const tls = normalizeTls(d.tls, ctx);
  const queued = normalizeQueuedFields(d, ctx);
  return {
    ...base,
    type: 'http',
    url: urlText,
    method: d.method ?? 'POST',
    format: queued.format,
    formatOptions: queued.formatOptions,
    ...(queued.events ? { events: queued.events } : {}),
    headers: d.headers ?? {},
    timeout: {
      connectMs: ctx.duration([...path, 'timeout', 'connect'], d.timeout?.connect, 10_000),
      responseMs: ctx.duration([...path, 'timeout', 'response'], d.timeout?.response, 30_000),
      totalMs: ctx.duration([...path, 'timeout', 'total'], d.timeout?.total, 60_000),
    },
    concurrency: queued.concurrency,
    secret,
    auth,
    proxy: d.proxy,
    tls,
    retry: queued.retry,
    followRedirects: d.followRedirects ?? false,
    envSecrets: ctx.envValues(['url', 'proxy', 'headers']),
  };
}

/** Whether `text` is an absolute http(s) URL with a host. */
export function isHttpUrl(text: string): boolean {
  try {
    const u = new URL(text);
    return (u.protocol === 'http:' || u.protocol === 'https:') && u.hostname !== '';
  } catch {
    return false;
  }
}

function redactUrlForError(text: string): string {
  return text.replace(/\/\/[^/@]*@/, '//***@');
}
