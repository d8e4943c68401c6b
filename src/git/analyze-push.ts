// One push (hook ref lines + environment) → one PushEvent, with the semantics
// of DESIGN.md "PushEvent v1".
//
// git processes per push (each costs the daemon ~2-3 ms of main-thread time
// to start), all independent of history size:
//   1  log walk: commits new to the repository with parents AND details
//      (message, files, line counts), if any ref gained a tip
//   +1 if a pushed tag's object is not one the object store reader answers
//      (object-store.ts; e.g. a deltified tag object): cat-file --batch
//   +1 per updated ref that is not a plain fast-forward of new commits
//      (forced, or fast-forward onto commits the repository already had)
//   +1 if refs were deleted: rev-list of the commits they left behind
//   +1 log: details of listed commits the walk did not read (commits the
//      repository already had, e.g. a merged branch; a push beyond the walk's
//      limit, split over options.maxLogProcesses)
//   +1 rev-list when the push has more new commits than the walk details
//      (exact totals; see walkDetailLimit)
//   +1 log of ref tips the push did not bring (a branch or tag created on an
//      existing commit), with files; old values of updated / deleted
//      branches come from the object store (commit-objects.ts), git log only
//      for those it cannot read
// so a fast-forward costs 1, a new branch 1, a tag or branch on an existing
// commit 2, a force-push 2, a delete 1. When pushes to the repository queue
// up, the first one's walk also reads the next ones' (walk-ahead.ts): a
// fast-forward or new branch read ahead costs 0.
// Anything missing or unreadable becomes an `errors[]` entry; only a
// repository that cannot be opened at all throws (RepositoryUnreadableError).

import { createHash } from 'node:crypto';
import type { AnalysisError, CommitInfo, PushEvent, RefChange, TagInfo, Trigger } from '../event/push-event.ts';
import { PUSH_EVENT_SCHEMA_VERSION } from '../event/push-event.ts';
import { actorFromEnv, capHookEnv, pullRequestFromEnv, triggerFromEnv } from '../event/hook-context.ts';
import { compileIssueKeyMatcher } from '../event/issue-keys.ts';
import { compileTriggerTagMatcher } from '../event/trigger-tags.ts';
import { DEFAULT_ANALYSIS_OPTIONS, type AnalysisOptions } from './analysis-options.ts';
import { capCommitLists } from './commit-caps.ts';
import { toCommitInfo, withoutTrailingNewlines, type CommitInfoContext } from './commit-info.ts';
import { readCommitsFromStore } from './commit-objects.ts';
import { pullRequestFromMergeMessage } from '../event/merge-message.ts';
import { logCommits, splitForParallelLog, type LoggedCommit } from './commit-log.ts';
import { walkDetailLimit, walkNewCommits, type NewCommitWalk } from './new-commit-walk.ts';
import { pushesToWalk, pushKey, walkPushes, type WalkedPush, type WalksReadAhead } from './walk-ahead.ts';
import { gitConfigValue } from './git-config-file.ts';
import { compareRefValues, findMissingObjects, listNewCommits, listOrphanedCommits, oldestFirst, refStatesAroundPush, walkWithin, type CommitGraph, type RefsAsOf } from './new-commits.ts';
import { changeOf, describeRef, isZeroSha, matchesAnyRefGlob, type RefLine } from './ref-lines.ts';
import { commitUrl, openRepository, repositoryIdentity, RepositoryUnreadableError } from './repository-identity.ts';
import { GitCommandError, GitRunner, type GitStats } from './run-git.ts';
import { ObjectStore } from './object-store.ts';
import { readTagObjects, readTagObjectsFromStore, type TagObject } from './tag-objects.ts';

