// `relay backfill`, the git side: replay a branch's history as push events (trigger
// `backfill`), so consumers that only see pushes made after their webhook was
// set up get the older commits too. The history is cut along the branch's
// first-parent chain into ranges of N steps; each range becomes the ref line
// "<before> <after> <ref>" and goes through the normal push analysis. Event
// ids derive from the range, so running the same backfill twice enqueues
// nothing new (use `relay redeliver` to send again on purpose).

import { createHash } from 'node:crypto';
import type { PushEvent } from '../event/push-event.ts';
import { analyzePush } from './analyze-push.ts';
import type { AnalysisOptions } from './analysis-options.ts';
import { openRepository } from './repository-identity.ts';
import { GitCommandError, GitRunner } from './run-git.ts';
import type { RefLine } from './ref-lines.ts';

/** Which history to replay. */
export type BackfillSelector =
  | { kind: 'since'; since: number; ref?: string }
  | { kind: 'range'; from: string; to: string; ref?: string }
  | { kind: 'ref'; ref: string };

/** The planned backfill: ref lines to analyze, oldest first. */
export interface BackfillPlan {
  repoPath: string;
  /** Full ref name (refs/heads/…). */
  ref: string;
  lines: RefLine[];
  /** First-parent steps covered (merged side branches come along). */
  steps: number;
  /** The history starts at a root commit: the first line creates the ref at it. */
  fromRoot: boolean;
  /**
   * Every other ref, as a creation "after" the replayed push: analysis then
   * sees the branch as the only ref, so each range lists exactly the commits
   * in before..after (the root too, though tags and other branches hold it).
   */
  otherRefs: RefLine[];
}

/** A backfill request that cannot be carried out; the message says why and what to give instead. */
export class BackfillError extends Error {
  override name = 'BackfillError';
}

const ZERO = '0000000000000000000000000000000000000000';

async function git(runner: GitRunner, args: string[]): Promise<string> {
  return (await runner.run(args)).stdout.toString('utf8').trim();
}

async function tryGit(runner: GitRunner, args: string[]): Promise<string | null> {
  try {
    return await git(runner, args);
  } catch (err) {
    if (err instanceof GitCommandError && err.exitCode !== null) return null;
    throw err;
  }
}

async function commitOf(runner: GitRunner, rev: string, what: string): Promise<string> {
  const sha = await tryGit(runner, ['rev-parse', '--verify', '--quiet', `${rev}^{commit}`]);
  if (!sha) throw new BackfillError(`${what} "${rev}" is not a commit in ${runner.gitDir}`);
  return sha;
}

async function fullBranch(runner: GitRunner, name: string): Promise<string> {
  const candidates = name.startsWith('refs/') ? [name] : [`refs/heads/${name}`, name];
  for (const c of candidates) {
    const full = await tryGit(runner, ['rev-parse', '--verify', '--quiet', '--symbolic-full-name', c]);
    if (full && full.startsWith('refs/heads/')) return full;
    if (full) throw new BackfillError(`backfill replays branches; "${name}" is ${full}`);
  }
  throw new BackfillError(`no branch "${name}" in ${runner.gitDir}`);
}

async function defaultBranch(repoPath: string, runner: GitRunner): Promise<string> {
  const repo = await openRepository(repoPath);
  if (!repo.defaultBranch) throw new BackfillError(`${repoPath} has no default branch (HEAD is detached); give --ref BRANCH`);
  return fullBranch(runner, repo.defaultBranch);
}

/** Cut a first-parent chain (oldest first) after `before` into ref lines of `batch` steps. */
export function chainToLines(ref: string, before: string | null, chain: readonly string[], batch: number): RefLine[] {
  const lines: RefLine[] = [];
  let start = 0;
  let prev = before;
  if (prev === null && chain.length) {
    // The root has no "before": the branch is created at it.
    lines.push({ before: ZERO, after: chain[0], ref });
    prev = chain[0];
    start = 1;
  }
  for (let i = start; i < chain.length; i += batch) {
    const end = Math.min(i + batch, chain.length) - 1;
    lines.push({ before: prev!, after: chain[end], ref });
    prev = chain[end];
  }
  return lines;
}

