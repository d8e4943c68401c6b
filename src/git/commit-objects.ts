// Commit metadata (tree, parents, author, committer, message; no files) read
// straight from the object store, without starting git: the old value of an
// updated branch needs its details for Bitbucket's `old.target`, and a
// fast-forward push should still cost one git process. Commits the store is
// not sure about (deltified, packed in a way it does not read) are absent
// from the answer, for git to read.

import { decodeCommitText } from './decode-text.ts';
import type { LoggedCommit } from './commit-log.ts';
import type { ObjectStore } from './object-store.ts';
import { parseIdentLine } from './tag-objects.ts';

/**
 * Parses a commit object body into a LoggedCommit without files, or null when
 * it is not a well-formed commit (no tree, author or committer line).
 */
export function parseCommitBody(sha: string, body: Buffer, fallbackEncoding: string | null): LoggedCommit | null {
  const split = body.indexOf('\n\n');
  const headerBytes = split < 0 ? body : body.subarray(0, split);
  let tree: string | null = null;
  const parents: string[] = [];
  let authorLine: Buffer | null = null;
  let committerLine: Buffer | null = null;
  let encoding: string | null = null;
  let start = 0;
  while (start < headerBytes.length) {
    const eol = headerBytes.indexOf(0x0a, start);
    const line = headerBytes.subarray(start, eol < 0 ? headerBytes.length : eol);
    start = eol < 0 ? headerBytes.length : eol + 1;
    if (line[0] === 0x20) continue; // continuation of a multi-line header (gpgsig, mergetag)
    const space = line.indexOf(0x20);
    if (space < 0) continue;
    const key = line.subarray(0, space).toString('latin1');
    const value = line.subarray(space + 1);
    if (key === 'tree' && tree === null) tree = value.toString('latin1');
    else if (key === 'parent') parents.push(value.toString('latin1'));
    else if (key === 'author' && authorLine === null) authorLine = value;
    else if (key === 'committer' && committerLine === null) committerLine = value;
    else if (key === 'encoding' && encoding === null) encoding = value.toString('latin1');
  }
  if (tree === null || authorLine === null || committerLine === null) return null;
  const ident = (bytes: Buffer) => parseIdentLine(decodeCommitText(bytes, [encoding, fallbackEncoding]));
  const author = ident(authorLine);
  const committer = ident(committerLine);
  if (!author || !committer) return null;
  const message = split < 0 ? '' : decodeCommitText(body.subarray(split + 2), [encoding, fallbackEncoding]);
  return { id: sha, tree, parents, encoding, author, committer, message, files: [], totalFiles: 0 };
}

/** Metadata of the given commits the store is sure about; the others are absent. */
export async function readCommitsFromStore(store: ObjectStore, shas: readonly string[], fallbackEncoding: string | null): Promise<Map<string, LoggedCommit>> {
  const found = new Map<string, LoggedCommit>();
  for (const sha of new Set(shas)) {
    const object = await store.read(sha, { body: true });
    if (object?.type !== 'commit' || !object.body) continue;
    const commit = parseCommitBody(sha, object.body, fallbackEncoding);
    if (commit) found.set(sha, commit);
  }
  return found;
}
