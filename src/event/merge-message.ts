// What Bitbucket's own merge commit message says about the pull request it
// merged. Bitbucket Data Center writes (default templates):
//   "Pull request #57: <title>\n\nMerge in PROJ/repo from <from> to <to>\n…"  (7.x and later)
//   "Merge pull request #57 in PROJ/repo from <from> to <to>\n…"             (older versions)
// so the id and, on newer versions, the title are known without the REST API. Pure.

/** Pull-request id and title read from a merge commit message (null: not Bitbucket's wording). */
export interface MergeMessagePullRequest {
  id: number;
  title: string | null;
}

const MODERN = /^Pull request #(\d+): (.*)$/;
const LEGACY = /^Merge pull request #(\d+) in \S+ from \S+ to \S+/;

/** Parses the first line of a Bitbucket merge (or squash) commit message. */
export function pullRequestFromMergeMessage(message: string): MergeMessagePullRequest | null {
  const first = message.split('\n', 1)[0].trim();
  const modern = MODERN.exec(first);
  if (modern) return { id: Number(modern[1]), title: modern[2].trim() || null };
  const legacy = LEGACY.exec(first);
  if (legacy) return { id: Number(legacy[1]), title: null };
  return null;
}
