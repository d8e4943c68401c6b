// `bitbucket-server`: repo:refs_changed as Bitbucket Data Center 8.x / 9.x
// sends it (Atlassian's "Event payload" page): eventKey, date, actor,
// repository, changes[], and the commits / toCommit that 8.x added. What the
// host cannot know (user and project ids, hierarchyId, project name) is
// synthesized deterministically; docs/formats.md lists every field's source.
// `extended: true` adds one top-level `relay` key with files, issue keys and
// pull-request context; strict parsers of the stock payload ignore it.
// A pull-request merge also yields `pr:merged` (Atlassian's payload, as Port
// documents it) when the destination's events include it (default).
// With a secret, the HMAC goes in X-Hub-Signature (Bitbucket's header) and
// X-Hub-Signature-256 (what CDS's newer repository webhooks verify).

import type { BitbucketUser, CommitInfo, Person, PullRequestParticipant, PushEvent, RefChange, RepositoryInfo } from '../event/push-event.ts';
import type { Format, RenderContext, RenderedRequest } from './format-types.ts';
import { bitbucketLinks, userSlug, type BitbucketLinks } from './links.ts';
import { derivedUuid, syntheticHierarchyId, syntheticId } from './ids.ts';
import { bitbucketDate, epochMillis } from './time.ts';
import { jsonBody } from './body.ts';
import { allCommits, branchAndTagRefs, commitAt, headCommitSha, recentCommits, refsLabel } from './select.ts';
import { eventsFor } from './event-keys.ts';
import { mergedPullRequest, type MergedPullRequest, type PullRequestSide } from './pull-request.ts';

/** Commits listed in `commits` unless `formatOptions.commitLimit` says otherwise (Bitbucket's own default is 5). */
export const DEFAULT_BITBUCKET_SERVER_COMMIT_LIMIT = 100;

/** Length of Bitbucket's abbreviated commit ids (`displayId`). */
const DISPLAY_ID_LENGTH = 11;

const HEADERS_BASE = { 'Content-Type': 'application/json; charset=UTF-8' } as const;

/** Bitbucket's own signature header and the GitHub-style one CDS verifies: the same HMAC in both. */
export const BITBUCKET_SERVER_SIGNATURE_HEADERS = 'X-Hub-Signature, X-Hub-Signature-256';

/** repo:refs_changed as Bitbucket DC sends it, optionally with the `relay` extension. */
export const bitbucketServerFormat: Format = {
  name: 'bitbucket-server',
  render: renderBitbucketServer,
  renderPing(ctx) {
    // Bitbucket's "Test connection" button sends exactly this.
    return {
      headers: { ...HEADERS_BASE, 'X-Event-Key': 'diagnostics:ping', 'X-Request-Id': derivedUuid(ctx.seed, 'bitbucket-server', 'ping') },
      body: jsonBody({ test: true }),
      signatureHeader: BITBUCKET_SERVER_SIGNATURE_HEADERS,
      label: 'diagnostics:ping',
    };
  },
};

/**
 * For the destination's events: one repo:refs_changed request for the push's
 * branches and tags, then pr:merged when the push merged a pull request
 * ([] when neither applies).
 */
export function renderBitbucketServer(event: PushEvent, ctx: RenderContext): RenderedRequest[] {
  const events = eventsFor('bitbucket-server', ctx.events);
  const links = bitbucketLinks(event.repository, event.node);
  const requests: RenderedRequest[] = [];
  const refs = branchAndTagRefs(event);
  if (events.has('repo:refs_changed') && refs.length > 0) requests.push(refsChangedRequest(event, refs, links, ctx));
  const pr = events.has('pr:merged') ? mergedPullRequest(event, links) : null;
  if (pr) requests.push(prMergedRequest(event, pr, links, ctx));
  return requests;
}