/** One push as the hook recorded it. */
export interface PushInput {
  /** Absolute path of the repository (bare, as Bitbucket keeps them). */
  repoPath: string;
  /** post-receive stdin, in order. */
  refLines: RefLine[];
  /** BB_* / STASH_* variables the hook saw. */
  env: Record<string, string>;
  /** When the push happened (ns since the epoch). */
  timeNs: bigint;
  /** Node that received the push. */
  host: string;
  /** Overrides the trigger from the environment (e.g. 'backfill'). */
  trigger?: Trigger;
  /** Event id; default: derived from host, path, time and ref lines (stable across re-analysis). */
  id?: string;
  /**
   * Ref lines of pushes to the same repository recorded after this one, oldest
   * first (the intake knows them when records queue up). With them, `distinct`,
   * created refs' commits and deletes are judged against the refs as they stood
   * at this push, not as later pushes left them.
   */
  laterRefLines?: RefLine[];
  /** Problems found before analysis (e.g. a ref line whose name is not UTF-8): they head errors[]. */
  recordErrors?: AnalysisError[];
  /**
   * Ref lines of each push to the same repository recorded right after this
   * one, oldest first, with none left out between: their walks are read
   * with this push's (walk-ahead.ts) and returned as `walkedAhead`.
   */
  laterPushes?: readonly (readonly RefLine[])[];
  /** This push's walk, read ahead by an earlier push's analysis (used when its key matches the ref lines). */
  walked?: WalkedPush;
}

/** What one analysis cost. */
export interface AnalysisStats extends GitStats {
  /** Whole analysis wall time (ms). */
  totalMs: number;
  /** Refs in the event / ref lines left out by ignoreRefs. */
  refs: number;
  ignoredRefs: number;
  /** Commits whose details were read. */
  commitsDetailed: number;
  /** The walk was read ahead by an earlier push's analysis. */
  walkedAhead: boolean;
}

/** Per-ref working state while the push is analysed. */
interface RefWork {
  line: RefLine;
  change: RefChange['change'];
  kind: RefChange['kind'];
  name: string;
  /** Commit the ref now points at (tags peeled), null when none / unknown. */
  tip: string | null;
  /** Commits gained, oldest first (uncapped). */
  added: string[];
  removed: number;
  forced: boolean;
  /** The before value is missing from the repository. */
  beforeMissing: boolean;
  tag?: TagInfo;
}

