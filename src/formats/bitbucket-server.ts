// `bitbucket-server`: repo:refs_changed as Bitbucket Data Center 8.x / 9.x
// sends it (Atlassian's "Event payload" page): eventKey, date, actor,
// repository, changes[], and the commits / toCommit that 8.x added. What the
// host cannot know (user and project ids, hierarchyId, project name) is
// synthesized deterministically; docs/formats.md lists every field's source.
// `extended: true` adds one top-level `relay` key with files, issue keys and
// pull-request context; strict parsers of the stock payload ignore it.

import type { CommitInfo, Person, PushEvent, RefChange, RepositoryInfo } from '../event/push-event.ts';
import type { Format, RenderContext, RenderedRequest } from './format-types.ts';
import { bitbucketLinks, userSlug, type BitbucketLinks } from './links.ts';
import { derivedUuid, syntheticHierarchyId, syntheticId } from './ids.ts';
import { bitbucketDate, epochMillis } from './time.ts';
import { jsonBody } from './body.ts';
import { allCommits, branchAndTagRefs, headCommitSha, recentCommits, refsLabel } from './select.ts';

/** Commits listed in `commits` unless `formatOptions.commitLimit` says otherwise (Bitbucket's own default is 5). */
export const DEFAULT_BITBUCKET_SERVER_COMMIT_LIMIT = 100;

/** Length of Bitbucket's abbreviated commit ids (`displayId`). */
const DISPLAY_ID_LENGTH = 11;

const HEADERS_BASE = { 'Content-Type': 'application/json; charset=UTF-8' } as const;

/** repo:refs_changed as Bitbucket DC sends it, optionally with the `relay` extension. */
export const bitbucketServerFormat: Format = {
  name: 'bitbucket-server',
  render: renderBitbucketServer,
  renderPing(ctx) {
    // Bitbucket's "Test connection" button sends exactly this.
    return {
      headers: { ...HEADERS_BASE, 'X-Event-Key': 'diagnostics:ping', 'X-Request-Id': derivedUuid(ctx.seed, 'bitbucket-server', 'ping') },
      body: jsonBody({ test: true }),
      signatureHeader: 'X-Hub-Signature',
      label: 'diagnostics:ping',
    };
  },
};

/** One repo:refs_changed request for the push's branches and tags ([] when it has none). */
export function renderBitbucketServer(event: PushEvent, ctx: RenderContext): RenderedRequest[] {
  const refs = branchAndTagRefs(event);
  if (refs.length === 0) return [];
  const links = bitbucketLinks(event.repository, event.node);
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
  return [
    {
      headers: { ...HEADERS_BASE, 'X-Event-Key': 'repo:refs_changed', 'X-Request-Id': derivedUuid(ctx.seed, 'bitbucket-server', 'request', 0) },
      body: jsonBody(body),
      signatureHeader: 'X-Hub-Signature',
      label: refsLabel(refs),
    },
  ];
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
  const c = event.commits[headCommitSha(ref)];
  if (!c) return null;
  const parents = c.parents.map((p) => {
    const pc = event.commits[p];
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
