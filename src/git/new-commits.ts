// The commits a push made new to the repository, as a small in-memory graph:
//   git rev-list --topo-order --parents --stdin \
//       --not --exclude=HEAD --exclude=<each updated ref> --all
// with the pushed tips on stdin and the updated refs' OLD values as ^sha.
// After post-receive the refs already hold their new values, so "every ref as
// it stood before the push" = all refs except the updated ones, plus the
// updated ones' old values. (HEAD is excluded because it is a symbolic ref to
// a branch that may be one of the updated ones.) The walk stops where known
// history starts, so its cost follows the new commits, not the repository.

import type { GitRunner } from './run-git.ts';

/** Commits new with this push: parents of each, and a topological order (children first). */
export interface NewCommitGraph {
  parents: Map<string, string[]>;
  /** Newest first; parents always after their children. */
  topoOrder: string[];
}

/** Parses `rev-list --parents` output ("sha parent…" per line). */
export function parseRevListParents(text: string): NewCommitGraph {
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

/** Runs the rev-list above; rejects (GitCommandError) when an object is missing. */
export async function listNewCommits(git: GitRunner, tips: readonly string[], oldValues: readonly string[], updatedRefs: readonly string[]): Promise<NewCommitGraph> {
  if (tips.length === 0) return { parents: new Map(), topoOrder: [] };
  const input = [...tips, ...oldValues.map((sha) => `^${sha}`)].join('\n') + '\n';
  const args = ['rev-list', '--topo-order', '--parents', '--stdin', '--not', '--exclude=HEAD', ...updatedRefs.map((r) => `--exclude=${r}`), '--all'];
  const { stdout } = await git.run(args, { input });
  return parseRevListParents(stdout.toString('latin1'));
}

/**
 * Commits reachable from tip without leaving the new-commit graph, and the
 * parents where the walk left it (known history). A created ref's commits are
 * exactly `members`; for an update, `boundary` = {before} proves a plain
 * fast-forward whose added commits are `members` (no git call needed).
 */
export function walkNewCommits(graph: NewCommitGraph, tip: string): { members: Set<string>; boundary: Set<string> } {
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
export function oldestFirst(graph: NewCommitGraph, members: ReadonlySet<string>): string[] {
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

/**
 * Commits a deleted ref leaves unreachable from every remaining ref:
 * `git rev-list --count <old> --not --all` (refs already hold their values
 * after the push; a HEAD left dangling by the delete is skipped by git).
 */
export async function countOrphanedCommits(git: GitRunner, before: string): Promise<number> {
  const { stdout } = await git.run(['rev-list', '--count', '--stdin', '--not', '--all'], { input: `${before}\n` });
  return Number(stdout.toString('latin1').trim()) || 0;
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
