// Format registry: the delivery engine asks here for the requests one
// destination gets for one (already routed) event. The format names are
// listed once, here: FormatName, FORMAT_NAMES and the config schema's enum
// derive from FORMATS.

import type { PushEvent } from '../event/push-event.ts';
import type { Format, FormatOptions, RenderedRequest } from './format-types.ts';
import { FORMAT_EVENTS, type FormatEvents } from './event-keys.ts';
import { bitbucketServerFormat } from './bitbucket-server.ts';
import { bitbucketCloudFormat } from './bitbucket-cloud.ts';
import { githubFormat } from './github.ts';
import { cloudEventsFormat } from './cloudevents.ts';
import { pushEventFormat } from './pushevent.ts';

export type { Format, FormatOptions, RenderedRequest, RenderContext, PingContext } from './format-types.ts';
export { signBody, signatureHeaderNames } from './sign.ts';
export { FORMAT_EVENTS, eventsFor } from './event-keys.ts';

const FORMATS = {
  cloudevents: cloudEventsFormat,
  'bitbucket-server': bitbucketServerFormat,
  'bitbucket-cloud': bitbucketCloudFormat,
  github: githubFormat,
  pushevent: pushEventFormat,
} as const satisfies Record<string, Format>;

/** Which wire format a destination speaks: a key of the registry. */
export type FormatName = keyof typeof FORMATS;

/** Every format name a destination's `format:` may take. */
export const FORMAT_NAMES = Object.keys(FORMATS) as FormatName[];

// Every format has its event names (event-keys.ts); a format added above without them fails to compile.
const EVENTS_OF_EVERY_FORMAT: Record<FormatName, FormatEvents> = FORMAT_EVENTS;
void EVENTS_OF_EVERY_FORMAT;

/** What rendering needs of a destination. */
export interface RenderTarget {
  name: string;
  format: FormatName;
  formatOptions?: FormatOptions;
  /** Receiver event names it gets; undefined: the format's defaults. */
  events?: string[];
}

/** The format called `name`; throws naming the valid ones when there is none. */
export function formatFor(name: FormatName | string): Format {
  const f = (FORMATS as Record<string, Format | undefined>)[name];
  if (!f) throw new Error(`unknown format "${name}"; set the destination's format to one of ${FORMAT_NAMES.join(', ')}`);
  return f;
}

/**
 * The requests `dest` receives for `event` (route it first with routeEvent).
 * Pure: equal inputs give equal bytes. `seed` must be stable per
 * (event, destination), e.g. the delivery id. May be [] (e.g. a push of only
 * refs/notes/* to a GitHub-format destination): nothing to send.
 */
export function renderRequests(event: PushEvent, dest: RenderTarget, seed: string): RenderedRequest[] {
  return formatFor(dest.format).render(event, { seed, destination: dest.name, options: dest.formatOptions ?? {}, events: dest.events });
}

/** The ping / test request `dest` receives from `relay test`; `url` (redacted) may appear in the body. */
export function renderPingRequest(dest: RenderTarget, seed: string, node: string, time: string, url?: string): RenderedRequest {
  return formatFor(dest.format).renderPing({ seed, destination: dest.name, options: dest.formatOptions ?? {}, node, time, url });
}
