// `pushevent`: the PushEvent itself as JSON — the richest format, for
// receivers written against our schema (src/event/push-event.schema.json).

import type { PushEvent } from '../event/push-event.ts';
import type { Format, RenderContext, RenderedRequest } from './format-types.ts';
import { derivedUuid } from './ids.ts';
import { jsonBody, JSON_CONTENT_TYPE } from './body.ts';
import { refsLabel } from './select.ts';

/** The plain PushEvent JSON. */
export const pushEventFormat: Format = {
  name: 'pushevent',
  render: renderPushEvent,
  renderPing(ctx) {
    return {
      headers: { 'Content-Type': JSON_CONTENT_TYPE, 'X-Relay-Event': 'ping', 'X-Relay-Event-Id': derivedUuid(ctx.seed, 'pushevent', 'ping') },
      body: jsonBody({ ping: true, node: ctx.node, time: ctx.time, destination: ctx.destination }),
      signatureHeader: 'X-Hub-Signature',
      label: 'ping',
    };
  },
};

/** One request whose body is the (routed) PushEvent. */
export function renderPushEvent(event: PushEvent, _ctx: RenderContext): RenderedRequest[] {
  return [
    {
      headers: { 'Content-Type': JSON_CONTENT_TYPE, 'X-Relay-Event': 'push', 'X-Relay-Event-Id': event.id },
      body: jsonBody(event),
      signatureHeader: 'X-Hub-Signature',
      label: refsLabel(event.refs),
    },
  ];
}
