// `bitbucket-cloud`: repo:push as Bitbucket Cloud sends it (push.changes[]
// with old / new / created / closed / forced / truncated / commits / links),
// for consumers that only parse Cloud's format (ButterStack). Links point at
// the Bitbucket Server pages of the same objects; Cloud-only identities
// (user / repository UUIDs) are derived by hashing and documented.
// A pull-request merge also yields `pullrequest:fulfilled` when the
// destination's events include it (default).

import type { BitbucketUser, CommitInfo, Person, PullRequestParticipant, PushEvent, RefChange, Signature } from '../event/push-event.ts';
import type { Format, RenderContext, RenderedRequest } from './format-types.ts';
import { bitbucketLinks, userSlug, type BitbucketLinks } from './links.ts';
import { derivedUuid } from './ids.ts';
import { jsonBody, JSON_CONTENT_TYPE } from './body.ts';
import { branchAndTagRefs, commitAt, headCommitSha, refsLabel } from './select.ts';
import { eventsFor } from './event-keys.ts';
import { mergedPullRequest, type MergedPullRequest, type PullRequestSide } from './pull-request.ts';

/** repo:push as Bitbucket Cloud sends it. */
export const bitbucketCloudFormat: Format = {
  name: 'bitbucket-cloud',
  render: renderBitbucketCloud,
  renderPing(ctx) {
    // Cloud has no ping event; Bitbucket Server's test request is the closest thing.
    return {
      headers: {
        'Content-Type': JSON_CONTENT_TYPE,
        'X-Event-Key': 'diagnostics:ping',
        'X-Request-UUID': derivedUuid(ctx.seed, 'bitbucket-cloud', 'ping'),
        'X-Hook-UUID': hookUuid(ctx.destination),
      },
      body: jsonBody({ test: true }),
      signatureHeader: 'X-Hub-Signature',
      label: 'diagnostics:ping',
    };
  },
};

/**
 * For the destination's events: one repo:push request for the push's
 * branches and tags, then pullrequest:fulfilled when the push merged a pull
 * request ([] when neither applies).
 */
export function renderBitbucketCloud(event: PushEvent, ctx: RenderContext): RenderedRequest[] {
  const events = eventsFor('bitbucket-cloud', ctx.events);
  const links = bitbucketLinks(event.repository, event.node);
  const requests: RenderedRequest[] = [];
  const refs = branchAndTagRefs(event);
  if (events.has('repo:push') && refs.length > 0) {
    const body = {
      push: { changes: refs.map((r) => cloudChange(event, r, links, ctx.options.commitLimit)) },
      actor: cloudUser(event.actor, links),
      repository: cloudRepository(event, links),
    };
    requests.push(cloudRequest('repo:push', derivedUuid(ctx.seed, 'bitbucket-cloud', 'request', 0), ctx, body, refsLabel(refs)));
  }
  const pr = events.has('pullrequest:fulfilled') ? mergedPullRequest(event, links) : null;
  if (pr) {
    const body = { actor: cloudUser(event.actor, links), pullrequest: cloudPullRequest(event, pr, links), repository: cloudRepository(event, links) };
    requests.push(cloudRequest('pullrequest:fulfilled', derivedUuid(ctx.seed, 'bitbucket-cloud', 'pullrequest:fulfilled'), ctx, body, `pullrequest:fulfilled #${pr.id}`));
  }
  return requests;
}

function cloudRequest(eventKey: string, requestUuid: string, ctx: RenderContext, body: unknown, label: string): RenderedRequest {
  return {
    headers: {
      'Content-Type': JSON_CONTENT_TYPE,
      'X-Event-Key': eventKey,
      'X-Request-UUID': requestUuid,
      'X-Hook-UUID': hookUuid(ctx.destination),
    },
    body: jsonBody(body),
    signatureHeader: 'X-Hub-Signature',
    label,
  };
}