function refsChangedRequest(event: PushEvent, refs: RefChange[], links: BitbucketLinks, ctx: RenderContext): RenderedRequest {
  const body: Record<string, unknown> = {
    eventKey: 'repo:refs_changed',
    date: bitbucketDate(event.time),
    actor: bitbucketUser(event.actor, links),
    repository: bitbucketRepository(event.repository, links),
    changes: refs.map(bitbucketChange),
  };
  const limit = ctx.options.commitLimit ?? DEFAULT_BITBUCKET_SERVER_COMMIT_LIMIT;
  if (limit > 0) {
    body.commits = recentCommits(event, refs, limit).map((c) => bitbucketCommit(c));
    const to = toCommit(event, refs);
    if (to) body.toCommit = to;
  }
  if (ctx.options.extended) body.relay = relayExtension(event, refs, links);
  return {
    headers: { ...HEADERS_BASE, 'X-Event-Key': 'repo:refs_changed', 'X-Request-Id': derivedUuid(ctx.seed, 'bitbucket-server', 'request', 0) },
    body: jsonBody(body),
    signatureHeader: BITBUCKET_SERVER_SIGNATURE_HEADERS,
    label: refsLabel(refs),
  };
}

/** pr:merged as Atlassian documents it (and Port's example shows it). */
function prMergedRequest(event: PushEvent, pr: MergedPullRequest, links: BitbucketLinks, ctx: RenderContext): RenderedRequest {
  const pullRequest: Record<string, unknown> = {
    id: pr.id,
    version: pr.version,
    title: pr.title,
  };
  if (pr.description !== null) pullRequest.description = pr.description;
  Object.assign(pullRequest, {
    state: 'MERGED',
    open: false,
    closed: true,
    createdDate: pr.createdDate,
    updatedDate: pr.updatedDate,
    closedDate: pr.closedDate,
    fromRef: prRef(pr.from, event, links),
    toRef: prRef(pr.to, event, links),
    locked: false,
    author: participant(pr.author, links),
    reviewers: pr.reviewers.map((p) => participant(p, links)),
    participants: pr.participants.map((p) => participant(p, links)),
  });
  if (pr.mergeCommit) pullRequest.properties = { mergeCommit: { displayId: pr.mergeCommit.slice(0, DISPLAY_ID_LENGTH), id: pr.mergeCommit } };
  pullRequest.links = { self: [{ href: pr.url }] };
  const body = {
    eventKey: 'pr:merged',
    date: bitbucketDate(event.time),
    actor: bitbucketUser(event.actor, links),
    pullRequest,
  };
  return {
    headers: { ...HEADERS_BASE, 'X-Event-Key': 'pr:merged', 'X-Request-Id': derivedUuid(ctx.seed, 'bitbucket-server', 'pr:merged') },
    body: jsonBody(body),
    signatureHeader: BITBUCKET_SERVER_SIGNATURE_HEADERS,
    label: `pr:merged #${pr.id}`,
  };
}

/** A pull request's fromRef / toRef with its repository (a fork's, for a cross-repository pull request). */
function prRef(side: PullRequestSide, event: PushEvent, links: BitbucketLinks): Record<string, unknown> {
  const repo = event.repository;
  const same = side.projectKey === repo.projectKey && side.slug === repo.slug;
  const sideRepo: RepositoryInfo = same
    ? repo
    : { ...repo, projectKey: side.projectKey, slug: side.slug, id: null, name: side.slug, links: { self: null, clone: null }, fork: true };
  const sideLinks = same ? links : bitbucketLinks(sideRepo, event.node);
  return {
    id: side.ref,
    displayId: side.displayId,
    latestCommit: side.latestCommit,
    type: side.ref.startsWith('refs/tags/') ? 'TAG' : 'BRANCH',
    repository: bitbucketRepository(sideRepo, sideLinks),
  };
}

function participant(p: PullRequestParticipant, links: BitbucketLinks): Record<string, unknown> {
  return { user: bitbucketUserOf(p.user, links), role: p.role, approved: p.approved, status: p.status };
}

/** Bitbucket's User entity for a user the REST API (real id) or the hook (synthesized id) named. */
function bitbucketUserOf(u: BitbucketUser, links: BitbucketLinks): Record<string, unknown> {
  const person: Person = { name: u.name };
  if (u.displayName !== null) person.displayName = u.displayName;
  if (u.email !== null) person.email = u.email;
  const user = bitbucketUser(person, links);
  if (u.id !== null) user.id = u.id;
  if (u.slug !== null) {
    user.slug = u.slug;
    user.links = { self: [{ href: links.user(u.slug) }] };
  }
  return user;
}