/** Stable event id (UUIDv8 layout) from what identifies a push. */
export function derivePushId(input: Pick<PushInput, 'host' | 'repoPath' | 'timeNs' | 'refLines'>): string {
  const h = createHash('sha256')
    .update([input.host, input.repoPath, String(input.timeNs), ...input.refLines.map((l) => `${l.before} ${l.after} ${l.ref}`)].join('\n'))
    .digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-8${h.slice(13, 16)}-${((parseInt(h[16], 16) & 0x3) | 0x8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** ns since the epoch → ISO 8601 UTC (ms precision). */
function isoFromNs(timeNs: bigint): string {
  return new Date(Number(timeNs / 1_000_000n)).toISOString();
}

/** Re-throws git failures that mean the repository itself cannot be read, or that git hung (the whole push is retried later). */
function rethrowIfRepositoryUnreadable(error: unknown, repoPath: string): void {
  if (!(error instanceof GitCommandError)) throw error;
  if (error.timedOut) throw error;
  if (error.exitCode === null) throw new RepositoryUnreadableError(repoPath, error.message);
  if (/dubious ownership|safe\.directory/.test(error.stderr)) {
    throw new RepositoryUnreadableError(repoPath, `git refuses to read ${repoPath} (owned by another user): run the relay as the repository owner, or add it to safe.directory in the relay user's git config`);
  }
  if (/not a git repository/i.test(error.stderr)) {
    throw new RepositoryUnreadableError(repoPath, `${repoPath} is not a git repository git can open: ${error.message}`);
  }
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Analyzes one push into a PushEvent and reports what it cost. */
export async function analyzePushWithStats(input: PushInput, options: AnalysisOptions = DEFAULT_ANALYSIS_OPTIONS): Promise<{ event: PushEvent; stats: AnalysisStats; walkedAhead: WalksReadAhead }> {
  const started = performance.now();
  const hookEnv = capHookEnv(input.env);
  input = { ...input, env: hookEnv.env };
  const repo = await openRepository(input.repoPath);
  const git = new GitRunner(repo.gitDir, { gitBinary: options.gitBinary, timeoutMs: options.gitTimeoutMs });
  const fallbackEncoding = repo.gitConfig ? gitConfigValue(repo.gitConfig, 'i18n.commitEncoding') : null;
  const repository = repositoryIdentity({ repoPath: repo.repoPath, env: input.env, repositoryConfig: repo.repositoryConfig, mappings: options.repositories, baseUrl: options.baseUrl, defaultBranch: repo.defaultBranch });
  const { trigger, triggerId } = triggerFromEnv(input.env, input.trigger);
  const errors: AnalysisError[] = [...(input.recordErrors ?? []), ...hookEnv.cut.map((message) => ({ message }))];
  // Every git failure below is recorded unless the repository as a whole is unreadable.
  const attempt = async <T>(what: { ref?: string; commit?: string; message: string }, run: () => Promise<T>): Promise<T | undefined> => {
    try {
      return await run();
    } catch (error) {
      rethrowIfRepositoryUnreadable(error, repo.repoPath);
      errors.push({ ...what, message: `${what.message}: ${errorText(error)}` });
      return undefined;
    }
  };

  const active = input.refLines.filter((l) => !matchesAnyRefGlob(l.ref, options.ignoreRefs));
  const work: RefWork[] = active.map((line) => ({
    line,
    change: changeOf(line),
    ...describeRef(line.ref),
    tip: isZeroSha(line.after) ? null : line.after,
    added: [],
    removed: 0,
    forced: false,
    beforeMissing: false,
  }));

  // Tags: annotated or not, tagger, message, target; the tip is the peeled commit.
  const tagRefs = work.filter((w) => w.kind === 'tag');
  if (tagRefs.length > 0) {
    const names = tagRefs.map((w) => (w.change === 'delete' ? w.line.before : w.line.after));
    // From the object store when it is sure (no git process); cat-file for the rest.
    const store = await ObjectStore.open(repo.gitDir, repo.gitConfig ? gitConfigValue(repo.gitConfig, 'extensions.objectFormat') : null);
    const none = () => new Map<string, TagObject>();
    const objects = store ? await readTagObjectsFromStore(store, names, fallbackEncoding).catch(none).finally(() => store.close()) : none();
    const unread = names.filter((name) => !objects.has(name));
    if (unread.length > 0) {
      const fromGit = await attempt({ message: 'could not read tag objects' }, () => readTagObjects(git, unread, fallbackEncoding));
      for (const [name, object] of fromGit ?? []) objects.set(name, object);
    }
    for (const w of tagRefs) {
      const name = w.change === 'delete' ? w.line.before : w.line.after;
      const object = objects.get(name);
      if (!object) {
        if (w.change !== 'delete') w.tip = null;
        errors.push({ ref: w.line.ref, message: `tag object ${name} is missing from the repository (pruned before analysis?)` });
        continue;
      }
      w.tag = { annotated: object.type === 'tag', message: object.message === null ? null : withoutTrailingNewlines(object.message), tagger: object.tagger, target: object.peeled };
      if (w.change !== 'delete') w.tip = object.peeledType === 'commit' ? object.peeled : null;
    }
  }

  // A walk that survives pruned objects: on failure, one cat-file finds which
  // named objects are gone; the walk is retried without them.
  const tolerantWalk = async (names: string[], walk: (missing: ReadonlySet<string>) => Promise<CommitGraph>): Promise<{ graph: CommitGraph | null; missing: Set<string>; failure: string | null }> => {
    const none = new Set<string>();
    try {
      return { graph: await walk(none), missing: none, failure: null };
    } catch (error) {
      rethrowIfRepositoryUnreadable(error, repo.repoPath);
      const missing = (await attempt({ message: 'could not check which objects exist' }, () => findMissingObjects(git, names))) ?? none;
      // Nothing named is missing: history itself is damaged.
      if (missing.size === 0) return { graph: null, missing, failure: errorText(error) };
      try {
        return { graph: await walk(missing), missing, failure: null };
      } catch (retryError) {
        rethrowIfRepositoryUnreadable(retryError, repo.repoPath);
        return { graph: null, missing, failure: errorText(retryError) };
      }
    }
  };
  const present = (names: readonly string[], missing: ReadonlySet<string>) => names.filter((n) => !missing.has(n));

  /** Commits new with this push and their parents (set once known; null when they could not be listed). */
  let graph: CommitGraph | null = null;
  const context: CommitInfoContext = {
    maxMessageBytes: options.maxMessageBytes,
    issueKeys: compileIssueKeyMatcher(options.issueKeys),
    triggerTags: compileTriggerTagMatcher(options.triggerTags),
    isDistinct: (sha) => graph?.parents.has(sha) ?? false,
    urlOf: (sha) => commitUrl(repository, sha),
  };
  const logOptions = { renames: options.renames, copies: options.copies, maxFiles: options.maxFilesPerCommit, fallbackEncoding };

  // Commits new to the repository, with parents and details: one git log walk
  // for all refs. Beyond the walk's limit, or when it fails (a pruned object,
  // a lost blob), one rev-list lists them and the details are read below.
  const tips = [...new Set(work.map((w) => w.tip).filter((t): t is string => t !== null))];
  const states = refStatesAroundPush(input.refLines, input.laterRefLines);
  const asOf = (refs: RefsAsOf, missing: ReadonlySet<string>): RefsAsOf => ({ changedRefs: refs.changedRefs, values: present(refs.values, missing) });
  /** Details the walk read; every walked commit is new to the repository, hence distinct. */
  const walkDetails = new Map<string, CommitInfo>();
  const walkContext: CommitInfoContext = { ...context, isDistinct: () => true };
  const limit = walkDetailLimit(options.maxCommits, options.maxLogProcesses);
  /** Walks of the later pushes read with this one's (walk-ahead.ts), for the caller to hand on. */
  const walkedAhead: WalksReadAhead = { walks: [], overflowed: false };
  const readAhead = input.walked?.key === pushKey(input.refLines) ? input.walked : null;
  const walk = tips.length === 0 ? null : await (async (): Promise<NewCommitWalk | null> => {
    const keep = (c: LoggedCommit) => walkDetails.set(c.id, toCommitInfo(c, walkContext));
    if (readAhead) {
      readAhead.commits.forEach(keep);
      return { graph: readAhead.graph, complete: true };
    }
    const pushes = pushesToWalk(input.refLines, input.laterPushes ?? [], options.ignoreRefs);
    // A later push's trouble (a pruned object) must not cost this one more than its own walk.
    const walks = pushes.length > 0 ? await walkPushes(git, pushes, states.before, { ...logOptions, limit }).catch((error: unknown) => {
      rethrowIfRepositoryUnreadable(error, repo.repoPath);
      return null;
    }) : null;
    walkedAhead.overflowed = pushes.length > 0 && walks === null;
    // The later pushes keep their walks even when this one must walk on its own (e.g. a merge with its branch).
    walkedAhead.walks = (walks ?? []).slice(1).filter((w): w is WalkedPush => w !== null);
    if (walks?.[0]) {
      walks[0].commits.forEach(keep);
      return { graph: walks[0].graph, complete: true };
    }
    try {
      return await walkNewCommits(git, tips, states.before, { ...logOptions, limit, onCommit: keep });
    } catch (error) {
      rethrowIfRepositoryUnreadable(error, repo.repoPath);
      walkDetails.clear(); // a commit in progress may lack files; the fallback below reports what is wrong
      return null;
    }
  })();
  const fresh = tips.length === 0 || walk?.complete
    ? { graph: walk?.graph ?? ({ parents: new Map(), topoOrder: [] } as CommitGraph), missing: new Set<string>(), failure: null }
    : await tolerantWalk([...tips, ...states.before.values], (missing) => listNewCommits(git, present(tips, missing), asOf(states.before, missing)));
  if (fresh.failure) errors.push({ message: `could not list the commits new with this push: ${fresh.failure}` });
  graph = fresh.graph;

  // Commits deleted refs took with them: one rev-list for all deletes (annotated tags peeled).
  const deletes = work.filter((w) => w.change === 'delete');
  const deletedFrom = (w: RefWork) => (w.tag?.annotated && w.tag.target ? w.tag.target : w.line.before);
  const deletedStarts = [...new Set(deletes.map(deletedFrom))];
  const orphans = deletes.length === 0
    ? { graph: null, missing: new Set<string>(), failure: null }
    : await tolerantWalk([...deletedStarts, ...states.after.values], (missing) => listOrphanedCommits(git, present(deletedStarts, missing), asOf(states.after, missing)));
  if (orphans.failure) errors.push({ message: `could not count the commits deleted refs left behind: ${orphans.failure}` });

  for (const w of work) {
    if (w.tip && fresh.missing.has(w.tip)) {
      errors.push({ ref: w.line.ref, message: `new value ${w.tip} is missing from the repository (pruned before analysis?); its commits are not listed` });
      w.tip = null;
    }
    const before = w.line.before;
    if (!isZeroSha(before) && (fresh.missing.has(before) || orphans.missing.has(deletedFrom(w)))) {
      w.beforeMissing = true;
      errors.push({
        ref: w.line.ref,
        message: w.change === 'delete'
          ? `old value ${before} is missing from the repository; the commits it held cannot be counted`
          : `old value ${before} is missing from the repository; commits are those new to the repository, forced/removed unknown`,
      });
    }
  }

  // Per ref: commits gained (oldest first), forced, commits removed.
  for (const w of work) {
    if (w.change === 'delete') {
      if (orphans.graph && !w.beforeMissing) w.removed = walkWithin(orphans.graph, deletedFrom(w)).members.size;
      continue;
    }
    if (!w.tip) continue;
    const walked = graph ? walkWithin(graph, w.tip) : null;
    if (w.change === 'create' || w.beforeMissing) {
      if (walked) w.added = oldestFirst(graph!, walked.members);
      else errors.push({ ref: w.line.ref, message: 'commits of this ref could not be determined' });
      continue;
    }
    // Fast path: the new tip's new commits all sit on the old value → plain fast-forward, nothing removed.
    const fastForward = walked !== null && walked.members.size > 0 && walked.boundary.size === 1 && walked.boundary.has(w.line.before);
    if (fastForward) {
      w.added = oldestFirst(graph!, walked.members);
      continue;
    }
    const compared = await attempt({ ref: w.line.ref, message: `could not compare ${w.line.before}...${w.line.after}` }, () => compareRefValues(git, w.line.before, w.line.after));
    if (compared) {
      w.added = compared.added;
      w.removed = compared.removed;
      w.forced = compared.removed > 0;
    }
  }

  // Caps: each ref keeps its newest commits while the event has room; every listed commit gets details.
  const capped = capCommitLists(work.map((w) => w.added), options.maxCommits);

  // Details: from the walk, and one git log for listed commits it did not read.
  const commits = new Map<string, CommitInfo>();
  const wanted = capped.detailed;
  for (const sha of wanted) {
    const info = walkDetails.get(sha);
    if (info) commits.set(sha, info);
  }
  walkDetails.clear();
  const unread = wanted.filter((sha) => !commits.has(sha));
  await Promise.all(splitForParallelLog(unread, options.maxLogProcesses).map((chunk) => attempt({ message: 'could not read commit details' }, () =>
    logCommits(git, chunk, { ...logOptions, withFiles: true, onCommit: (c) => commits.set(c.id, toCommitInfo(c, context)) }))));
  const undetailed = wanted.filter((sha) => !commits.has(sha));
  if (undetailed.length > 0) {
    // Changed files could not be read for some (e.g. a tree pruned): keep their metadata at least.
    await attempt({ message: 'could not read commit metadata' }, () =>
      logCommits(git, undetailed, { ...logOptions, withFiles: false, onCommit: (c) => commits.set(c.id, { ...toCommitInfo(c, context), filesTruncated: true }) }));
    const lost = undetailed.filter((sha) => !commits.has(sha));
    if (lost.length > 0) errors.push({ message: `${lost.length} commit(s) could not be read and are left out, e.g. ${lost[0]}` });
    else errors.push({ message: `changed files of ${undetailed.length} commit(s) could not be read; those commits list no files` });
  }

  // Ref tips the push did not bring (a branch or tag created on an existing
  // commit; the old value of an updated or deleted branch): metadata of old
  // values from the object store (no git process), the rest — new tips with
  // their files — with at most one git log.
  const tipCommits = new Map<string, CommitInfo>();
  const newTips = [...new Set(work.map((w) => w.tip).filter((sha): sha is string => sha !== null && !commits.has(sha)))];
  const oldTips = [...new Set(work
    .filter((w) => w.change !== 'create' && !w.beforeMissing && (w.kind === 'branch' || (w.kind === 'tag' && w.change === 'delete')))
    .map((w) => (w.kind === 'tag' ? deletedFrom(w) : w.line.before))
    .filter((sha) => !commits.has(sha) && !newTips.includes(sha)))];
  if (oldTips.length > 0) {
    const store = await ObjectStore.open(repo.gitDir, repo.gitConfig ? gitConfigValue(repo.gitConfig, 'extensions.objectFormat') : null);
    const read = store ? await readCommitsFromStore(store, oldTips, fallbackEncoding).catch(() => new Map()).finally(() => store.close()) : new Map();
    for (const [sha, c] of read) tipCommits.set(sha, toCommitInfo(c, context));
  }
  const tipsForGit = [...newTips, ...oldTips.filter((sha) => !tipCommits.has(sha))];
  if (tipsForGit.length > 0) {
    await attempt({ message: 'could not read the commits refs point at' }, () =>
      logCommits(git, tipsForGit, { ...logOptions, withFiles: true, onCommit: (c) => tipCommits.set(c.id, toCommitInfo(c, context)) }));
    for (const c of tipCommits.values()) if (oldTips.includes(c.id) && !newTips.includes(c.id)) Object.assign(c, { files: [], filesTruncated: false, totalFiles: 0 });
  }

  const refs: RefChange[] = work.map((w, i) => {
    const listed = capped.kept[i].filter((sha) => commits.has(sha));
    const ref: RefChange = {
      ref: w.line.ref,
      name: w.name,
      kind: w.kind,
      change: w.change,
      before: w.line.before,
      after: w.line.after,
      forced: w.forced,
      removedCommits: w.removed,
      commits: listed,
      totalCommits: w.added.length,
      truncated: listed.length < w.added.length,
    };
    if (w.tag) ref.tag = w.tag;
    return ref;
  });

  const event: PushEvent = {
    id: input.id ?? derivePushId(input),
    schemaVersion: PUSH_EVENT_SCHEMA_VERSION,
    time: isoFromNs(input.timeNs),
    node: input.host,
    trigger,
    triggerId,
    actor: actorFromEnv(input.env),
    repository,
    refs,
    // In listing order (a metadata-only retry may have filled some in late).
    commits: Object.fromEntries(wanted.filter((sha) => commits.has(sha)).map((sha) => [sha, commits.get(sha)!])),
    totalCommits: capped.total,
    truncated: commits.size < capped.total,
    errors,
  };
  if (tipCommits.size > 0) event.tipCommits = Object.fromEntries(tipCommits);
  const pullRequest = pullRequestFromEnv(input.env, trigger);
  if (pullRequest) {
    // Bitbucket's merge commit message names the pull request (and, since 7.x, its title).
    const mergeSha = pullRequest.mergeHash ?? (pullRequest.toRef ? work.find((w) => w.line.ref === pullRequest.toRef)?.tip : null) ?? null;
    const mergeCommit = mergeSha ? commits.get(mergeSha) ?? tipCommits.get(mergeSha) : undefined;
    const fromMessage = mergeCommit ? pullRequestFromMergeMessage(mergeCommit.message) : null;
    if (fromMessage && (pullRequest.id === null || pullRequest.id === fromMessage.id)) {
      pullRequest.id = fromMessage.id;
      if (fromMessage.title !== null) pullRequest.title = fromMessage.title;
    }
    if (trigger === 'pull-request-merge' && pullRequest.id === null) {
      errors.push({ message: 'pull request id unknown (no BB_PULL_REQUEST_ID, and the merge commit message is not Bitbucket\'s): no pull-request event (pr:merged, pull_request, pullrequest:fulfilled) is sent' });
    }
    event.pullRequest = pullRequest;
  }
  const stats: AnalysisStats = {
    ...git.stats,
    totalMs: performance.now() - started,
    refs: refs.length,
    ignoredRefs: input.refLines.length - active.length,
    commitsDetailed: commits.size,
    walkedAhead: readAhead !== null,
  };
  return { event, stats, walkedAhead };
}

/** Analyzes one push into a PushEvent (see analyzePushWithStats for its cost). */
export async function analyzePush(input: PushInput, options: AnalysisOptions = DEFAULT_ANALYSIS_OPTIONS): Promise<PushEvent> {
  return (await analyzePushWithStats(input, options)).event;
}
