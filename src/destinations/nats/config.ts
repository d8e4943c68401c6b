// `type: nats` config (NATS JetStream): the schema fragment, the normalized
// shape and its checks (server URLs, subject tokens, stream, one kind of
// credentials, TLS). The YAML shape is documented in config/relay.example.yaml.

import { accessSync, constants as fsConstants } from 'node:fs';
import type { DestinationConfig, QueuedDestinationConfig, TlsConfig } from '../../config/config-types.ts';
import type { KindSchema, NormalizeContext } from '../kind.ts';
import { DURATION_SCHEMA, QUEUED_SCHEMA_PROPERTIES, normalizeQueuedFields } from '../queued-config.ts';
import { TLS_SCHEMA, normalizeTls } from '../tls-config.ts';

/** The stream deliveries must land in; created when absent if `create` is on. */
export interface NatsStreamConfig {
  name: string;
  /** Create it when absent (with the settings below); off: a missing stream dead-letters. */
  create: boolean;
  /** Subjects it captures (default: the destination's subject, each placeholder token as `*`). */
  subjects: string[];
  /** Messages older than this are removed (default 7d). */
  maxAgeMs: number;
  /** Window in which a repeated Nats-Msg-Id is dropped (default 2m, the server's own default). */
  duplicateWindowMs: number;
  storage: 'file' | 'memory';
  replicas: number;
}

/** Credentials: at most one of user/password, token, nkey seed, creds file. */
export interface NatsAuth {
  username?: string;
  password?: string;
  token?: string;
  /** An nkey seed (SU…), read from nkeySeedFile. */
  nkeySeed?: string;
  /** Path of a .creds file (JWT + nkey seed, from nsc), read when connecting. */
  credsFile?: string;
}

/** A NATS JetStream destination. */
export interface NatsDestination extends QueuedDestinationConfig {
  type: 'nats';
  /** nats://host:4222 or tls://host:4222, tried in order. */
  servers: string[];
  /** Subject template: {projectKey}, {repoSlug}, {repoId} filled per delivery (as one token each). */
  subject: string;
  /** The stream expected to capture the subject, or null to publish to whatever stream does. */
  stream: NatsStreamConfig | null;
  /** Extra NATS headers on every message. */
  headers: Record<string, string>;
  auth: NatsAuth;
  /** TLS is used when `tls:` is given or a server is tls://. */
  tls: TlsConfig & { enabled: boolean };
  timeout: { connectMs: number; ackMs: number };
  /** Values `${ENV}` put into servers, subject or headers: masked wherever printed. */
  envSecrets?: string[];
}

/** Default settings of a stream the relay creates (documented in docs/delivery.md). */
export const NATS_STREAM_DEFAULTS = {
  maxAgeMs: 7 * 86_400_000,
  duplicateWindowMs: 120_000,
  storage: 'file',
  replicas: 1,
} as const;

/** The subjects a created stream captures by default: every token with a placeholder becomes `*`. */
export function defaultStreamSubjects(subject: string): string[] {
  return [subject.split('.').map((t) => (/\{(projectKey|repoSlug|repoId)\}/.test(t) ? '*' : t)).join('.')];
}

