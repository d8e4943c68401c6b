// The merged pull request as the formats show it: the event's pullRequest
// (hook environment, merge commit message, REST API when configured) with
// what only the push itself can tell filled in, and documented stand-ins for
// what nobody told us (docs/formats.md "Pull-request merges"). Pure.

import type { BitbucketUser, PullRequestInfo, PullRequestParticipant, PushEvent, RefChange } from '../event/push-event.ts';
import { commitAt } from './select.ts';
import { epochMillis } from './time.ts';
import type { BitbucketLinks } from './links.ts';

/** One side of the pull request (source or target). */
export interface PullRequestSide {
  /** `refs/heads/feature`. */
  ref: string;
  displayId: string;
  latestCommit: string | null;
  projectKey: string;
  slug: string;
}

/** Everything a pull-request payload needs, every field filled. */
export interface MergedPullRequest {
  id: number;
  version: number;
  title: string;
  description: string | null;
  createdDate: number;
  updatedDate: number;
  closedDate: number;
  from: PullRequestSide;
  to: PullRequestSide;
  /** The merge commit (BB_MERGE_HASH, else the target branch's new tip). */
  mergeCommit: string | null;
  author: PullRequestParticipant;
  reviewers: PullRequestParticipant[];
  participants: PullRequestParticipant[];
  url: string;
  /** The target branch's change in this event, when it is in it. */
  targetRef: RefChange | null;
  info: PullRequestInfo;
}

/**
 * The merged pull request of `event`, or null when the event is not a
 * pull-request merge or its id is unknown (errors[] then says so).
 */
export function mergedPullRequest(event: PushEvent, links: BitbucketLinks): MergedPullRequest | null {
  const pr = event.pullRequest;
  if (event.trigger !== 'pull-request-merge' || !pr || pr.id === null) return null;
  const targetRef = event.refs.find((r) => (pr.toRef ? r.ref === pr.toRef : r.kind === 'branch' && r.change === 'update')) ?? null;
  const toRef = pr.toRef ?? targetRef?.ref ?? null;
  if (!toRef || !pr.fromRef) return null;
  const mergeCommit = pr.mergeHash ?? targetRef?.after ?? null;
  const merged = mergeCommit ? commitAt(event, mergeCommit) : undefined;
  const closedDate = pr.closedDate ?? epochMillis(event.time);
  const [fromProject, fromSlug] = pr.fromRepository?.split('/') ?? [event.repository.projectKey, event.repository.slug];
  return {
    id: pr.id,
    version: pr.version ?? 0,
    title: pr.title ?? (merged ? merged.title : null) ?? `Pull request #${pr.id}`,
    description: pr.description ?? null,
    createdDate: pr.createdDate ?? closedDate,
    updatedDate: pr.updatedDate ?? closedDate,
    closedDate,
    from: side(pr.fromRef, pr.fromHash, fromProject, fromSlug),
    to: side(toRef, pr.toHash ?? targetRef?.before ?? null, event.repository.projectKey, event.repository.slug),
    mergeCommit,
    author: pr.author ?? { user: actorUser(event), role: 'AUTHOR', approved: false, status: 'UNAPPROVED' },
    reviewers: pr.reviewers ?? [],
    participants: pr.participants ?? [],
    url: pr.url ?? `${links.repo}/pull-requests/${pr.id}`,
    targetRef,
    info: pr,
  };
}

function side(ref: string, latestCommit: string | null, projectKey: string, slug: string): PullRequestSide {
  return { ref, displayId: ref.replace(/^refs\/(?:heads|tags)\//, ''), latestCommit, projectKey, slug };
}

/** The user who merged, as a Bitbucket user (stand-in author when nobody named one). */
function actorUser(event: PushEvent): BitbucketUser {
  return { name: event.actor.name, displayName: event.actor.displayName ?? null, email: event.actor.email ?? null, id: null, slug: null };
}