/** Work out the ref lines a backfill replays. */
export async function planBackfill(repoPath: string, selector: BackfillSelector, options: { batch: number; gitBinary?: string }): Promise<BackfillPlan> {
  const repo = await openRepository(repoPath);
  const runner = new GitRunner(repo.gitDir, { gitBinary: options.gitBinary });
  const batch = Math.max(1, Math.floor(options.batch));
  let ref: string;
  let before: string | null;
  let chain: string[];
  const list = async (args: string[]): Promise<string[]> => (await git(runner, args)).split('\n').filter(Boolean);

  if (selector.kind === 'range') {
    const from = await commitOf(runner, selector.from, 'range start');
    const to = await commitOf(runner, selector.to, 'range end');
    if ((await tryGit(runner, ['merge-base', '--is-ancestor', from, to])) === null) {
      throw new BackfillError(`${selector.from} is not an ancestor of ${selector.to}; give OLD..NEW with OLD older, on the same branch`);
    }
    if (selector.ref) {
      ref = await fullBranch(runner, selector.ref);
      const tip = await commitOf(runner, ref, 'branch');
      if ((await tryGit(runner, ['merge-base', '--is-ancestor', to, tip])) === null) throw new BackfillError(`${selector.to} is not on ${ref}`);
    } else {
      const containing = await list(['for-each-ref', '--contains', to, '--format=%(refname)', 'refs/heads/']);
      const head = await defaultBranch(repoPath, runner).catch(() => null);
      if (head && containing.includes(head)) ref = head;
      else if (containing.length === 1) ref = containing[0];
      else if (containing.length === 0) throw new BackfillError(`${selector.to} is on no branch; give --ref BRANCH`);
      else throw new BackfillError(`${selector.to} is on several branches (${containing.slice(0, 5).join(', ')}); give --ref BRANCH`);
    }
    before = from;
    chain = await list(['rev-list', '--first-parent', '--reverse', `${from}..${to}`]);
  } else {
    ref = selector.ref ? await fullBranch(runner, selector.ref) : await defaultBranch(repoPath, runner);
    const tip = await commitOf(runner, ref, 'branch');
    if (selector.kind === 'ref') {
      before = null;
      chain = await list(['rev-list', '--first-parent', '--reverse', tip]);
    } else {
      // Newest first with committer times; the range starts after the newest commit older than `since`.
      const rows = (await list(['log', '--first-parent', '--format=%H %ct', tip])).map((l) => {
        const [sha, ct] = l.split(' ');
        return { sha, time: Number(ct) * 1000 };
      });
      const cut = rows.findIndex((r) => r.time < selector.since);
      const newer = cut === -1 ? rows : rows.slice(0, cut);
      before = cut === -1 ? null : rows[cut].sha;
      chain = newer.map((r) => r.sha).reverse();
    }
  }
  const otherRefs = (await list(['for-each-ref', '--format=%(objectname) %(refname)']))
    .map((l) => ({ before: ZERO, after: l.slice(0, l.indexOf(' ')), ref: l.slice(l.indexOf(' ') + 1) }))
    .filter((l) => l.ref !== ref);
  return { repoPath: repo.repoPath, ref, lines: chainToLines(ref, before, chain, batch), steps: chain.length, fromRoot: before === null && chain.length > 0, otherRefs };
}

/** Stable event id (UUID layout, version 8) of one backfilled range: re-running a backfill gives the same ids. */
export function backfillEventId(node: string, repoPath: string, line: RefLine): string {
  const h = createHash('sha256').update(`backfill\n${node}\n${repoPath}\n${line.before} ${line.after} ${line.ref}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-8${h.slice(13, 16)}-${((parseInt(h[16], 16) & 0x3) | 0x8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/**
 * The PushEvent for one backfilled range, through the normal analysis with
 * trigger `backfill`, the branch seen as the only ref (plan.otherRefs). Every
 * listed commit is thus `distinct`: ranges do not overlap, so each commit
 * reaches consumers once, and consumers that only process distinct commits
 * (as GitHub's do) must not skip them.
 */
export async function analyzeBackfillRange(plan: Pick<BackfillPlan, 'repoPath' | 'otherRefs'>, line: RefLine, options: { analysis: AnalysisOptions; node: string; now?: number }): Promise<PushEvent> {
  const timeNs = BigInt(options.now ?? Date.now()) * 1_000_000n;
  const event = await analyzePush(
    {
      repoPath: plan.repoPath, refLines: [line], env: {}, timeNs, host: options.node, trigger: 'backfill',
      id: backfillEventId(options.node, plan.repoPath, line), laterRefLines: plan.otherRefs,
    },
    options.analysis,
  );
  return event;
}
