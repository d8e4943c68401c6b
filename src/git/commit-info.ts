// A logged commit → the event's CommitInfo: caps, title, issue keys, trigger
// tags, distinct flag, link. Pure.

import type { CommitInfo } from '../event/push-event.ts';
import type { IssueKeyMatcher } from '../event/issue-keys.ts';
import type { TriggerTagMatcher } from '../event/trigger-tags.ts';
import type { LoggedCommit } from './commit-log.ts';
import { truncateUtf8 } from './decode-text.ts';

/** A title is one summary line: a longer first line (a 5 MB one-line message) is cut here. */
export const TITLE_MAX_BYTES = 1024;

/** What turning a logged commit into CommitInfo needs to know. */
export interface CommitInfoContext {
  maxMessageBytes: number;
  issueKeys: IssueKeyMatcher;
  triggerTags: TriggerTagMatcher;
  /** New to the repository with this push? */
  isDistinct: (sha: string) => boolean;
  /** Link to the commit, null without a base URL. */
  urlOf: (sha: string) => string | null;
}

/**
 * A message without the line break(s) git stores at its end: Bitbucket and
 * GitHub send "Fix it" for a commit git stores as "Fix it\n".
 */
export function withoutTrailingNewlines(message: string): string {
  return message.replace(/(?:\r?\n)+$/, '');
}

/** Builds CommitInfo; keys and tags come from the full message, the message itself is capped (trailing newline dropped). */
export function toCommitInfo(c: LoggedCommit, context: CommitInfoContext): CommitInfo {
  const { text: message, truncated } = truncateUtf8(withoutTrailingNewlines(c.message), context.maxMessageBytes);
  return {
    id: c.id,
    shortId: c.id.slice(0, 11),
    message,
    messageTruncated: truncated,
    title: truncateUtf8(c.message.split('\n', 1)[0].trim(), TITLE_MAX_BYTES).text,
    tree: c.tree,
    author: c.author,
    committer: c.committer,
    parents: c.parents,
    merge: c.parents.length > 1,
    distinct: context.isDistinct(c.id),
    url: context.urlOf(c.id),
    issueKeys: context.issueKeys(c.message),
    triggers: context.triggerTags(c.message),
    files: c.files,
    filesTruncated: c.totalFiles > c.files.length,
    totalFiles: c.totalFiles,
  };
}