/** Bitbucket's User entity for the pusher; id synthesized from the user name. */
export function bitbucketUser(person: Person, links: BitbucketLinks): Record<string, unknown> {
  const slug = userSlug(person.name);
  const user: Record<string, unknown> = { name: person.name };
  if (person.email) user.emailAddress = person.email;
  user.id = syntheticId('user', person.name);
  user.displayName = person.displayName ?? person.name;
  user.active = true;
  user.slug = slug;
  user.type = 'NORMAL';
  user.links = { self: [{ href: links.user(slug) }] };
  return user;
}

/** Bitbucket's Repository entity (with its project). */
export function bitbucketRepository(repo: RepositoryInfo, links: BitbucketLinks): Record<string, unknown> {
  return {
    slug: repo.slug,
    id: repo.id ?? syntheticId('repository', `${repo.projectKey}/${repo.slug}`),
    name: repo.name,
    hierarchyId: syntheticHierarchyId(repo.projectKey, repo.slug),
    scmId: 'git',
    state: 'AVAILABLE',
    statusMessage: 'Available',
    forkable: true,
    project: {
      key: repo.projectKey,
      id: syntheticId('project', repo.projectKey),
      name: repo.projectKey,
      public: false,
      type: repo.projectKey.startsWith('~') ? 'PERSONAL' : 'NORMAL',
      links: { self: [{ href: links.project }] },
    },
    public: repo.public ?? false,
    archived: false,
    links: {
      clone: [
        { href: links.cloneSsh, name: 'ssh' },
        { href: links.cloneHttp, name: 'http' },
      ],
      self: [{ href: links.self }],
    },
  };
}

function bitbucketChange(ref: RefChange): Record<string, unknown> {
  return {
    ref: { id: ref.ref, displayId: ref.name, type: ref.kind === 'tag' ? 'TAG' : 'BRANCH' },
    refId: ref.ref,
    fromHash: ref.before,
    toHash: ref.after,
    type: ref.change === 'create' ? 'ADD' : ref.change === 'delete' ? 'DELETE' : 'UPDATE',
  };
}

function bitbucketCommit(c: CommitInfo, parents?: unknown[]): Record<string, unknown> {
  return {
    id: c.id,
    displayId: c.id.slice(0, DISPLAY_ID_LENGTH),
    author: { name: c.author.name, emailAddress: c.author.email },
    authorTimestamp: epochMillis(c.author.date),
    committer: { name: c.committer.name, emailAddress: c.committer.email },
    committerTimestamp: epochMillis(c.committer.date),
    message: c.message,
    parents: parents ?? c.parents.map(parentRef),
  };
}

function parentRef(sha: string): { id: string; displayId: string } {
  return { id: sha, displayId: sha.slice(0, DISPLAY_ID_LENGTH) };
}

/** The commit the first non-deleted ref now points at, with its parents expanded when the event has them. */
function toCommit(event: PushEvent, refs: RefChange[]): Record<string, unknown> | null {
  const ref = refs.find((r) => r.change !== 'delete');
  if (!ref) return null;
  const c = commitAt(event, headCommitSha(ref));
  if (!c) return null;
  const parents = c.parents.map((p) => {
    const pc = commitAt(event, p);
    return pc ? bitbucketCommit(pc) : parentRef(p);
  });
  return bitbucketCommit(c, parents);
}

/** The `relay` key of `extended: true`: everything Bitbucket's payload lacks. */
function relayExtension(event: PushEvent, refs: RefChange[], links: BitbucketLinks): Record<string, unknown> {
  return {
    eventId: event.id,
    schemaVersion: event.schemaVersion,
    node: event.node,
    trigger: event.trigger,
    triggerId: event.triggerId,
    pullRequest: event.pullRequest ?? null,
    refs: refs.map((r) => ({
      refId: r.ref,
      change: r.change,
      forced: r.forced,
      removedCommits: r.removedCommits,
      commits: r.commits,
      totalCommits: r.totalCommits,
      truncated: r.truncated,
      tag: r.tag ?? null,
    })),
    commits: allCommits(event, refs).map((c) => ({
      id: c.id,
      distinct: c.distinct,
      merge: c.merge,
      url: c.url ?? links.commit(c.id),
      issueKeys: c.issueKeys,
      triggers: c.triggers,
      files: c.files,
      filesTruncated: c.filesTruncated,
      totalFiles: c.totalFiles,
    })),
    totalCommits: event.totalCommits,
    truncated: event.truncated,
    errors: event.errors,
  };
}
