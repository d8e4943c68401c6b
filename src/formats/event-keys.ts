// Which requests a format can send, by the receiver's own event names, and
// which of them a destination gets unless its `events:` says otherwise. Pure.

/** A format's event names: every one it can send, and the default set. */
export interface FormatEvents {
  all: readonly string[];
  defaults: readonly string[];
}

/**
 * Per format. A pull-request merge is a push to the target branch plus, where
 * the receiver's protocol has one, a pull-request event: Bitbucket Server's
 * `pr:merged` and Cloud's `pullrequest:fulfilled` by default (Bitbucket sends
 * them to webhooks subscribed to merges), GitHub's `pull_request` only when
 * asked (`events: [push, pull_request]`), since receivers written for GitHub
 * pushes need not expect it. cloudevents / pushevent carry the pull request
 * inside the one event.
 */
export const FORMAT_EVENTS = {
  'bitbucket-server': { all: ['repo:refs_changed', 'pr:merged'], defaults: ['repo:refs_changed', 'pr:merged'] },
  'bitbucket-cloud': { all: ['repo:push', 'pullrequest:fulfilled'], defaults: ['repo:push', 'pullrequest:fulfilled'] },
  github: { all: ['push', 'pull_request'], defaults: ['push'] },
  cloudevents: { all: ['push'], defaults: ['push'] },
  pushevent: { all: ['push'], defaults: ['push'] },
} as const satisfies Record<string, FormatEvents>;

/** The events a destination of `format` gets: `configured`, else the format's defaults. */
export function eventsFor(format: keyof typeof FORMAT_EVENTS, configured: readonly string[] | undefined): ReadonlySet<string> {
  return new Set(configured ?? FORMAT_EVENTS[format].defaults);
}
