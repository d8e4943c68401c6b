// Which commits a push brought, and took away, as small in-memory graphs.
//
// New commits:
//   git rev-list --topo-order --parents --stdin \
//       --not --exclude=HEAD --exclude=<each updated ref> --all
// with the pushed tips on stdin and the updated refs' OLD values as ^sha.
// After post-receive the refs already hold their new values, so "every ref as
// it stood before the push" = all refs except the updated ones, plus the
// updated ones' old values. (HEAD is excluded because it is a symbolic ref to
// a branch that may be one of the updated ones.) The walk stops where known
// history starts, so its cost follows the new commits, not the repository.

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
 * Runs the rev-list above; rejects (GitCommandError) when a named object is
 * missing. A push of very many refs (a mirror) would overflow the command
 * line with --exclude, so then the unchanged refs are listed once
 * (for-each-ref) and passed as ^sha on stdin instead.
 */
export async function listNewCommits(git: GitRunner, tips: readonly string[], oldValues: readonly string[], updatedRefs: readonly string[], maxExcludeBytes = MAX_EXCLUDE_BYTES): Promise<CommitGraph> {
  if (tips.length === 0) return { parents: new Map(), topoOrder: [] };
  const excludeBytes = updatedRefs.reduce((n, ref) => n + ref.length + 11, 0);
  let negatives: readonly string[] = oldValues;
  let args = ['rev-list', '--topo-order', '--parents', '--stdin', '--not', '--exclude=HEAD', ...updatedRefs.map((r) => `--exclude=${r}`), '--all'];
  if (excludeBytes > maxExcludeBytes) {
    const updated = new Set(updatedRefs);
    const { stdout } = await git.run(['for-each-ref', '--format=%(objectname) %(refname)']);
    const unchanged = stdout.toString('latin1').split('\n').filter((l) => l !== '' && !updated.has(l.slice(l.indexOf(' ') + 1))).map((l) => l.slice(0, l.indexOf(' ')));
    negatives = [...new Set([...oldValues, ...unchanged])];
    args = ['rev-list', '--topo-order', '--parents', '--stdin'];
  }
  const input = [...tips, ...negatives.map((sha) => `^${sha}`)].join('\n') + '\n';
  const { stdout } = await git.run(args, { input });
  return parseRevListParents(stdout.toString('latin1'));
}

/**
 * Commits that deleted refs held and no remaining ref reaches (refs already
 * hold their values after the push), with parents, for all deletes at once:
 * `git rev-list --parents --stdin --not --all` with the old values on stdin.
 * A HEAD left dangling by a delete is skipped by git.
 */
export async function listOrphanedCommits(git: GitRunner, oldValues: readonly string[]): Promise<CommitGraph> {
  if (oldValues.length === 0) return { parents: new Map(), topoOrder: [] };
  const { stdout } = await git.run(['rev-list', '--parents', '--stdin', '--not', '--all'], { input: oldValues.join('\n') + '\n' });
  return parseRevListParents(stdout.toString('latin1'));
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
