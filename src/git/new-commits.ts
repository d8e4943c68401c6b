// Which commits a push brought, and took away, as small in-memory graphs.
//
// New commits:
//   git rev-list --topo-order --parents --stdin \
//       --not --exclude=HEAD --exclude=<each updated ref> --all
// with the pushed tips on stdin and the updated refs' OLD values as ^sha.
// After post-receive the refs already hold their new values, so "every ref as
// it stood before the push" = all refs except the updated ones, plus the
// updated ones' old values (and, when later pushes are known, the refs they
// changed rolled back the same way). The walk stops where known history
// starts, so its cost follows the new commits, not the repository.

import { isZeroSha, type RefLine } from './ref-lines.ts';
import type { GitRunner } from './run-git.ts';

/** A set of commits with their parents and a topological order (children first). */
export interface CommitGraph {
  parents: Map<string, string[]>;
  /** Newest first; parents always after their children. */
  topoOrder: string[];
}

/** Parses `rev-list --parents` output ("sha parent…" per line). */
export function parseRevListParents(text: string): CommitGraph {
  const parents = new Map<string, string[]>();
  const topoOrder: string[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const [sha, ...rest] = line.split(' ');
    parents.set(sha, rest);
    topoOrder.push(sha);
  }
  return { parents, topoOrder };
}

/** Above this many bytes of `--exclude=` arguments, the refs are listed instead (argv has limits). */
export const MAX_EXCLUDE_BYTES = 64 * 1024;

/**
 * The refs as they stood at some moment, relative to now: every ref except
 * `changedRefs` holds its current value; the changed ones held `values`
 * (their old values; refs that did not exist then are simply absent).
 */
export interface RefsAsOf {
  changedRefs: readonly string[];
  values: readonly string[];
}

/**
 * The refs as they stood before and right after this push, relative to now.
 * `later` = ref lines of pushes to the same repository made after this one
 * (oldest first): a ref they changed held, right after this push, the old
 * value of the first of them to touch it. Without them, "after" is now.
 */
export function refStatesAroundPush(lines: readonly RefLine[], later: readonly RefLine[] = []): { before: RefsAsOf; after: RefsAsOf } {
  const afterThis = new Map<string, string>();
  for (const l of later) if (!afterThis.has(l.ref)) afterThis.set(l.ref, l.before);
  const beforeThis = new Map(afterThis);
  for (const l of lines) beforeThis.set(l.ref, l.before);
  const existing = (values: Iterable<string>) => [...new Set([...values].filter((v) => !isZeroSha(v)))];
  return {
    before: { changedRefs: [...beforeThis.keys()], values: existing(beforeThis.values()) },
    after: { changedRefs: [...afterThis.keys()], values: existing(afterThis.values()) },
  };
}

/**
 * Revision arguments and stdin selecting the commits reachable from
 * `positives` but from no ref as of `refs`, for any revision walker (rev-list,
 * log): `--stdin --not --exclude=HEAD --exclude=<changed>… --all` with the
 * positives and `^value` lines on stdin. HEAD is excluded because it is a
 * symbolic ref to a branch that may be one of the changed ones. Very many
 * changed refs (a mirror push) would overflow the command line, so then the
 * refs are listed once (for-each-ref, one more git process) and the
 * unchanged ones passed as ^sha.
 */
export async function selectCommitsNotIn(git: GitRunner, positives: readonly string[], refs: RefsAsOf, maxExcludeBytes = MAX_EXCLUDE_BYTES): Promise<{ args: string[]; input: string }> {
  const excludeBytes = refs.changedRefs.reduce((n, ref) => n + ref.length + 11, 0);
  let negatives: readonly string[] = refs.values;
  let args = ['--stdin', '--not', '--exclude=HEAD', ...refs.changedRefs.map((r) => `--exclude=${r}`), '--all'];
  if (excludeBytes > maxExcludeBytes) {
    const changed = new Set(refs.changedRefs);
    const { stdout } = await git.run(['for-each-ref', '--format=%(objectname) %(refname)']);
    const unchanged = stdout.toString('latin1').split('\n').filter((l) => l !== '' && !changed.has(l.slice(l.indexOf(' ') + 1))).map((l) => l.slice(0, l.indexOf(' ')));
    negatives = [...new Set([...refs.values, ...unchanged])];
    args = ['--stdin'];
  }
  return { args, input: [...positives, ...negatives.map((sha) => `^${sha}`)].join('\n') + '\n' };
}

