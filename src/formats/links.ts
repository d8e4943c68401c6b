// Bitbucket Server URLs of a repository and its objects. Built from the
// event's base URL (BB_BASE_URL / bitbucket.baseUrl); when neither is known
// the node's host name stands in (`https://<node>`), documented in
// docs/formats.md — set bitbucket.baseUrl to get links consumers can open.

import type { RepositoryInfo } from '../event/push-event.ts';

/** Every URL the formats put in a payload, for one repository. */
export interface BitbucketLinks {
  /** `https://bitbucket.example.com` (no trailing slash). */
  base: string;
  /** `<base>/projects/KEY`. */
  project: string;
  /** `<base>/projects/KEY/repos/slug`. */
  repo: string;
  /** Repository page: the event's `links.self`, else `<repo>/browse`. */
  self: string;
  /** HTTP clone URL: the event's `links.clone`, else `<base>/scm/key/slug.git`. */
  cloneHttp: string;
  /** Bitbucket's default SSH clone URL (port 7999; not read from the server). */
  cloneSsh: string;
  /** REST resource of the repository: `<base>/rest/api/1.0/projects/KEY/repos/slug`. */
  api: string;
  /** Commit page. */
  commit(sha: string): string;
  /** REST resource of a commit. */
  commitApi(sha: string): string;
  /** Commit list of a ref (`<repo>/commits?until=<ref>`). */
  commits(ref: string): string;
  /** Source browser at a ref. */
  browseAt(ref: string): string;
  /** Compare page of `from..to` (`<repo>/compare/commits?sourceBranch=to&targetBranch=from`). */
  compare(from: string, to: string): string;
  /** Diff page of `from..to`. */
  diff(from: string, to: string): string;
  /** A user's profile page. */
  user(slug: string): string;
  /** A user's REST resource. */
  userApi(slug: string): string;
}

/** URLs for `repo`; `node` supplies the host when the base URL is unknown. */
export function bitbucketLinks(repo: RepositoryInfo, node: string): BitbucketLinks {
  const base = (repo.baseUrl ?? `https://${node}`).replace(/\/+$/, '');
  const key = encodeURIComponent(repo.projectKey);
  const slug = encodeURIComponent(repo.slug);
  const project = `${base}/projects/${key}`;
  const repoUrl = `${project}/repos/${slug}`;
  const api = `${base}/rest/api/1.0/projects/${key}/repos/${slug}`;
  const host = hostOf(base);
  const q = encodeURIComponent;
  return {
    base,
    project,
    repo: repoUrl,
    self: repo.links.self ?? `${repoUrl}/browse`,
    cloneHttp: repo.links.clone ?? `${base}/scm/${encodeURIComponent(repo.projectKey.toLowerCase())}/${slug}.git`,
    cloneSsh: `ssh://git@${host}:7999/${encodeURIComponent(repo.projectKey.toLowerCase())}/${slug}.git`,
    api,
    commit: (sha) => `${repoUrl}/commits/${sha}`,
    commitApi: (sha) => `${api}/commits/${sha}`,
    commits: (ref) => `${repoUrl}/commits?until=${q(ref)}`,
    browseAt: (ref) => `${repoUrl}/browse?at=${q(ref)}`,
    compare: (from, to) => `${repoUrl}/compare/commits?sourceBranch=${q(to)}&targetBranch=${q(from)}`,
    diff: (from, to) => `${repoUrl}/compare/diff?sourceBranch=${q(to)}&targetBranch=${q(from)}`,
    user: (s) => `${base}/users/${encodeURIComponent(s)}`,
    userApi: (s) => `${base}/rest/api/1.0/users/${encodeURIComponent(s)}`,
  };
}

/** Bitbucket's user slug for a user name: lower case, URL-safe characters kept. */
export function userSlug(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9._~-]+/g, '_');
}

function hostOf(base: string): string {
  try {
    return new URL(base).hostname;
  } catch {
    return base.replace(/^[a-z]+:\/\//i, '').replace(/[/:].*$/, '');
  }
}
