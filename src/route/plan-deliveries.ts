// Where a push event goes: for each enabled destination, route the event
// (its `match`), then either render the requests a queued destination
// receives or note the copy an inline one (file, log) takes. Pure.

import type { DestinationConfig } from '../config/config-types.ts';
import { isQueued } from '../destinations/registry.ts';
import type { PushEvent } from '../event/push-event.ts';
import { renderRequests } from '../formats/index.ts';
import { routeEvent } from './match-event.ts';
import { renderSeedFor } from './delivery-id.ts';
import type { DestinationRequests } from '../store/enqueue.ts';

/** An inline destination's copy of an event. */
export interface LocalDelivery {
  destination: DestinationConfig;
  event: PushEvent;
}

/** Everything one event fans out to. */
export interface DeliveryPlan {
  /** Queued destinations' rendered requests (go to the store in one transaction). */
  queued: DestinationRequests[];
  /** Inline destinations' copies (file, log), written before the spool record is removed. */
  local: LocalDelivery[];
  /** Destinations whose `match` left nothing of this event. */
  unmatched: string[];
}

/** Route and render `event` for every enabled destination. */
export function planDeliveries(event: PushEvent, destinations: readonly DestinationConfig[]): DeliveryPlan {
  const plan: DeliveryPlan = { queued: [], local: [], unmatched: [] };
  for (const dest of destinations) {
    if (!dest.enabled) continue;
    const routed = routeEvent(event, dest.match);
    if (!routed) {
      plan.unmatched.push(dest.name);
      continue;
    }
    if (isQueued(dest)) {
      const requests = renderRequests(routed, dest, renderSeedFor(event.id, dest.name));
      if (requests.length) plan.queued.push({ destination: dest.name, requests });
      else plan.unmatched.push(dest.name);
    } else {
      plan.local.push({ destination: dest, event: routed });
    }
  }
  return plan;
}
