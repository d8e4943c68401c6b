// One-line views of a PushEvent for logs and the demo (no message bodies, no files).

import type { PushEvent } from '../event/push-event.ts';

/** Compact, log-friendly facts about an event. */
export interface EventSummary {
  eventId: string;
  repo: string;
  trigger: string;
  actor: string;
  /** The first SUMMARY_REFS ref changes; refsTotal counts them all. */
  refs: string[];
  refsTotal: number;
  commits: number;
  errors: number;
}

/** Ref changes listed in a summary (a 10,000-ref push must not make a 500 KB log line). */
export const SUMMARY_REFS = 20;

/** `refs/heads/main update 1a2b3c4..5d6e7f8 +3` style summaries. */
export function summarizeEvent(event: PushEvent): EventSummary {
  return {
    eventId: event.id,
    repo: `${event.repository.projectKey}/${event.repository.slug}`,
    trigger: event.trigger,
    actor: event.actor.name,
    refsTotal: event.refs.length,
    refs: event.refs.slice(0, SUMMARY_REFS).map((r) => {
      const range = `${r.before.slice(0, 7)}..${r.after.slice(0, 7)}`;
      const extra = [r.forced ? 'forced' : '', r.totalCommits ? `+${r.totalCommits}` : '', r.removedCommits ? `-${r.removedCommits}` : '']
        .filter(Boolean)
        .join(' ');
      return `${r.ref} ${r.change} ${range}${extra ? ' ' + extra : ''}`;
    }),
    commits: Object.keys(event.commits).length,
    errors: event.errors.length,
  };
}
