// The validated, normalized configuration the daemon and CLI run on.
// Durations are milliseconds, sizes bytes, secrets resolved; every default
// applied. The YAML shape is documented in config/relay.example.yaml.

import type { FormatName, FormatOptions } from '../formats/index.ts';

/** Who may read the web pages: a bearer token, or `user:password` (basic), read from a file at start. */
export interface WebAuthConfig {
  type: 'bearer' | 'basic';
  file: string;
}

/** Which wire format a destination speaks, and its knobs: defined by the format registry (src/formats/index.ts). */
export type { FormatName, FormatOptions };

/** Destination filters (issue 4 routing); every listed criterion must match. */
export interface MatchConfig {
  projects?: string[];
  repos?: string[];
  refs?: string[];
  changes?: ('create' | 'update' | 'delete')[];
  triggers?: string[];
  paths?: string[];
  requireIssueKey?: boolean;
}

/** Retry policy of one destination. */
export interface RetryConfig {
  baseDelayMs: number;
  maxDelayMs: number;
  horizonMs: number;
}

/** TLS settings of one destination. */
export interface TlsConfig {
  verify: boolean;
  ca?: string;
  cert?: string;
  key?: string;
}

/**
 * Fields every destination has, whatever its kind. The rest belongs to the
 * kind: src/destinations/<type>/ declares its config type (e.g. HttpDestination).
 */
export interface DestinationConfig {
  name: string;
  /** A key of src/destinations/registry.ts. */
  type: string;
  enabled: boolean;
  match?: MatchConfig;
}

/** Fields every queued destination has: the knobs of the generic queue and the format its bodies are rendered in. */
export interface QueuedDestinationConfig extends DestinationConfig {
  format: FormatName;
  formatOptions: FormatOptions;
  /** Receiver event names this destination gets (`repo:refs_changed`, `pr:merged`, `push`, `pull_request` …); undefined: the format's defaults. */
  events?: string[];
  /** Lanes (repositories) sending at once. */
  concurrency: number;
  retry: RetryConfig;
}

/** A repository whose identity config gives explicitly (path → KEY/slug). */
export interface RepositoryMapping {
  path: string;
  projectKey: string;
  slug: string;
}

/** Bitbucket's REST API as seen from this host (hook-script wiring, pull-request details); null when `bitbucket.api` is absent. */
export interface BitbucketApiConfig {
  /** Base URL without trailing slash (default http://localhost:7990). */
  url: string;
  /** File holding an HTTP access token (read at use, never printed); null: anonymous requests. */
  tokenFile: string | null;
  timeoutMs: number;
}

/** The whole configuration. */
export interface RelayConfig {
  /** File it was loaded from, or null for built-in defaults. */
  file: string | null;
  node: string;
  spool: { dir: string; incompleteGraceMs: number; allowNetworkFs: boolean };
  store: { path: string; maxBytes: number; logMaxAgeMs: number; logMaxRows: number; bodyMaxAgeMs: number };
  bitbucket: { baseUrl: string | null; home: string | null; repositories: RepositoryMapping[]; api: BitbucketApiConfig | null };
  analysis: {
    maxCommits: number;
    maxFilesPerCommit: number;
    maxMessageBytes: number;
    ignoreRefs: string[];
    issueKeys: { projects: string[]; ignore: string[] };
    triggerTags: string[];
    /** A git process silent (no output) this long is stopped and the push retried later (ms). */
    gitTimeoutMs: number;
  };
  intake: { concurrency: number };
  log: { level: 'error' | 'warn' | 'info' | 'debug'; format: 'auto' | 'json' | 'text' };
  admin: { socket: string };
  metrics: { listen: string | null };
  /** Read-only status pages (src/web); off when listen is null. */
  web: { listen: string | null; auth: WebAuthConfig | null };
  /** scriptsIntervalMs: how often the daemon enables the hook script on new projects (with bitbucket.api). */
  hooks: { autoInstall: boolean; scriptsIntervalMs: number };
  /** Reconciliation (src/reconcile): ref changes no hook reported, found by comparing refs with the known ones; watch: also on file-system notices. */
  reconcile: { enabled: boolean; intervalMs: number; graceMs: number; watch: boolean };
  destinations: DestinationConfig[];
}
