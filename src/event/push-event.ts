// PushEvent v1: one push = one event, with every ref it changed.
// The JSON Schema beside this file (push-event.schema.json) is the contract;
// these types mirror it. Keep both in step.

/** Schema version carried in every event; bump only with a migration note. */
export const PUSH_EVENT_SCHEMA_VERSION = 1;

/** What caused the push (Bitbucket hook-script trigger ids map onto these). */
export type Trigger =
  | 'push'
  | 'pull-request-merge'
  | 'branch-create'
  | 'branch-delete'
  | 'tag-create'
  | 'tag-delete'
  | 'file-edit'
  | 'backfill'
  /** Found by reconciliation: a ref change no hook reported (actor unknown). */
  | 'reconciled'
  | 'other';

/** A person as git or Bitbucket knows them. */
export interface Person {
  name: string;
  displayName?: string;
  email?: string;
}

/** Author or committer of a commit, with the time git recorded (ISO 8601 with offset). */
export interface Signature {
  name: string;
  email: string;
  date: string;
}

/** The repository the push went to. */
export interface RepositoryInfo {
  projectKey: string;
  slug: string;
  /** Bitbucket's numeric id (from .../repositories/<id>), null when unknown. */
  id: number | null;
  name: string;
  /** Absolute path of the repository on this host. */
  path: string;
  /** Bitbucket base URL, null when neither BB_BASE_URL nor bitbucket.baseUrl is set. */
  baseUrl: string | null;
  links: { self: string | null; clone: string | null };
  /** Default branch name (HEAD's target, e.g. `main`) when known; formats fall back to `master`. */
  defaultBranch?: string | null;
  public: boolean | null;
  fork: boolean | null;
  /** Where projectKey/slug came from. */
  identitySource: 'env' | 'repository-config' | 'config' | 'directory';
}

/** One file a commit changed, against its first parent (root: the empty tree). */
export interface FileChange {
  path: string;
  status: 'added' | 'modified' | 'deleted' | 'renamed' | 'copied' | 'typechanged';
  oldPath?: string;
  binary: boolean;
  additions: number;
  deletions: number;
}

/** A commit the push brought (once per event even when several refs hold it). */
export interface CommitInfo {
  id: string;
  shortId: string;
  /** Full message (capped per analysis.maxMessageBytes; see messageTruncated). */
  message: string;
  messageTruncated: boolean;
  title: string;
  /** Tree object id (git %T) when known; the github format's `tree_id`. */
  tree?: string;
  author: Signature;
  committer: Signature;
  parents: string[];
  merge: boolean;
  /** New to the repository with this push (reachable from no ref before it). */
  distinct: boolean;
  url: string | null;
  issueKeys: string[];
  /** Build trigger tags found in the message: '#ci', '#jenkins:Job', '[skip ci]' … */
  triggers: string[];
  files: FileChange[];
  filesTruncated: boolean;
  totalFiles: number;
}

/** Annotated-tag details, present on refs/tags/* changes. */
export interface TagInfo {
  annotated: boolean;
  message: string | null;
  tagger: Signature | null;
  /** The object the tag points at (commit sha for the usual case). */
  target: string | null;
}

/** One ref the push changed. */
export interface RefChange {
  ref: string;
  name: string;
  kind: 'branch' | 'tag' | 'other';
  change: 'create' | 'update' | 'delete';
  before: string;
  after: string;
  forced: boolean;
  /** Commits that left the ref (forced update or delete), counted, not listed. */
  removedCommits: number;
  /** Commits the ref gained, oldest first, capped; see totalCommits/truncated. */
  commits: string[];
  totalCommits: number;
  truncated: boolean;
  tag?: TagInfo;
}

/** A Bitbucket user as the REST API (or, partly, the hook environment) knows them. */
export interface BitbucketUser {
  name: string;
  displayName: string | null;
  email: string | null;
  /** Bitbucket's numeric user id; null when only the hook environment named the user. */
  id: number | null;
  slug: string | null;
}

/** A pull request's author, reviewer or participant, as Bitbucket's REST API lists them. */
export interface PullRequestParticipant {
  user: BitbucketUser;
  role: 'AUTHOR' | 'REVIEWER' | 'PARTICIPANT';
  approved: boolean;
  status: 'APPROVED' | 'UNAPPROVED' | 'NEEDS_WORK';
}

/**
 * Pull-request merge context: from the hook environment (BB_FROM_*, BB_TO_*,
 * BB_MERGE_*, BB_PULL_REQUEST_*), the merge commit's message, and — when
 * `bitbucket.api` is configured — Bitbucket's REST API (`source: "rest"`).
 * Fields nobody could fill are null (errors[] says why).
 */
export interface PullRequestInfo {
  id: number | null;
  fromRef: string | null;
  fromHash: string | null;
  fromRepository: string | null;
  toRef: string | null;
  /** Target branch tip before the merge (BB_TO_HASH), when Bitbucket sets it. */
  toHash?: string | null;
  mergeHash: string | null;
  /** Bitbucket merge strategy id (BB_MERGE_STRATEGY_ID: no-ff, squash, …). */
  mergeStrategy?: string | null;
  /** Source and target are different repositories (a fork's pull request; BB_MERGE_IS_CROSS_REPO). */
  crossRepository?: boolean | null;
  title?: string | null;
  description?: string | null;
  /** Bitbucket's optimistic-locking version of the pull request. */
  version?: number | null;
  /** Epoch milliseconds, as Bitbucket's REST API and webhooks give them. */
  createdDate?: number | null;
  updatedDate?: number | null;
  closedDate?: number | null;
  author?: PullRequestParticipant | null;
  reviewers?: PullRequestParticipant[];
  participants?: PullRequestParticipant[];
  /** The pull request's page (REST `links.self`, else built from the base URL). */
  url?: string | null;
  /** Where the details came from: the hook alone, or also the REST API. */
  source?: 'hook' | 'rest';
}

/** Something analysis could not do, kept in the event instead of failing it. */
export interface AnalysisError {
  ref?: string;
  commit?: string;
  message: string;
}

/** The normalized event relayed for one push. */
export interface PushEvent {
  id: string;
  schemaVersion: typeof PUSH_EVENT_SCHEMA_VERSION;
  /** When the push happened (spool record time), ISO 8601 UTC. */
  time: string;
  /** Host name of the node that received the push. */
  node: string;
  trigger: Trigger;
  /** Bitbucket's raw trigger id (BB_HOOK_TRIGGER_ID) when known. */
  triggerId: string | null;
  actor: Person;
  repository: RepositoryInfo;
  refs: RefChange[];
  commits: Record<string, CommitInfo>;
  /** Total distinct commits analyzed vs the cap. */
  totalCommits: number;
  truncated: boolean;
  pullRequest?: PullRequestInfo;
  /**
   * Details of commits refs point at that `commits` does not hold because the
   * push did not bring them: the tip of a branch or tag created on an existing
   * commit, the old value of an updated or deleted branch. Formats show them
   * as Bitbucket's `new.target` / `old.target` / `toCommit` and GitHub's
   * `head_commit`. New tips list their files; old values carry none
   * (`files: []`, `totalFiles: 0`).
   */
  tipCommits?: Record<string, CommitInfo>;
  errors: AnalysisError[];
}

export const ZERO_SHA = '0000000000000000000000000000000000000000';
