// `github`: one `push` delivery per branch / tag, as GitHub sends it, for
// consumers that only parse GitHub (Jenkins, most CI). The repository,
// owner and sender objects carry every key GitHub's schema requires: URLs
// point at the Bitbucket pages / REST resources of the same objects (GitHub-
// only API URLs keep GitHub's path pattern under the Bitbucket REST base and
// do not resolve); numeric ids are synthesized. docs/formats.md has the map.
// A pull-request merge also yields `pull_request` (action closed, merged
// true) when the destination's events include it (`events: [push, pull_request]`).

import type { BitbucketUser, CommitInfo, Person, PushEvent, RefChange } from '../event/push-event.ts';
import type { Format, RenderContext, RenderedRequest } from './format-types.ts';
import { bitbucketLinks, userSlug, type BitbucketLinks } from './links.ts';
import { derivedUuid, syntheticId } from './ids.ts';
import { epochSeconds } from './time.ts';
import { jsonBody, JSON_CONTENT_TYPE } from './body.ts';
import { branchAndTagRefs, commitAt, headCommitSha, refCommits } from './select.ts';
import { eventsFor } from './event-keys.ts';
import { mergedPullRequest, type MergedPullRequest, type PullRequestSide } from './pull-request.ts';

/** Branch GitHub's `default_branch` falls back to when the event does not say. */
const FALLBACK_DEFAULT_BRANCH = 'master';

/** GitHub `push`, one request per ref; `ping` for `relay test`. */
export const githubFormat: Format = {
  name: 'github',
  render: renderGithub,
  renderPing(ctx) {
    const hookId = hookIdOf(ctx.destination);
    const hookApi = `https://${ctx.node}/bitbucket-relay/hooks/${hookId}`;
    const body = {
      zen: 'Relay every push, even through the outage.',
      hook_id: hookId,
      hook: {
        type: 'Repository',
        id: hookId,
        name: 'web',
        active: true,
        events: ['push'],
        config: { content_type: 'json', insecure_ssl: '0', url: ctx.url ?? `https://${ctx.node}/` },
        updated_at: ctx.time,
        created_at: ctx.time,
        url: hookApi,
        test_url: `${hookApi}/test`,
        ping_url: `${hookApi}/pings`,
        deliveries_url: `${hookApi}/deliveries`,
      },
    };
    return {
      headers: headers('ping', derivedUuid(ctx.seed, 'github', 'ping'), hookId),
      body: jsonBody(body),
      signatureHeader: 'X-Hub-Signature-256',
      label: 'ping',
    };
  },
};

/**
 * For the destination's events: one GitHub push request per branch / tag of
 * the event, in event order; then pull_request (closed, merged) when the push
 * merged a pull request.
 */
export function renderGithub(event: PushEvent, ctx: RenderContext): RenderedRequest[] {
  const events = eventsFor('github', ctx.events);
  const refs = events.has('push') ? branchAndTagRefs(event) : [];
  const links = bitbucketLinks(event.repository, event.node);
  const pr = events.has('pull_request') ? mergedPullRequest(event, links) : null;
  if (refs.length === 0 && !pr) return [];
  const repository = githubRepository(event, links);
  const sender = githubUser(event.actor, links);
  const pusher = { name: event.actor.name, email: event.actor.email ?? null };
  const hookId = hookIdOf(ctx.destination);
  const requests: RenderedRequest[] = refs.map((ref, i) => {
    const commits = ref.change === 'delete' ? [] : refCommits(event, ref, ctx.options.commitLimit);
    const head = ref.change === 'delete' ? undefined : commitAt(event, headCommitSha(ref));
    const body = {
      ref: ref.ref,
      before: ref.before,
      after: ref.after,
      repository,
      pusher,
      sender,
      created: ref.change === 'create',
      deleted: ref.change === 'delete',
      forced: ref.forced,
      base_ref: baseRef(refs, ref),
      compare: compareUrl(ref, links),
      commits: commits.map((c) => githubCommit(c, event.actor, links)),
      head_commit: head ? githubCommit(head, event.actor, links) : null,
    };
    const hdrs = headers('push', derivedUuid(ctx.seed, 'github', 'request', i), hookId);
    hdrs['X-GitHub-Hook-Installation-Target-ID'] = String(repository.id);
    return { headers: hdrs, body: jsonBody(body), signatureHeader: 'X-Hub-Signature-256', label: ref.ref };
  });
  if (pr) {
    const body = {
      action: 'closed',
      number: pr.id,
      pull_request: githubPullRequest(event, pr, repository, sender, links),
      repository,
      sender,
    };
    const hdrs = headers('pull_request', derivedUuid(ctx.seed, 'github', 'pull_request'), hookId);
    hdrs['X-GitHub-Hook-Installation-Target-ID'] = String(repository.id);
    requests.push({ headers: hdrs, body: jsonBody(body), signatureHeader: 'X-Hub-Signature-256', label: `pull_request #${pr.id}` });
  }
  return requests;
}

