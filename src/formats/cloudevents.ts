// `cloudevents`: CloudEvents 1.0, structured content mode
// (application/cloudevents+json), the PushEvent as `data`. For event routers
// (Knative, Argo Events, EventBridge) that filter on context attributes, the
// trigger and repository identity are also extension attributes.

import type { PushEvent } from '../event/push-event.ts';
import type { Format, RenderContext, RenderedRequest } from './format-types.ts';
import { bitbucketLinks } from './links.ts';
import { derivedUuid } from './ids.ts';
import { jsonBody } from './body.ts';
import { refsLabel } from './select.ts';

/** CloudEvents `type` of a relayed push. */
export const CLOUDEVENTS_PUSH_TYPE = 'dev.bitbucket-relay.push';
/** CloudEvents `type` of the ping `relay test` sends. */
export const CLOUDEVENTS_PING_TYPE = 'dev.bitbucket-relay.ping';
/** `dataschema` of the push event: the `$id` of src/event/push-event.schema.json (version 1). */
export const PUSH_EVENT_DATASCHEMA = 'https://bitbucket-relay.invalid/schemas/push-event-v1.json';
/** Content-Type of a structured-mode CloudEvent. */
export const CLOUDEVENTS_CONTENT_TYPE = 'application/cloudevents+json; charset=utf-8';

/** CloudEvents 1.0 structured JSON around the PushEvent. */
export const cloudEventsFormat: Format = {
  name: 'cloudevents',
  render: renderCloudEvents,
  renderPing(ctx) {
    const envelope = {
      specversion: '1.0',
      id: derivedUuid(ctx.seed, 'cloudevents', 'ping'),
      source: `urn:bitbucket-relay:node:${ctx.node}`,
      type: CLOUDEVENTS_PING_TYPE,
      time: ctx.time,
      datacontenttype: 'application/json',
      data: { node: ctx.node, destination: ctx.destination },
    };
    return { headers: { 'Content-Type': CLOUDEVENTS_CONTENT_TYPE }, body: jsonBody(envelope), signatureHeader: 'X-Hub-Signature', label: 'ping' };
  },
};

/** One structured CloudEvent carrying the whole (routed) PushEvent. */
export function renderCloudEvents(event: PushEvent, _ctx: RenderContext): RenderedRequest[] {
  const links = bitbucketLinks(event.repository, event.node);
  const envelope: Record<string, unknown> = {
    specversion: '1.0',
    // The event's own id: the same push has the same id at every destination and on every retry.
    id: event.id,
    source: links.repo,
    type: CLOUDEVENTS_PUSH_TYPE,
  };
  // `subject` names the ref when the push changed exactly one (most pushes).
  if (event.refs.length === 1) envelope.subject = event.refs[0].ref;
  envelope.time = event.time;
  envelope.datacontenttype = 'application/json';
  envelope.dataschema = PUSH_EVENT_DATASCHEMA;
  envelope.trigger = event.trigger;
  envelope.projectkey = event.repository.projectKey;
  envelope.reposlug = event.repository.slug;
  envelope.data = event;
  return [{ headers: { 'Content-Type': CLOUDEVENTS_CONTENT_TYPE }, body: jsonBody(envelope), signatureHeader: 'X-Hub-Signature', label: refsLabel(event.refs) }];
}
