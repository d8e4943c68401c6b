// Format registry: the delivery engine asks here for the requests one
// destination gets for one (already routed) event.

import type { PushEvent } from '../event/push-event.ts';
import type { FormatName, QueuedDestinationConfig } from '../config/config-types.ts';
import type { Format, RenderedRequest } from './format-types.ts';
import { bitbucketServerFormat } from './bitbucket-server.ts';
import { bitbucketCloudFormat } from './bitbucket-cloud.ts';
import { githubFormat } from './github.ts';
import { cloudEventsFormat } from './cloudevents.ts';
import { pushEventFormat } from './pushevent.ts';

export type { Format, RenderedRequest, RenderContext, PingContext } from './format-types.ts';
export { signBody, signatureHeaderNames } from './sign.ts';
export { FORMAT_EVENTS, eventsFor } from './event-keys.ts';

/** What rendering needs of a destination. */
export type RenderTarget = Pick<QueuedDestinationConfig, 'name' | 'format' | 'formatOptions' | 'events'>;

const FORMATS: Record<FormatName, Format> = {
  cloudevents: cloudEventsFormat,
  'bitbucket-server': bitbucketServerFormat,
  'bitbucket-cloud': bitbucketCloudFormat,
  github: githubFormat,
  pushevent: pushEventFormat,
};

/** Every format name a destination's `format:` may take. */
export const FORMAT_NAMES = Object.keys(FORMATS) as FormatName[];

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
