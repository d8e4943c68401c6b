// The validated, normalized configuration the daemon and CLI run on.
// Durations are milliseconds, sizes bytes, secrets resolved; every default
// applied. The YAML shape is documented in config/relay.example.yaml.

/** Who may read the web pages: a bearer token, or `user:password` (basic), read from a file at start. */
export interface WebAuthConfig {
  type: 'bearer' | 'basic';
  file: string;
}

/** Which wire format a destination speaks (see src/formats/). */
export type FormatName = 'cloudevents' | 'bitbucket-server' | 'bitbucket-cloud' | 'github' | 'pushevent';

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

/** Credentials sent with each request. */
export interface AuthConfig {
  bearer?: string;
  username?: string;
  password?: string;
}

/** Format-specific knobs (e.g. bitbucket-server `extended`, `commitLimit`). */
export interface FormatOptions {
  extended?: boolean;
  commitLimit?: number;
}

interface DestinationBase {
  name: string;
  enabled: boolean;
  match?: MatchConfig;
}

/** JSON Lines archive of events, fsync'd before the spool record goes. */
export interface FileDestination extends DestinationBase {
  type: 'file';
  path: string;
}

/** Events written to the daemon log. */
export interface LogDestination extends DestinationBase {
  type: 'log';
}

/** A webhook receiver. */
export interface HttpDestination extends DestinationBase {
  type: 'http';
  url: string;
  method: 'POST' | 'PUT';
  format: FormatName;
  formatOptions: FormatOptions;
  /** Receiver event names this destination gets (`repo:refs_changed`, `pr:merged`, `push`, `pull_request` …); undefined: the format's defaults. */
  events?: string[];
  headers: Record<string, string>;
  /** connect: TCP+TLS of a new connection; response: to the status line and longest body silence; total: the whole attempt, redirects included. */
  timeout: { connectMs: number; responseMs: number; totalMs: number };
  concurrency: number;
  secret?: string;
  auth?: AuthConfig;
  proxy?: string;
  tls: TlsConfig;
  retry: RetryConfig;
  followRedirects: boolean;
  /** Values `${ENV}` put into url, proxy or headers (e.g. a webhook key in the URL path): masked wherever printed. */
  envSecrets?: string[];
}

/** One configured destination. */
export type DestinationConfig = FileDestination | LogDestination | HttpDestination;

/** A repository whose identity config gives explicitly (path → KEY/slug). */
export interface RepositoryMapping {
  path: string;
  projectKey: string;
  slug: string;
}

/** The whole configuration. */
export interface RelayConfig {
  /** File it was loaded from, or null for built-in defaults. */
  file: string | null;
  node: string;
  spool: { dir: string; incompleteGraceMs: number; allowNetworkFs: boolean };
  store: { path: string; maxBytes: number; logMaxAgeMs: number; logMaxRows: number; bodyMaxAgeMs: number };
  bitbucket: { baseUrl: string | null; home: string | null; repositories: RepositoryMapping[] };
  analysis: {
    maxCommits: number;
    maxFilesPerCommit: number;
    maxMessageBytes: number;
    ignoreRefs: string[];
    issueKeys: { projects: string[]; ignore: string[] };
    triggerTags: string[];
  };
  intake: { concurrency: number };
  log: { level: 'error' | 'warn' | 'info' | 'debug'; format: 'auto' | 'json' | 'text' };
  admin: { socket: string };
  metrics: { listen: string | null };
  /** Read-only status pages (src/web); off when listen is null. */
  web: { listen: string | null; auth: WebAuthConfig | null };
  hooks: { autoInstall: boolean };
  destinations: DestinationConfig[];
}
