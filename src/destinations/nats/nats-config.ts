// The normalized config of a `type: nats` destination (NATS JetStream).
// The YAML shape is documented in config/relay.example.yaml.

import type { FormatName, FormatOptions, MatchConfig, RetryConfig, TlsConfig } from '../../config/config-types.ts';

/** The stream the relay creates when `stream.create` is on and it is absent. */
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
  /** Path of a .creds file (JWT + nkey seed, from nsc). */
  credsFile?: string;
}

/** A NATS JetStream destination. */
export interface NatsDestination {
  name: string;
  type: 'nats';
  enabled: boolean;
  match?: MatchConfig;
  /** nats://host:4222 or tls://host:4222, tried in order. */
  servers: string[];
  /** Subject template: {projectKey}, {repoSlug}, {repoId} filled per delivery (as one token each). */
  subject: string;
  /** The stream expected to capture the subject, or null to publish to whatever stream does. */
  stream: NatsStreamConfig | null;
  format: FormatName;
  formatOptions: FormatOptions;
  /** Extra NATS headers on every message. */
  headers: Record<string, string>;
  auth: NatsAuth;
  tls: TlsConfig & { enabled: boolean };
  timeout: { connectMs: number; ackMs: number };
  concurrency: number;
  retry: RetryConfig;
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
