// The commits new with a push AND their details, from ONE git process:
//   git log --topo-order --max-count=<limit+1> -z --format=<fields> --raw
//           --numstat … --stdin --not --exclude=HEAD --exclude=<changed>… --all
// the same revision arguments as listNewCommits (so the same commits, in the
// same order), with messages, files and line counts in the same output. Every
// git process costs the daemon ~2-3 ms of main-thread time to start, so the
// common push (a fast-forward, a new branch) now needs this one process only.
// A push of more than `limit` new commits is reported incomplete: the caller
// then lists them all (rev-list) for exact totals and keeps the details read.

import { logDetailArguments, LogParser, COMMITS_PER_LOG_PROCESS, type LoggedCommit } from './commit-log.ts';
import { selectCommitsNotIn, type CommitGraph, type RefsAsOf } from './new-commits.ts';
import type { GitRunner } from './run-git.ts';

/** What one detailed walk saw. */
export interface NewCommitWalk {
  /** The commits walked (at most limit + 1), parents included, newest first. */
  graph: CommitGraph;
  /** True when the walk saw every new commit; false when there are more than `limit`. */
  complete: boolean;
}

/** Options of walkNewCommits (the detail options are those of logCommits). */
export interface NewCommitWalkOptions {
  /** Commits detailed before the push counts as large (the walk stops after limit + 1). */
  limit: number;
  renames: boolean;
  copies: boolean;
  maxFiles: number;
  fallbackEncoding: string | null;
  /** Each walked commit, newest first; only trust them once the walk resolved. */
  onCommit: (commit: LoggedCommit) => void;
  maxExcludeBytes?: number;
}

/**
 * How many commits one walk details: the event's cap, but, when a large push
 * may be split over several log processes, no more than one process would
 * take before splitForParallelLog splits, so a huge push still uses the cores.
 */
export function walkDetailLimit(maxCommits: number, maxLogProcesses: number): number {
  return maxLogProcesses > 1 ? Math.min(maxCommits, 2 * COMMITS_PER_LOG_PROCESS - 1) : maxCommits;
}

/**
 * Walks the commits reachable from `tips` but from no ref as of `before`,
 * streaming each with its details to onCommit. Rejects with GitCommandError
 * when git fails (a named object missing, a tree or blob pruned): commits
 * delivered before the failure are then incomplete and must be dropped.
 */
export async function walkNewCommits(git: GitRunner, tips: readonly string[], before: RefsAsOf, options: NewCommitWalkOptions): Promise<NewCommitWalk> {
  const graph: CommitGraph = { parents: new Map(), topoOrder: [] };
  if (tips.length === 0) return { graph, complete: true };
  const { args, input } = await selectCommitsNotIn(git, tips, before, options.maxExcludeBytes);
  const parser = new LogParser({
    maxFiles: options.maxFiles,
    fallbackEncoding: options.fallbackEncoding,
    onCommit: (commit) => {
      graph.parents.set(commit.id, commit.parents);
      graph.topoOrder.push(commit.id);
      options.onCommit(commit);
    },
  });
  const walk = ['-c', 'log.showSignature=false', 'log', '--topo-order', `--max-count=${options.limit + 1}`, ...logDetailArguments({ ...options, withFiles: true }), ...args];
  await git.run(walk, { input, onStdout: (chunk) => parser.push(chunk) });
  parser.end();
  return { graph, complete: graph.topoOrder.length <= options.limit };
}
