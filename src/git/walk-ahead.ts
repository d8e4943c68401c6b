// Walking ahead: when pushes to one repository queue up (a burst, a backlog
// after a restart), the first one's walk also reads the commits of the next
// ones, so each of those needs no git process of its own for the common case.
//
// Why it is exact: while every push before push k only creates branches or
// fast-forwards them (reachability only grows), the refs as they stood at
// push k reach what the refs at push 1 reached plus what the earlier pushes'
// new values reach. So push k's new commits are, within the one walk W of
// all tips not reachable from the refs at push 1, the commits its tips reach
// minus those the earlier pushes' tips reach. A commit outside W that a W
// commit names as parent is reachable from the refs at push 1, so nothing
// outside W can belong to any of them.
//
// Only what is sure is handed on: a chain of pushes whose old values follow
// each other (no push left out between them), of branch creates / updates
// only, each update a fast-forward the walk proves; a push's commits only
// when they form one line (its own walk would list them in that same order)
// and fit the walk's limit. Everything else is walked as before.

import type { LoggedCommit } from './commit-log.ts';
import { walkWithin, type CommitGraph, type RefsAsOf } from './new-commits.ts';
import { walkNewCommits, type NewCommitWalkOptions } from './new-commit-walk.ts';
import { isZeroSha, matchesAnyRefGlob, type RefLine } from './ref-lines.ts';
import type { GitRunner } from './run-git.ts';

/** At most this many pushes are read by one walk (bounds the memory held for pushes not analysed yet). */
export const MAX_PUSHES_WALKED_AHEAD = 32;

/** One push's walk, read ahead by an earlier push's analysis. */
export interface WalkedPush {
  /** The push it belongs to (pushKey of its ref lines). */
  key: string;
  /** Its new commits and their parents, newest first (what its own walk would give). */
  graph: CommitGraph;
  /** Those commits with their details, newest first. */
  commits: LoggedCommit[];
}

/** What one analysis read ahead for the pushes after it. */
export interface WalksReadAhead {
  /** Walks of later pushes (those that got one). */
  walks: WalkedPush[];
  /** The pushes together had more commits than one walk reads (or the walk failed): nothing was read ahead. */
  overflowed: boolean;
}

/** Identifies a push by its ref lines, in order. */
export function pushKey(lines: readonly RefLine[]): string {
  return lines.map((l) => `${l.before} ${l.after} ${l.ref}`).join('\n');
}

/** Branch creates and updates only, none of them ignored: pushes whose effect on reachability the walk can judge. */
function branchCreatesAndUpdates(lines: readonly RefLine[], ignoreRefs: readonly string[]): boolean {
  return lines.length > 0 && lines.every((l) => l.ref.startsWith('refs/heads/') && !isZeroSha(l.after) && !matchesAnyRefGlob(l.ref, ignoreRefs));
}

/**
 * The pushes one walk may read, oldest first: this push and the later ones
 * up to the first that is not a branch create / update, or whose old values
 * do not follow from the pushes before it (a push in between is not known).
 * Fewer than two: nothing to walk ahead for.
 */
export function pushesToWalk(lines: readonly RefLine[], later: readonly (readonly RefLine[])[], ignoreRefs: readonly string[]): (readonly RefLine[])[] {
  const chain: (readonly RefLine[])[] = [];
  const value = new Map<string, string>();
  for (const push of [lines, ...later]) {
    if (chain.length >= MAX_PUSHES_WALKED_AHEAD || !branchCreatesAndUpdates(push, ignoreRefs)) break;
    if (push.some((l) => value.has(l.ref) && value.get(l.ref) !== l.before)) break;
    if (new Set(push.map((l) => l.ref)).size !== push.length) break;
    for (const l of push) value.set(l.ref, l.after);
    chain.push(push);
  }
  return chain.length >= 2 ? chain : [];
}

/** The commits of `tips` within the graph, not in `reached`. */
function reachWithin(graph: CommitGraph, tips: Iterable<string>, reached: ReadonlySet<string>): Set<string> {
  const members = new Set<string>();
  const stack = [...tips];
  while (stack.length) {
    const sha = stack.pop()!;
    if (members.has(sha) || reached.has(sha) || !graph.parents.has(sha)) continue;
    members.add(sha);
    stack.push(...graph.parents.get(sha)!);
  }
  return members;
}

/** True when the members form one line of history (one head, each with at most one parent and one child among them). */
function isOneLine(graph: CommitGraph, members: ReadonlySet<string>): boolean {
  const children = new Map<string, number>();
  for (const sha of members) {
    const inside = graph.parents.get(sha)!.filter((p) => members.has(p));
    if (inside.length > 1) return false;
    for (const p of inside) children.set(p, (children.get(p) ?? 0) + 1);
  }
  let heads = 0;
  for (const sha of members) {
    const n = children.get(sha) ?? 0;
    if (n > 1) return false;
    if (n === 0) heads++;
  }
  return heads <= 1;
}

/** True when the walk proves `before` is an ancestor of `after` (a fast-forward): among, or a parent of, what `after` reaches in it. */
function provesFastForward(graph: CommitGraph, before: string, after: string): boolean {
  const { members, boundary } = walkWithin(graph, after);
  return members.has(before) || boundary.has(before);
}

/**
 * Splits one complete walk of all the pushes' tips (from the refs as they
 * stood at the first push) into each push's own walk; null for a push whose
 * commits must be walked on their own (not one line, more than `limit`).
 * Stops after a push whose updates the walk does not prove fast-forwards:
 * the pushes after it could have regained commits it dropped. Pure.
 */
export function splitWalk(graph: CommitGraph, pushes: readonly (readonly RefLine[])[], limit: number): (CommitGraph | null)[] {
  const out: (CommitGraph | null)[] = [];
  const reached = new Set<string>();
  for (const lines of pushes) {
    const members = reachWithin(graph, lines.map((l) => l.after), reached);
    out.push(members.size <= limit && isOneLine(graph, members)
      ? { parents: new Map([...members].map((sha) => [sha, graph.parents.get(sha)!])), topoOrder: graph.topoOrder.filter((sha) => members.has(sha)) }
      : null);
    for (const sha of members) reached.add(sha);
    if (!lines.every((l) => isZeroSha(l.before) || provesFastForward(graph, l.before, l.after))) break;
  }
  return out;
}

/** Options of walkPushes: those of one push's walk (the same limit), without its per-commit callback. */
export type WalkPushesOptions = Omit<NewCommitWalkOptions, 'onCommit'>;

/**
 * One `git log` for the commits of all `pushes` (from pushesToWalk) not
 * reachable from the refs as of `before` (the first push's), split into each
 * push's walk; null when they are more than the limit (the first push then
 * walks on its own). Rejects with GitCommandError when git fails.
 */
export async function walkPushes(git: GitRunner, pushes: readonly (readonly RefLine[])[], before: RefsAsOf, options: WalkPushesOptions): Promise<(WalkedPush | null)[] | null> {
  const tips = [...new Set(pushes.flatMap((lines) => lines.map((l) => l.after)))];
  const logged = new Map<string, LoggedCommit>();
  const walk = await walkNewCommits(git, tips, before, { ...options, onCommit: (c) => logged.set(c.id, c) });
  if (!walk.complete) return null;
  return splitWalk(walk.graph, pushes, options.limit).map((own, i) => own && { key: pushKey(pushes[i]), graph: own, commits: own.topoOrder.map((sha) => logged.get(sha)!) });
}
