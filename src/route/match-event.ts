// Destination routing: a destination's `match:` decides which part of an
// event it receives. Repository-level criteria (projects, repos, triggers)
// accept or reject the whole event; ref-level criteria (refs, changes,
// paths, requireIssueKey) keep only the refs that pass, and the commits only
// those refs reference. Pure: the input event is never modified.

import type { CommitInfo, PushEvent, RefChange } from '../event/push-event.ts';
import type { MatchConfig } from '../config/config-types.ts';
import { matchesAnyGlob } from './glob.ts';

/** A routed event, or null with the reason nothing matched (for the delivery log). */
export interface RouteResult {
  event: PushEvent | null;
  /** Why the event matched nothing, e.g. `refs: no ref matches refs/heads/release/**`; null when it matched. */
  reason: string | null;
}

/**
 * The copy of `event` a destination with `match` receives, or null when
 * nothing of it matches. No criteria (undefined or `{}`) → the event itself.
 */
export function routeEvent(event: PushEvent, match: MatchConfig | undefined): PushEvent | null {
  return routeEventExplained(event, match).event;
}

/** routeEvent, plus why nothing matched when that is the outcome. */
export function routeEventExplained(event: PushEvent, match: MatchConfig | undefined): RouteResult {
  if (!match) return { event, reason: null };
  const repo = event.repository;

  // Project keys and KEY/slug are matched case-insensitively, as Bitbucket's URLs are.
  if (match.projects && !match.projects.some((k) => k.toUpperCase() === repo.projectKey.toUpperCase())) {
    return miss(`projects: ${repo.projectKey} is not one of ${match.projects.join(', ')}`);
  }
  if (match.repos && !matchesAnyGlob(`${repo.projectKey}/${repo.slug}`, match.repos, true)) {
    return miss(`repos: ${repo.projectKey}/${repo.slug} matches none of ${match.repos.join(', ')}`);
  }
  if (match.triggers && !match.triggers.includes(event.trigger)) {
    return miss(`triggers: ${event.trigger} is not one of ${match.triggers.join(', ')}`);
  }

  const checks: [string, (ref: RefChange) => boolean][] = [];
  if (match.refs) {
    const patterns = match.refs;
    checks.push([`refs: no ref matches ${patterns.join(', ')}`, (r) => refMatches(r, patterns)]);
  }
  if (match.changes) {
    const changes = match.changes;
    checks.push([`changes: no ref was a ${changes.join(' / ')}`, (r) => changes.includes(r.change)]);
  }
  if (match.paths) {
    const patterns = match.paths;
    checks.push([`paths: no commit touches ${patterns.join(', ')}`, (r) => refTouchesPaths(event, r, patterns)]);
  }
  if (match.requireIssueKey) {
    checks.push(['requireIssueKey: no commit names an issue key', (r) => r.commits.some((sha) => (event.commits[sha]?.issueKeys.length ?? 0) > 0)]);
  }
  if (checks.length === 0) return { event, reason: null };

  let refs = event.refs;
  for (const [reason, keep] of checks) {
    refs = refs.filter(keep);
    if (refs.length === 0) return miss(reason);
  }
  if (refs.length === event.refs.length) return { event, reason: null };
  return { event: narrowEvent(event, refs), reason: null };
}

function miss(reason: string): RouteResult {
  return { event: null, reason };
}

/**
 * `refs/...` patterns match the full ref name; others match the short name
 * (`main`, `release/**`, `v*`), so operators may write either.
 */
function refMatches(ref: RefChange, patterns: readonly string[]): boolean {
  for (const p of patterns) {
    if (matchesAnyGlob(p.startsWith('refs/') ? ref.ref : ref.name, [p])) return true;
  }
  return false;
}

/**
 * A ref matches `paths` when one of its commits adds, changes, deletes or
 * renames (old or new path) a matching file. When the evidence is incomplete
 * (ref commits truncated, or a commit's file list truncated) and nothing
 * matched, the ref is kept: better one delivery too many than a missed one.
 */
function refTouchesPaths(event: PushEvent, ref: RefChange, patterns: readonly string[]): boolean {
  let incomplete = ref.truncated;
  for (const sha of ref.commits) {
    const c: CommitInfo | undefined = event.commits[sha];
    if (!c) {
      incomplete = true;
      continue;
    }
    for (const f of c.files) {
      if (matchesAnyGlob(f.path, patterns) || (f.oldPath !== undefined && matchesAnyGlob(f.oldPath, patterns))) return true;
    }
    if (c.filesTruncated) incomplete = true;
  }
  return incomplete;
}

/** A copy of `event` with only `refs`, and only the commits they reference (plus their head commits). */
function narrowEvent(event: PushEvent, refs: RefChange[]): PushEvent {
  const commits: Record<string, CommitInfo> = {};
  const keep = (sha: string | null | undefined): void => {
    if (sha && !(sha in commits) && event.commits[sha]) commits[sha] = event.commits[sha];
  };
  for (const r of refs) {
    for (const sha of r.commits) keep(sha);
    keep(r.after);
    keep(r.tag?.target);
  }
  const truncated = refs.some((r) => r.truncated);
  const narrowed: PushEvent = {
    ...event,
    refs,
    commits,
    // Totals of the narrowed copy; when a kept ref is truncated the original total is the best bound known.
    totalCommits: truncated ? event.totalCommits : Object.keys(commits).length,
    truncated,
  };
  // Tip details only of the kept refs.
  delete narrowed.tipCommits;
  for (const r of refs) {
    for (const sha of [r.after, r.before, r.tag?.target]) {
      const tip = sha ? event.tipCommits?.[sha] : undefined;
      if (tip) (narrowed.tipCommits ??= {})[tip.id] = tip;
    }
  }
  return narrowed;
}