/** Cloud's pull request object, state MERGED. */
function cloudPullRequest(event: PushEvent, pr: MergedPullRequest, links: BitbucketLinks): Record<string, unknown> {
  const iso = (ms: number) => new Date(ms).toISOString().replace('Z', '+00:00');
  const endpoint = (s: PullRequestSide) => ({
    branch: { name: s.displayId },
    commit: s.latestCommit ? { type: 'commit', hash: s.latestCommit, links: commitLinks(s.latestCommit, links) } : null,
    repository: {
      type: 'repository',
      full_name: `${s.projectKey}/${s.slug}`,
      name: s.slug,
      uuid: `{${derivedUuid('repository', `${s.projectKey}/${s.slug}`)}}`,
    },
  });
  return {
    type: 'pullrequest',
    id: pr.id,
    title: pr.title,
    description: pr.description ?? '',
    state: 'MERGED',
    author: cloudAccount(pr.author.user, links),
    source: endpoint(pr.from),
    destination: endpoint(pr.to),
    merge_commit: pr.mergeCommit ? { type: 'commit', hash: pr.mergeCommit, links: commitLinks(pr.mergeCommit, links) } : null,
    participants: pr.participants.map((p) => cloudParticipant(p, links)),
    reviewers: pr.reviewers.map((p) => cloudAccount(p.user, links)),
    close_source_branch: false,
    closed_by: cloudUser(event.actor, links),
    reason: '',
    created_on: iso(pr.createdDate),
    updated_on: iso(pr.updatedDate),
    comment_count: 0,
    task_count: 0,
    links: {
      self: { href: `${links.api}/pull-requests/${pr.id}` },
      html: { href: pr.url },
      commits: { href: `${links.api}/pull-requests/${pr.id}/commits` },
      diff: { href: `${links.api}/pull-requests/${pr.id}/diff` },
    },
  };
}

function cloudParticipant(p: PullRequestParticipant, links: BitbucketLinks): Record<string, unknown> {
  return { type: 'participant', user: cloudAccount(p.user, links), role: p.role, approved: p.approved, state: p.status === 'APPROVED' ? 'approved' : p.status === 'NEEDS_WORK' ? 'changes_requested' : null };
}

function cloudAccount(u: BitbucketUser, links: BitbucketLinks): Record<string, unknown> {
  const person: Person = { name: u.name };
  if (u.displayName !== null) person.displayName = u.displayName;
  if (u.email !== null) person.email = u.email;
  return cloudUser(person, links);
}

/** The webhook's UUID: stable per destination, like a Cloud webhook's id. */
function hookUuid(destination: string): string {
  return derivedUuid('bitbucket-cloud', 'hook', destination);
}

function cloudChange(event: PushEvent, ref: RefChange, links: BitbucketLinks, limit: number | undefined): Record<string, unknown> {
  const shas = limit !== undefined && ref.commits.length > limit ? ref.commits.slice(ref.commits.length - limit) : ref.commits;
  const commits: Record<string, unknown>[] = [];
  // Cloud lists the most recent commit first.
  for (let i = shas.length - 1; i >= 0; i--) {
    const c = event.commits[shas[i]];
    if (c) commits.push(cloudCommit(c, links));
  }
  return {
    old: ref.change === 'create' ? null : refState(event, ref, 'old', links),
    new: ref.change === 'delete' ? null : refState(event, ref, 'new', links),
    created: ref.change === 'create',
    closed: ref.change === 'delete',
    forced: ref.forced,
    truncated: ref.truncated || shas.length < ref.commits.length,
    links: changeLinks(ref, links),
    commits,
  };
}

/** Where a change can be seen: compare / diff pages for updates, the commit for creates and deletes. */
function changeLinks(ref: RefChange, links: BitbucketLinks): Record<string, { href: string }> {
  if (ref.change === 'update') {
    return { commits: { href: links.commits(ref.ref) }, diff: { href: links.diff(ref.before, ref.after) }, html: { href: links.compare(ref.before, ref.after) } };
  }
  const sha = ref.change === 'create' ? headCommitSha(ref) : ref.before;
  return { commits: { href: links.commits(ref.change === 'create' ? ref.ref : sha) }, diff: { href: links.commit(sha) }, html: { href: links.commit(sha) } };
}

