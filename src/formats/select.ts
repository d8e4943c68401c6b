// Choosing what of a PushEvent a wire format shows: which refs, which
// commits, in which order. Shared so every format agrees.

import type { CommitInfo, PushEvent, RefChange } from '../event/push-event.ts';

/**
 * The refs Bitbucket and GitHub payloads can express: branches and tags.
 * Other refs (refs/notes/*, refs/changes/*) appear only in the cloudevents
 * and pushevent formats.
 */
export function branchAndTagRefs(event: PushEvent): RefChange[] {
  return event.refs.filter((r) => r.kind === 'branch' || r.kind === 'tag');
}

/** The commit a ref points at after the push: an annotated tag's target, else `after`. */
export function headCommitSha(ref: RefChange): string {
  return ref.tag?.annotated && ref.tag.target ? ref.tag.target : ref.after;
}

/**
 * Details of commit `sha` as the event knows them: a commit the push brought,
 * or a ref tip it did not bring (`tipCommits`: a ref created on an existing
 * commit, an old value); undefined when analysis could not read it.
 */
export function commitAt(event: PushEvent, sha: string): CommitInfo | undefined {
  return event.commits[sha] ?? event.tipCommits?.[sha];
}

/** The event's commits of `ref`, oldest first, the most recent `limit` when given. */
export function refCommits(event: PushEvent, ref: RefChange, limit?: number): CommitInfo[] {
  const shas = limit !== undefined && ref.commits.length > limit ? ref.commits.slice(ref.commits.length - limit) : ref.commits;
  const out: CommitInfo[] = [];
  for (const sha of shas) {
    const c = event.commits[sha];
    if (c) out.push(c);
  }
  return out;
}

/**
 * Commits of several refs, each once, most recent first (ref by ref, newest
 * first within a ref), at most `limit` — Bitbucket's "only the most recent".
 */
export function recentCommits(event: PushEvent, refs: RefChange[], limit: number): CommitInfo[] {
  const seen = new Set<string>();
  const out: CommitInfo[] = [];
  for (const ref of refs) {
    for (let i = ref.commits.length - 1; i >= 0 && out.length < limit; i--) {
      const sha = ref.commits[i];
      if (seen.has(sha)) continue;
      seen.add(sha);
      const c = event.commits[sha];
      if (c) out.push(c);
    }
    if (out.length >= limit) break;
  }
  return out;
}

/** Commits of several refs, each once, oldest first within each ref. */
export function allCommits(event: PushEvent, refs: RefChange[]): CommitInfo[] {
  const seen = new Set<string>();
  const out: CommitInfo[] = [];
  for (const ref of refs) {
    for (const sha of ref.commits) {
      if (seen.has(sha)) continue;
      seen.add(sha);
      const c = event.commits[sha];
      if (c) out.push(c);
    }
  }
  return out;
}

/** A short description of what a request covers: `refs/heads/main` or `refs/heads/main +2`. */
export function refsLabel(refs: RefChange[]): string {
  if (refs.length === 0) return '(no refs)';
  return refs.length === 1 ? refs[0].ref : `${refs[0].ref} +${refs.length - 1}`;
}
