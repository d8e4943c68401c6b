// The seam between formats and delivery: a format turns a (routed) PushEvent
// into the request(s) one destination receives. Pure: no I/O, no clock, no
// randomness — ids derive from `seed`, so rendering again gives equal bytes.

import type { PushEvent } from '../event/push-event.ts';

/** Format-specific knobs (e.g. bitbucket-server `extended`, `commitLimit`). */
export interface FormatOptions {
  extended?: boolean;
  commitLimit?: number;
}

/** One HTTP request body and its format-specific headers. */
export interface RenderedRequest {
  /** Format headers (X-Event-Key, X-GitHub-Event, …); no auth, no signature. */
  headers: Record<string, string>;
  /** Exact body bytes; signatures are computed over these. */
  body: Buffer;
  /**
   * Header that carries `sha256=<hmac>` when the destination has a secret, or
   * null; several names separated by ", " when the receiver reads either
   * (see signatureHeaderNames in sign.ts).
   */
  signatureHeader: string | null;
  /** What this request covers, for status/show output (e.g. the ref for github). */
  label: string;
}

/** What a format needs besides the event. */
export interface RenderContext {
  /** Stable per (event, destination): the base for every id the format emits. */
  seed: string;
  /** Destination name (some formats carry it, e.g. X-Hook-UUID). */
  destination: string;
  options: FormatOptions;
  /** The destination's `events:` (receiver event names, see event-keys.ts); undefined: the format's defaults. */
  events?: readonly string[];
}

/** What a ping needs: the render context plus node, time and (optionally) the destination URL. */
export type PingContext = RenderContext & { node: string; time: string; url?: string };

/** A wire format. */
export interface Format {
  /** Its key in the registry (src/formats/index.ts). */
  name: string;
  render(event: PushEvent, ctx: RenderContext): RenderedRequest[];
  /** A `ping`/test request in this format (for `relay test`); `url` is the destination's, when known. */
  renderPing(ctx: PingContext): RenderedRequest;
}
