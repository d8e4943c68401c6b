// The seam between the generic delivery machinery and one kind of
// destination. The queue, lanes, retry horizon, backoff, circuit, dead
// letters, redelivery, pause/resume, status and metrics know no kind: they
// talk to a kind only through this interface. A kind lives in its own folder
// (src/destinations/<type>/) and is listed once in registry.ts.

import type { DestinationConfig, QueuedDestinationConfig } from '../config/config-types.ts';
import type { PushEvent } from '../event/push-event.ts';
import type { Log } from '../log/logger.ts';
import type { AttemptTimings } from './timings.ts';

export type { AttemptTimings } from './timings.ts';

/** A key path in the config document, e.g. ['destinations', 2, 'subject']. */
export type ConfigPath = (string | number)[];

/** What a kind's normalize() is given besides the raw mapping. */
export interface NormalizeContext {
  /** This destination's path: ['destinations', i]. */
  path: ConfigPath;
  /**
   * Report a problem; printed as `config: relay.yaml:12:5: destinations[2].subject: <message>`.
   * keyOnly points at the key instead of its value (unknown / misplaced keys).
   */
  report(path: ConfigPath, message: string, keyOnly?: boolean): void;
  /** Absolute path of a file named in the config (relative to the config file's directory). */
  resolvePath(file: string): string;
  /** Milliseconds of a duration value ("30s", 500); reports a bad one at `path`; `dflt` when absent. */
  duration(path: ConfigPath, value: unknown, dflt: number): number;
  /** The contents of a *File key (one trailing newline removed); undefined when `file` is; reports an unreadable file at `path`. */
  readSecretFile(path: ConfigPath, file: string | undefined): string | undefined;
  /** Values `${ENV}` substitution put under the given keys of this destination (any may be a credential: mask them). */
  envValues(keys: readonly string[]): string[];
}

/** JSON Schema of the keys a kind adds to a destination mapping (beside name, type, enabled, match). */
export interface KindSchema {
  properties: Record<string, unknown>;
  required?: readonly string[];
}

/** One queued delivery as a sender gets it: the stored request parts and its repository (for placeholders). */
export interface OutgoingDelivery {
  /** Delivery id: X-Relay-Delivery, Nats-Msg-Id, AMQP messageId … (stable across retries and replays). */
  id: string;
  /** Format headers (no secrets; auth and signatures are added at send time). */
  headers: Record<string, string>;
  body: Buffer;
  /** Header that carries the body signature when the destination has a secret, or null. */
  signatureHeader: string | null;
  projectKey: string;
  repoSlug: string;
  repoId: number | null;
}

/** Transport-neutral outcome of one attempt. */
export type SendOutcome =
  | { outcome: 'delivered' }
  /** Try again later: after `retryAfterMs` when the receiver asked for it, else after the destination's backoff. */
  | { outcome: 'retry'; error: string; retryAfterMs: number | null }
  /** Never worth retrying (e.g. HTTP 4xx, permission denied, stream not found): dead letter at once. */
  | { outcome: 'dead'; reason: string };

/** What one attempt produced. Every text is already redacted by the sender. */
export type SendResult = SendOutcome & {
  /**
   * Circuit hint: 'up' when the destination itself answered sensibly (delivered,
   * or refused this one delivery), 'down' when the path failed (connection,
   * timeout, overload); consecutive 'down's open the circuit.
   */
  health: 'up' | 'down';
  /** Where the attempt went, safe to print (URL, subject, exchange + routing key). */
  target: string;
  /** Short kind-specific detail for the attempt log ("PubAck stream EVENTS seq 42", "confirmed"), or null. */
  detail: string | null;
  latencyMs: number;
  /** HTTP status where there is one (http kinds), else null. */
  status: number | null;
  /** Start of the response body (≤ 2 KiB), or null. */
  responseExcerpt: string | null;
  /** Location of a redirect that was not followed, or null. */
  location: string | null;
  /** The receiver's response headers, redacted and capped (redactResponseHeaders); null without a response or for kinds without headers. */
  responseHeaders?: Record<string, string> | null;
  /** Per-phase timings (http kinds), else absent/null. */
  timings?: AttemptTimings | null;
};

/** Sends one destination's deliveries over its own connections. */
export interface Sender {
  /** Never rejects for transport trouble: that is an outcome. Rejects only on a bug. `signal` aborts at shutdown. */
  send(delivery: OutgoingDelivery, signal?: AbortSignal): Promise<SendResult>;
  /** Close connections (after in-flight sends settled). */
  close(): void | Promise<void>;
}

/** What createSender gets besides the config. */
export interface SenderContext {
  /** Environment (HTTPS_PROXY / NO_PROXY …). */
  env: NodeJS.ProcessEnv;
  /** Logger bound to the destination. */
  log: Log;
}