/** GitHub's pull_request object of a merged Bitbucket pull request (URLs: Bitbucket pages and REST resources). */
function githubPullRequest(event: PushEvent, pr: MergedPullRequest, repository: Record<string, unknown>, mergedBy: Record<string, unknown>, links: BitbucketLinks): Record<string, unknown> {
  const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
  const api = `${links.api}/pull-requests/${pr.id}`;
  const author = githubUserOf(pr.author.user, links);
  const end = (s: PullRequestSide) => ({
    label: `${s.projectKey}:${s.displayId}`,
    ref: s.displayId,
    sha: s.latestCommit ?? '',
    user: githubUser({ name: s.projectKey }, links),
    // A fork's repository is not described by the event: null, as GitHub sends for a deleted fork.
    repo: s.projectKey === event.repository.projectKey && s.slug === event.repository.slug ? repository : null,
  });
  const gained = pr.targetRef ? pr.targetRef.totalCommits : 0;
  const files = pr.targetRef ? refFiles(event, pr.targetRef) : { changed: 0, additions: 0, deletions: 0 };
  return {
    url: api,
    id: pr.id,
    node_id: Buffer.from(`011:PullRequest${repository.id}:${pr.id}`).toString('base64'),
    html_url: pr.url,
    diff_url: `${pr.url}/diff`,
    patch_url: `${pr.url}/diff`,
    issue_url: pr.url,
    number: pr.id,
    state: 'closed',
    locked: false,
    title: pr.title,
    user: author,
    body: pr.description,
    created_at: iso(pr.createdDate),
    updated_at: iso(pr.updatedDate),
    closed_at: iso(pr.closedDate),
    merged_at: iso(pr.closedDate),
    merge_commit_sha: pr.mergeCommit,
    assignee: null,
    assignees: [],
    requested_reviewers: pr.reviewers.filter((r) => !r.approved).map((r) => githubUserOf(r.user, links)),
    requested_teams: [],
    labels: [],
    milestone: null,
    draft: false,
    commits_url: `${api}/commits`,
    review_comments_url: `${api}/comments`,
    review_comment_url: `${api}/comments{/number}`,
    comments_url: `${api}/comments`,
    statuses_url: `${links.base}/rest/build-status/1.0/commits/${pr.from.latestCommit ?? ''}`,
    head: end(pr.from),
    base: end(pr.to),
    _links: {
      self: { href: api },
      html: { href: pr.url },
      issue: { href: pr.url },
      comments: { href: `${api}/comments` },
      review_comments: { href: `${api}/comments` },
      review_comment: { href: `${api}/comments{/number}` },
      commits: { href: `${api}/commits` },
      statuses: { href: `${links.base}/rest/build-status/1.0/commits/${pr.from.latestCommit ?? ''}` },
    },
    author_association: 'NONE',
    auto_merge: null,
    active_lock_reason: null,
    merged: true,
    mergeable: null,
    rebaseable: null,
    mergeable_state: 'unknown',
    merged_by: mergedBy,
    comments: 0,
    review_comments: 0,
    maintainer_can_modify: false,
    commits: gained,
    additions: files.additions,
    deletions: files.deletions,
    changed_files: files.changed,
  };
}

/** Line and file counts of what the merge brought to the target branch (its listed commits). */
function refFiles(event: PushEvent, ref: RefChange): { changed: number; additions: number; deletions: number } {
  const paths = new Set<string>();
  let additions = 0;
  let deletions = 0;
  for (const sha of ref.commits) {
    const c = event.commits[sha];
    // A merge commit's diff against its first parent repeats the merged commits' changes.
    if (!c || c.merge) continue;
    for (const f of c.files) {
      paths.add(f.path);
      additions += f.additions;
      deletions += f.deletions;
    }
  }
  return { changed: paths.size, additions, deletions };
}