function refState(event: PushEvent, ref: RefChange, side: 'old' | 'new', links: BitbucketLinks): Record<string, unknown> {
  const sha = side === 'old' ? ref.before : headCommitSha(ref);
  const known = commitAt(event, sha);
  const state: Record<string, unknown> = {
    type: ref.kind === 'tag' ? 'tag' : 'branch',
    name: ref.name,
    target: known ? cloudCommit(known, links, true) : { type: 'commit', hash: sha, links: commitLinks(sha, links) },
    links: {
      commits: { href: links.commits(ref.ref) },
      self: { href: links.browseAt(ref.ref) },
      html: { href: links.browseAt(ref.ref) },
    },
  };
  if (side === 'new' && ref.tag?.annotated) {
    state.message = ref.tag.message;
    state.date = ref.tag.tagger?.date ?? null;
    state.tagger = ref.tag.tagger ? cloudAuthor(ref.tag.tagger, false) : null;
  }
  return state;
}

function cloudCommit(c: CommitInfo, links: BitbucketLinks, isTarget = false): Record<string, unknown> {
  return {
    type: 'commit',
    hash: c.id,
    date: c.author.date,
    author: cloudAuthor(c.author, isTarget),
    message: c.message,
    parents: c.parents.map((p) => ({ type: 'commit', hash: p, links: commitLinks(p, links) })),
    links: commitLinks(c.id, links),
  };
}

function commitLinks(sha: string, links: BitbucketLinks): Record<string, { href: string }> {
  return { self: { href: links.commitApi(sha) }, html: { href: links.commit(sha) } };
}

/**
 * Cloud's author: `raw` "Name <email>" plus a `user` derived from it. On ref
 * targets, `display_name` / `nickname` also sit on the author itself, as
 * ButterStack's documented example reads them there.
 */
function cloudAuthor(sig: Signature, butterStackAliases: boolean): Record<string, unknown> {
  const nickname = sig.email.split('@')[0] || sig.name;
  const author: Record<string, unknown> = { type: 'author', raw: `${sig.name} <${sig.email}>` };
  if (butterStackAliases) {
    author.display_name = sig.name;
    author.nickname = nickname;
  }
  // No links: which Bitbucket account (if any) owns this e-mail is unknown to the host.
  author.user = { type: 'user', display_name: sig.name, nickname, uuid: userUuid(sig.email) };
  return author;
}

// A push's commits share few authors: hash each e-mail once (sha1 per commit was most of the render time).
const userUuids = new Map<string, string>();

/** Cloud-style `{uuid}` of a user, derived from the lower-cased e-mail (or name). */
function userUuid(emailOrName: string): string {
  const key = emailOrName.toLowerCase();
  let uuid = userUuids.get(key);
  if (uuid === undefined) {
    uuid = `{${derivedUuid('user', key)}}`;
    if (userUuids.size > 10_000) userUuids.clear();
    userUuids.set(key, uuid);
  }
  return uuid;
}

function cloudUser(person: Person, links: BitbucketLinks): Record<string, unknown> {
  const slug = userSlug(person.name);
  return {
    type: 'user',
    display_name: person.displayName ?? person.name,
    nickname: person.name,
    uuid: userUuid(person.email ?? person.name),
    links: {
      self: { href: links.userApi(slug) },
      html: { href: links.user(slug) },
      avatar: { href: `${links.user(slug)}/avatar.png` },
    },
  };
}

function cloudRepository(event: PushEvent, links: BitbucketLinks): Record<string, unknown> {
  const repo = event.repository;
  const key = repo.projectKey;
  return {
    type: 'repository',
    full_name: `${key}/${repo.slug}`,
    name: repo.name,
    uuid: `{${derivedUuid('repository', `${key}/${repo.slug}`)}}`,
    is_private: !(repo.public ?? false),
    scm: 'git',
    website: null,
    project: { type: 'project', key, name: key, uuid: `{${derivedUuid('project', key)}}`, links: { html: { href: links.project } } },
    workspace: { type: 'workspace', slug: key.toLowerCase(), name: key, uuid: `{${derivedUuid('workspace', key)}}` },
    links: {
      self: { href: links.api },
      html: { href: links.self },
      avatar: { href: `${links.project}/avatar.png` },
    },
  };
}