/** The keys of `type: nats` (beside name, type, enabled, match). */
export const NATS_SCHEMA: KindSchema = {
  required: ['servers', 'subject'],
  properties: {
    servers: { anyOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' }, minItems: 1 }] },
    subject: { type: 'string' },
    stream: {
      anyOf: [
        { type: 'string' },
        {
          type: 'object',
          additionalProperties: false,
          required: ['name'],
          properties: {
            name: { type: 'string' },
            create: { type: 'boolean' },
            subjects: { type: 'array', items: { type: 'string' }, minItems: 1 },
            maxAge: DURATION_SCHEMA,
            duplicateWindow: DURATION_SCHEMA,
            storage: { enum: ['file', 'memory'] },
            replicas: { type: 'integer', minimum: 1, maximum: 5 },
          },
        },
      ],
    },
    ...QUEUED_SCHEMA_PROPERTIES,
    headers: { type: 'object', additionalProperties: { type: 'string' } },
    auth: {
      type: 'object',
      additionalProperties: false,
      properties: {
        username: { type: 'string' },
        password: { type: 'string' },
        passwordFile: { type: 'string' },
        token: { type: 'string' },
        tokenFile: { type: 'string' },
        nkeySeedFile: { type: 'string' },
        credsFile: { type: 'string' },
      },
    },
    tls: TLS_SCHEMA,
    timeout: { type: 'object', additionalProperties: false, properties: { connect: DURATION_SCHEMA, ack: DURATION_SCHEMA } },
  },
};

const PLACEHOLDER = /\{(projectKey|repoSlug|repoId)\}/g;

/** Why `subject` cannot be published to (with placeholders standing for one token), or null. */
export function subjectProblem(subject: string): string | null {
  const s = subject.replace(PLACEHOLDER, 'x');
  if (/\s/.test(s)) return 'has whitespace; NATS subjects are dot-separated tokens without spaces';
  if (/[*>]/.test(s)) return 'has a wildcard (* or >); a publish subject must be literal (placeholders: {projectKey}, {repoSlug}, {repoId})';
  if (s.split('.').some((t) => t === '')) return 'has an empty token (leading, trailing or double dot)';
  return null;
}

/** Normalize a schema-valid `type: nats` mapping; problems go to ctx.report. */
export function normalizeNats(d: Record<string, any>, base: DestinationConfig, ctx: NormalizeContext): NatsDestination | null {
  const path = ctx.path;
  const servers: string[] = (Array.isArray(d.servers) ? d.servers : [d.servers]).map(String);
  servers.forEach((s, i) => {
    const at = Array.isArray(d.servers) ? [...path, 'servers', i] : [...path, 'servers'];
    if (!isNatsServer(s)) ctx.report(at, `${JSON.stringify(s.replace(/\/\/[^/@]*@/, '//***@'))} is not a NATS server; write nats://host:4222 or tls://host:4222`);
  });
  const subject = String(d.subject);
  const bad = subjectProblem(subject);
  if (bad) ctx.report([...path, 'subject'], `${JSON.stringify(subject)} ${bad}`);

  let stream: NatsStreamConfig | null = null;
  if (d.stream !== undefined) {
    const raw = typeof d.stream === 'string' ? { name: d.stream } : d.stream;
    const name = String(raw.name);
    if (!/^[^\s.*>/\\]+$/.test(name)) ctx.report([...path, 'stream', ...(typeof d.stream === 'string' ? [] : ['name'])], `${JSON.stringify(name)} is not a stream name (no spaces, dots, *, >, slashes)`);
    stream = {
      name,
      create: raw.create ?? false,
      subjects: raw.subjects ?? defaultStreamSubjects(subject),
      maxAgeMs: ctx.duration([...path, 'stream', 'maxAge'], raw.maxAge, NATS_STREAM_DEFAULTS.maxAgeMs),
      duplicateWindowMs: ctx.duration([...path, 'stream', 'duplicateWindow'], raw.duplicateWindow, NATS_STREAM_DEFAULTS.duplicateWindowMs),
      storage: raw.storage ?? NATS_STREAM_DEFAULTS.storage,
      replicas: raw.replicas ?? NATS_STREAM_DEFAULTS.replicas,
    };
  }

  const a = d.auth ?? {};
  const auth: NatsAuth = {};
  const password = a.password ?? ctx.readSecretFile([...path, 'auth', 'passwordFile'], a.passwordFile);
  const token = a.token ?? ctx.readSecretFile([...path, 'auth', 'tokenFile'], a.tokenFile);
  const nkeySeed = ctx.readSecretFile([...path, 'auth', 'nkeySeedFile'], a.nkeySeedFile);
  if (a.password !== undefined && a.passwordFile !== undefined) ctx.report([...path, 'auth', 'passwordFile'], 'give either password or passwordFile, not both');
  if (a.token !== undefined && a.tokenFile !== undefined) ctx.report([...path, 'auth', 'tokenFile'], 'give either token or tokenFile, not both');
  if ((a.username === undefined) !== (password === undefined) && !(a.username === undefined && a.passwordFile !== undefined)) {
    ctx.report([...path, 'auth'], 'username and password go together');
  }
  const kinds = [a.username !== undefined, token !== undefined || a.tokenFile !== undefined, a.nkeySeedFile !== undefined, a.credsFile !== undefined].filter(Boolean).length;
  if (kinds > 1) ctx.report([...path, 'auth'], 'give one kind of credentials: username/password, token, nkeySeedFile or credsFile');
  if (a.username !== undefined) Object.assign(auth, { username: a.username, password });
  if (token !== undefined) auth.token = token;
  if (nkeySeed !== undefined) {
    if (!/^SU[A-Z2-7]{50,}$/.test(nkeySeed.trim())) ctx.report([...path, 'auth', 'nkeySeedFile'], 'does not hold a user nkey seed (a line starting with SU, as `nk -gen user` writes)');
    auth.nkeySeed = nkeySeed.trim();
  }
  if (a.credsFile !== undefined) {
    auth.credsFile = ctx.resolvePath(a.credsFile);
    try {
      accessSync(auth.credsFile, fsConstants.R_OK);
    } catch (err) {
      ctx.report([...path, 'auth', 'credsFile'], `cannot read ${auth.credsFile} (${(err as NodeJS.ErrnoException).code}); check the path and that the service user may read it`);
    }
  }

  const tls = normalizeTls(d.tls, ctx);
  const queued = normalizeQueuedFields(d, ctx);
  return {
    ...base,
    type: 'nats',
    ...queued,
    servers,
    subject,
    stream,
    headers: d.headers ?? {},
    auth,
    tls: { ...tls, enabled: d.tls !== undefined || servers.some((s) => s.startsWith('tls://')) },
    timeout: {
      connectMs: ctx.duration([...path, 'timeout', 'connect'], d.timeout?.connect, 10_000),
      ackMs: ctx.duration([...path, 'timeout', 'ack'], d.timeout?.ack, 30_000),
    },
    envSecrets: ctx.envValues(['servers', 'subject', 'headers']),
  };
}

function isNatsServer(text: string): boolean {
  const withScheme = /^[a-z]+:\/\//.test(text) ? text : `nats://${text}`;
  try {
    const u = new URL(withScheme);
    return ['nats:', 'tls:'].includes(u.protocol) && u.hostname !== '';
  } catch {
    return false;
  }
}