/** GitHub's user object for a Bitbucket user named by the REST API or the hook. */
function githubUserOf(u: BitbucketUser, links: BitbucketLinks): Record<string, unknown> {
  const person: Person = { name: u.name };
  if (u.displayName !== null) person.displayName = u.displayName;
  if (u.email !== null) person.email = u.email;
  return githubUser(person, links);
}

function headers(event: string, delivery: string, hookId: number): Record<string, string> {
  return {
    'Content-Type': JSON_CONTENT_TYPE,
    'X-GitHub-Event': event,
    'X-GitHub-Delivery': delivery,
    'X-GitHub-Hook-ID': String(hookId),
    'X-GitHub-Hook-Installation-Target-Type': 'repository',
  };
}

function hookIdOf(destination: string): number {
  return syntheticId('hook', destination);
}

/** GitHub sets base_ref on a tag push when the tag points at a branch tip; here: a branch of the same push. */
function baseRef(refs: RefChange[], ref: RefChange): string | null {
  if (ref.kind !== 'tag' || ref.change === 'delete') return null;
  const target = headCommitSha(ref);
  const branch = refs.find((r) => r.kind === 'branch' && r.change !== 'delete' && r.after === target);
  return branch ? branch.ref : null;
}

function compareUrl(ref: RefChange, links: BitbucketLinks): string {
  if (ref.change === 'create') return links.commit(headCommitSha(ref));
  if (ref.change === 'delete') return links.commit(ref.before);
  return links.compare(ref.before, ref.after);
}

/** added / removed / modified as GitHub reports them: a rename is its old path removed and its new path added. */
function githubCommit(c: CommitInfo, actor: Person, links: BitbucketLinks): Record<string, unknown> {
  const added: string[] = [];
  const removed: string[] = [];
  const modified: string[] = [];
  for (const f of c.files) {
    if (f.status === 'added' || f.status === 'copied') added.push(f.path);
    else if (f.status === 'deleted') removed.push(f.path);
    else if (f.status === 'renamed') {
      if (f.oldPath) removed.push(f.oldPath);
      added.push(f.path);
    } else modified.push(f.path);
  }
  return {
    id: c.id,
    tree_id: c.tree ?? '',
    distinct: c.distinct,
    message: c.message,
    timestamp: c.author.date,
    url: c.url ?? links.commit(c.id),
    author: gitPerson(c.author.name, c.author.email, actor),
    committer: gitPerson(c.committer.name, c.committer.email, actor),
    added,
    removed,
    modified,
  };
}

function gitPerson(name: string, email: string, actor: Person): Record<string, string> {
  const p: Record<string, string> = { name, email };
  // GitHub adds the account's login when it knows the e-mail; we know the pusher's.
  if (actor.email && actor.email.toLowerCase() === email.toLowerCase()) p.username = actor.name;
  return p;
}

/** GitHub's user object for a Bitbucket user (the pusher). */
function githubUser(person: Person, links: BitbucketLinks): Record<string, unknown> {
  const slug = userSlug(person.name);
  const id = syntheticId('user', person.name);
  return userObject({
    login: person.name,
    id,
    nodeId: Buffer.from(`04:User${id}`).toString('base64'),
    name: person.displayName ?? person.name,
    email: person.email ?? null,
    html: links.user(slug),
    api: links.userApi(slug),
    type: 'User',
  });
}

function userObject(u: { login: string; id: number; nodeId: string; name: string; email: string | null; html: string; api: string; type: 'User' | 'Organization' }): Record<string, unknown> {
  return {
    name: u.name,
    email: u.email,
    login: u.login,
    id: u.id,
    node_id: u.nodeId,
    avatar_url: `${u.html}/avatar.png`,
    gravatar_id: '',
    url: u.api,
    html_url: u.html,
    followers_url: `${u.api}/followers`,
    following_url: `${u.api}/following{/other_user}`,
    gists_url: `${u.api}/gists{/gist_id}`,
    starred_url: `${u.api}/starred{/owner}{/repo}`,
    subscriptions_url: `${u.api}/subscriptions`,
    organizations_url: `${u.api}/orgs`,
    repos_url: `${u.api}/repos`,
    events_url: `${u.api}/events{/privacy}`,
    received_events_url: `${u.api}/received_events`,
    type: u.type,
    site_admin: false,
  };
}