/** A stored delivery as `relay show` describes it. */
export interface StoredRequest {
  id: string;
  headers: Record<string, string>;
  body: Buffer;
  signatureHeader: string | null;
  projectKey: string;
  repoSlug: string;
  repoId: number | null;
  /** Where its last attempt went (attempts.target, e.g. after a redirect), or null when not tried yet. */
  lastTarget: string | null;
}

/** The request as it would go out now, secrets redacted (`relay show`). */
export interface RequestView {
  /** One line: "POST https://ci.example/hook", "publish relay.PROJ.repo (stream EVENTS)" … */
  target: string;
  /** Headers / message properties as sent, secrets as ***. */
  headers: Record<string, string>;
  /** Kind-specific keys for `relay show --json` (http: method, url; a broker: subject, stream …). */
  [key: string]: unknown;
}

/** One step of `relay test` (DNS, TCP, TLS, auth, publish, http …). */
export interface CheckStep {
  step: string;
  /** ok, failed, warning (works but is risky), or skipped (an earlier step failed). */
  result: 'ok' | 'failed' | 'warning' | 'skipped';
  ms: number | null;
  detail: string;
}

/** What `relay test` found for one destination. */
export interface PreflightCheck {
  destination: string;
  type: string;
  /** What was tested, safe to print ("POST https://… (format github) via proxy …", "nats://h:4222 subject …"). */
  target: string;
  steps: CheckStep[];
  ok: boolean;
  /** Plain-language findings, most important first. */
  diagnosis: string[];
}

/** Options of a pre-flight check. */
export interface CheckOptions {
  env: NodeJS.ProcessEnv;
  /** Node name put in the test message. */
  node: string;
  /** Overrides the destination's connect/response timeouts. */
  timeoutMs?: number;
  /** Fills placeholders ({projectKey}, {repoSlug}, {repoId}) in the target. */
  repo?: { projectKey: string; repoSlug: string; repoId: number | null };
}

/** What every kind provides. `C` is its normalized config. */
interface KindCommon<C extends DestinationConfig> {
  /** The `type:` value. */
  readonly type: string;
  readonly schema: KindSchema;
  /**
   * Turn the schema-valid mapping into the kind's config. `base` holds the
   * generic fields (name, type, enabled, match). Report every problem with
   * ctx.report; return null when the destination cannot be built at all.
   */
  normalize(raw: Record<string, any>, base: DestinationConfig, ctx: NormalizeContext): C | null;
  /** The target for status / show / logs, secrets redacted ("https://ci/***", "/var/log/relay.jsonl"). */
  describeTarget(dest: C): string;
  /** Every secret value of the destination, for masking printed text. */
  secrets(dest: C): string[];
  /** A copy of the config safe to print (`relay config check`). */
  redactConfig(dest: C): Record<string, unknown>;
  /** Warnings about a working but risky config (e.g. TLS verification off); logged once at start and reload. */
  warnings(dest: C): string[];
  /** `relay test`: walk the path step by step and send a test message. Never throws for network trouble. */
  check(dest: C, options: CheckOptions): Promise<PreflightCheck>;
}

/** A kind whose deliveries go through the durable queue (http, nats, amqp). */
export interface QueuedKind<C extends QueuedDestinationConfig = QueuedDestinationConfig> extends KindCommon<C> {
  readonly delivery: 'queued';
  /** The sender for a (re)loaded config. Throws DestinationSetupError (message names the field) when the config cannot be used yet. */
  createSender(dest: C, ctx: SenderContext): Sender;
  /** The request `relay show` prints for a stored delivery. */
  describeRequest(dest: C, delivery: StoredRequest): RequestView;
  /** The longest one attempt may take (http: timeout.total); an attempt in flight longer is reported as stalled in status. */
  maxAttemptMs(dest: C): number;
}

/** A kind written inline, durable before the spool record goes (file, log). */
export interface InlineKind<C extends DestinationConfig = DestinationConfig> extends KindCommon<C> {
  readonly delivery: 'inline';
  /** Open the sink (e.g. the file); reopened when the destination's config changes. */
  open(dest: C, ctx: { log: Log }): Promise<InlineSink>;
}

/** An open inline destination. */
export interface InlineSink {
  /** Write routed events; resolves once durable. */
  write(events: readonly PushEvent[]): Promise<void>;
  close(): Promise<void>;
}

/** Any destination kind. */
export type DestinationKind = QueuedKind<any> | InlineKind<any>;

/** A destination's config cannot be used (unreadable tls.ca, bad proxy …); the message names the field and what to do. */
export class DestinationSetupError extends Error {
  override name = 'DestinationSetupError';
}