/**
 * Commits reachable from `positives` but from no ref as of `refs`, with
 * parents: `git rev-list --parents` over selectCommitsNotIn. Rejects
 * (GitCommandError) when a named object is missing.
 */
export async function listCommitsNotIn(git: GitRunner, positives: readonly string[], refs: RefsAsOf, options: { topoOrder: boolean; maxExcludeBytes?: number }): Promise<CommitGraph> {
  if (positives.length === 0) return { parents: new Map(), topoOrder: [] };
  const { args, input } = await selectCommitsNotIn(git, positives, refs, options.maxExcludeBytes);
  const { stdout } = await git.run(['rev-list', ...(options.topoOrder ? ['--topo-order'] : []), '--parents', ...args], { input });
  return parseRevListParents(stdout.toString('latin1'));
}

/**
 * Commits new to the repository with this push: reachable from the pushed
 * tips, from no ref as it stood before the push. (After post-receive the
 * refs hold their new values: "before" = the updated refs' old values.)
 */
export function listNewCommits(git: GitRunner, tips: readonly string[], before: RefsAsOf, maxExcludeBytes?: number): Promise<CommitGraph> {
  return listCommitsNotIn(git, tips, before, { topoOrder: true, maxExcludeBytes });
}

/**
 * Commits that deleted refs held and no ref reached right after the push,
 * for all deletes at once (`after` = refs as they stood after the push).
 */
export function listOrphanedCommits(git: GitRunner, oldValues: readonly string[], after: RefsAsOf): Promise<CommitGraph> {
  return listCommitsNotIn(git, oldValues, after, { topoOrder: false });
}

/**
 * Commits reachable from tip without leaving the graph, and the parents where
 * the walk left it. On the new-commit graph: a created ref's commits are
 * exactly `members`; for an update, `boundary` = {before} proves a plain
 * fast-forward whose added commits are `members` (no git call needed). On the
 * orphan graph: `members` are the commits a deleted ref took with it.
 */
export function walkWithin(graph: CommitGraph, tip: string): { members: Set<string>; boundary: Set<string> } {
  const members = new Set<string>();
  const boundary = new Set<string>();
  if (!graph.parents.has(tip)) {
    boundary.add(tip);
    return { members, boundary };
  }
  const stack = [tip];
  while (stack.length) {
    const sha = stack.pop()!;
    if (members.has(sha)) continue;
    members.add(sha);
    for (const parent of graph.parents.get(sha)!) {
      if (graph.parents.has(parent)) stack.push(parent);
      else boundary.add(parent);
    }
  }
  return { members, boundary };
}

/** The members in oldest-first (reverse topological) order. */
export function oldestFirst(graph: CommitGraph, members: ReadonlySet<string>): string[] {
  const ordered: string[] = [];
  for (let i = graph.topoOrder.length - 1; i >= 0; i--) {
    if (members.has(graph.topoOrder[i])) ordered.push(graph.topoOrder[i]);
  }
  return ordered;
}

/** Commits gained and lost by one updated ref, from `git rev-list --left-right --topo-order before...after`. */
export async function compareRefValues(git: GitRunner, before: string, after: string): Promise<{ added: string[]; removed: number }> {
  const { stdout } = await git.run(['rev-list', '--left-right', '--topo-order', `${before}...${after}`]);
  const added: string[] = [];
  let removed = 0;
  for (const line of stdout.toString('latin1').split('\n')) {
    if (line.startsWith('>')) added.push(line.slice(1));
    else if (line.startsWith('<')) removed++;
  }
  return { added: added.reverse(), removed };
}

/** Which of the given object names the repository does not have: one `cat-file --batch-check`. */
export async function findMissingObjects(git: GitRunner, shas: readonly string[]): Promise<Set<string>> {
  const unique = [...new Set(shas)];
  const missing = new Set<string>();
  if (unique.length === 0) return missing;
  const { stdout } = await git.run(['cat-file', '--batch-check'], { input: unique.join('\n') + '\n' });
  for (const line of stdout.toString('latin1').split('\n')) {
    const [name, status] = line.split(' ');
    if (status === 'missing' || status === 'ambiguous') missing.add(name);
  }
  return missing;
}