/** GitHub's repository object for the Bitbucket repository (shape of `@octokit/webhooks-schemas` `repository`). */
function githubRepository(event: PushEvent, links: BitbucketLinks): Record<string, unknown> & { id: number } {
  const repo = event.repository;
  const id = repo.id ?? syntheticId('repository', `${repo.projectKey}/${repo.slug}`);
  const projectId = syntheticId('project', repo.projectKey);
  const api = links.api;
  const isPublic = repo.public ?? false;
  const defaultBranch = repo.defaultBranch ?? FALLBACK_DEFAULT_BRANCH;
  const pushedAt = epochSeconds(event.time);
  return {
    id,
    node_id: Buffer.from(`010:Repository${id}`).toString('base64'),
    name: repo.slug,
    full_name: `${repo.projectKey}/${repo.slug}`,
    private: !isPublic,
    owner: userObject({
      login: repo.projectKey,
      id: projectId,
      nodeId: Buffer.from(`012:Organization${projectId}`).toString('base64'),
      name: repo.projectKey,
      email: null,
      html: links.project,
      api: `${links.base}/rest/api/1.0/projects/${encodeURIComponent(repo.projectKey)}`,
      type: 'Organization',
    }),
    html_url: links.self,
    description: null,
    fork: repo.fork ?? false,
    url: api,
    forks_url: `${api}/forks`,
    keys_url: `${api}/keys{/key_id}`,
    collaborators_url: `${api}/collaborators{/collaborator}`,
    teams_url: `${api}/teams`,
    hooks_url: `${api}/webhooks`,
    issue_events_url: `${api}/issues/events{/number}`,
    events_url: `${api}/events`,
    assignees_url: `${api}/assignees{/user}`,
    branches_url: `${api}/branches{/branch}`,
    tags_url: `${api}/tags`,
    blobs_url: `${api}/git/blobs{/sha}`,
    git_tags_url: `${api}/git/tags{/sha}`,
    git_refs_url: `${api}/git/refs{/sha}`,
    trees_url: `${api}/git/trees{/sha}`,
    statuses_url: `${links.base}/rest/build-status/1.0/commits/{sha}`,
    languages_url: `${api}/languages`,
    stargazers_url: `${api}/stargazers`,
    contributors_url: `${api}/contributors`,
    subscribers_url: `${api}/subscribers`,
    subscription_url: `${api}/subscription`,
    commits_url: `${api}/commits{/sha}`,
    git_commits_url: `${api}/git/commits{/sha}`,
    comments_url: `${api}/comments{/number}`,
    issue_comment_url: `${api}/issues/comments{/number}`,
    contents_url: `${api}/browse/{+path}`,
    compare_url: `${api}/compare/commits{?from,to}`,
    merges_url: `${api}/merges`,
    archive_url: `${api}/archive{?format,at}`,
    downloads_url: `${api}/downloads`,
    issues_url: `${api}/issues{/number}`,
    pulls_url: `${api}/pull-requests{/number}`,
    milestones_url: `${api}/milestones{/number}`,
    notifications_url: `${api}/notifications{?since,all,participating}`,
    labels_url: `${api}/labels{/name}`,
    releases_url: `${api}/releases{/id}`,
    deployments_url: `${api}/deployments`,
    // Creation time is unknown to the host; 0 says so rather than guessing.
    created_at: 0,
    updated_at: event.time,
    pushed_at: pushedAt,
    git_url: links.cloneHttp,
    ssh_url: links.cloneSsh,
    clone_url: links.cloneHttp,
    svn_url: links.self,
    homepage: null,
    size: 0,
    stargazers_count: 0,
    watchers_count: 0,
    language: null,
    has_issues: false,
    has_projects: false,
    has_downloads: false,
    has_wiki: false,
    has_pages: false,
    has_discussions: false,
    forks_count: 0,
    mirror_url: null,
    archived: false,
    disabled: false,
    open_issues_count: 0,
    license: null,
    forks: 0,
    open_issues: 0,
    watchers: 0,
    stargazers: 0,
    default_branch: defaultBranch,
    master_branch: defaultBranch,
    organization: repo.projectKey,
    is_template: false,
    web_commit_signoff_required: false,
    topics: [],
    visibility: isPublic ? 'public' : 'private',
    custom_properties: {},
  };
}
