// Commit details for a list of commits in ONE git process:
//   git log --no-walk=unsorted --stdin -z --format=<fields> --raw --numstat
//           -M -C --root --diff-merges=first-parent
// (the same output, from a walk, is read by new-commit-walk.ts),
// parsed as a stream of NUL-separated tokens, so memory stays bounded by the
// caps (files beyond maxFilesPerCommit are counted, not kept) and paths or
// messages with any bytes in them cannot confuse the parser.

import type { FileChange, Signature } from '../event/push-event.ts';
import { decodeCommitText } from './decode-text.ts';
import type { GitRunner } from './run-git.ts';

/** One commit as git log reported it (before event-level enrichment). */
export interface LoggedCommit {
  id: string;
  /** Root tree of the commit. */
  tree: string;
  parents: string[];
  /** The commit's `encoding` header, null when absent. */
  encoding: string | null;
  author: Signature;
  committer: Signature;
  message: string;
  /** Files vs the first parent, at most maxFiles of them. */
  files: FileChange[];
  totalFiles: number;
}

// Header fields, each followed by NUL; -z adds one more NUL after the message.
const HEADER_FIELDS = ['%H', '%T', '%P', '%e', '%an', '%ae', '%aI', '%cn', '%ce', '%cI', '%B'];
const COMMIT_MARK = 0x1e;
/** The --format argument matching LogParser. */
export const LOG_FORMAT = `--format=%x1e${HEADER_FIELDS.join('%x00')}`;

const STATUS: Record<string, FileChange['status']> = {
  A: 'added', M: 'modified', D: 'deleted', R: 'renamed', C: 'copied', T: 'typechanged',
};

interface RawEntry {
  status: FileChange['status'];
  pathCount: number;
  paths: string[];
}

/**
 * Incremental parser of the log output above. Feed chunks with push(), call
 * end() after the last; each finished commit goes to onCommit in input order.
 */
export class LogParser {
  readonly #maxFiles: number;
  readonly #onCommit: (commit: LoggedCommit) => void;
  readonly #fallbackEncoding: string | null;
  #pending: Buffer = Buffer.alloc(0);
  #header: Buffer[] = [];
  #current: LoggedCommit | null = null;
  #raw: RawEntry | null = null;
  #numstatPaths = 0;
  #numstatIndex = 0;
  #pendingNumstat: { additions: number; deletions: number; binary: boolean } | null = null;
  /** Commits completed so far. */
  count = 0;

  constructor(options: { maxFiles: number; fallbackEncoding: string | null; onCommit: (commit: LoggedCommit) => void }) {
    this.#maxFiles = options.maxFiles;
    this.#fallbackEncoding = options.fallbackEncoding;
    this.#onCommit = options.onCommit;
  }

  /** Feeds one chunk of git's stdout. */
  push(chunk: Buffer): void {
    const data = this.#pending.length ? Buffer.concat([this.#pending, chunk]) : chunk;
    let start = 0;
    for (let nul = data.indexOf(0, start); nul >= 0; nul = data.indexOf(0, start)) {
      this.#token(data.subarray(start, nul));
      start = nul + 1;
    }
    // Copy the tail so the (possibly large) chunk can be collected.
    this.#pending = Buffer.from(data.subarray(start));
  }

  /** Flushes the last commit; call once git has exited successfully. */
  end(): void {
    if (this.#pending.length) {
      this.#token(this.#pending);
      this.#pending = Buffer.alloc(0);
    }
    this.#finishCommit();
  }

  #token(token: Buffer): void {
    if (this.#header.length > 0) {
      this.#header.push(token);
      if (this.#header.length === HEADER_FIELDS.length) this.#startCommit();
      return;
    }
    if (this.#raw) {
      this.#raw.paths.push(this.#text(token));
      if (this.#raw.paths.length === this.#raw.pathCount) this.#addRaw(this.#raw);
      return;
    }
    if (this.#numstatPaths > 0) {
      // Rename/copy numstat: "<a>\t<d>\t" then old and new path; the counts are what matter.
      if (--this.#numstatPaths === 0 && this.#pendingNumstat) this.#applyNumstat(this.#pendingNumstat);
      return;
    }
    if (token[0] === COMMIT_MARK) {
      this.#finishCommit();
      this.#header = [token.subarray(1)];
      return;
    }
    if (!this.#current) return;
    const body = token[0] === 0x0a ? token.subarray(1) : token;
    if (body[0] === 0x3a /* ':' */) {
      // ":<mode> <mode> <sha> <sha> <status><score>" then 1 path (2 for R/C).
      const text = body.toString('latin1');
      const letter = text.slice(text.lastIndexOf(' ') + 1, text.lastIndexOf(' ') + 2);
      const status = STATUS[letter] ?? 'modified';
      this.#raw = { status, pathCount: letter === 'R' || letter === 'C' ? 2 : 1, paths: [] };
      return;
    }
    const firstTab = body.indexOf(0x09);
    const secondTab = firstTab < 0 ? -1 : body.indexOf(0x09, firstTab + 1);
    if (secondTab < 0) return; // not a numstat line; nothing else is expected here
    const added = body.subarray(0, firstTab).toString('latin1');
    const deleted = body.subarray(firstTab + 1, secondTab).toString('latin1');
    const stat = { binary: added === '-' && deleted === '-', additions: Number(added) || 0, deletions: Number(deleted) || 0 };
    if (secondTab === body.length - 1) {
      this.#numstatPaths = 2;
      this.#pendingNumstat = stat;
    } else {
      this.#applyNumstat(stat);
    }
  }

  #text(bytes: Buffer): string {
    return decodeCommitText(bytes, [this.#current?.encoding, this.#fallbackEncoding]);
  }

  #startCommit(): void {
    const [id, tree, parents, encoding, an, ae, ad, cn, ce, cd, message] = this.#header;
    this.#header = [];
    const enc = encoding.length ? encoding.toString('latin1') : null;
    const decode = (b: Buffer) => decodeCommitText(b, [enc, this.#fallbackEncoding]);
    this.#current = {
      id: id.toString('latin1'),
      tree: tree.toString('latin1'),
      parents: parents.length ? parents.toString('latin1').split(' ') : [],
      encoding: enc,
      author: { name: decode(an), email: decode(ae), date: ad.toString('latin1') },
      committer: { name: decode(cn), email: decode(ce), date: cd.toString('latin1') },
      message: decode(message),
      files: [],
      totalFiles: 0,
    };
    this.#numstatIndex = 0;
  }

  #addRaw(raw: RawEntry): void {
    this.#raw = null;
    const current = this.#current!;
    current.totalFiles++;
    if (current.files.length >= this.#maxFiles) return;
    const renamed = raw.pathCount === 2;
    const file: FileChange = {
      path: renamed ? raw.paths[1] : raw.paths[0],
      status: raw.status,
      binary: false,
      additions: 0,
      deletions: 0,
    };
    if (renamed) file.oldPath = raw.paths[0];
    current.files.push(file);
  }

  #applyNumstat(stat: { additions: number; deletions: number; binary: boolean }): void {
    this.#pendingNumstat = null;
    // numstat lines come in the same order as the raw lines, after all of them.
    const file = this.#current?.files[this.#numstatIndex++];
    if (!file) return;
    file.additions = stat.additions;
    file.deletions = stat.deletions;
    file.binary = stat.binary;
  }

  #finishCommit(): void {
    if (!this.#current) return;
    const done = this.#current;
    this.#current = null;
    this.count++;
    this.#onCommit(done);
  }
}

/** git log options that print what LogParser reads: LOG_FORMAT and (withFiles) the files vs the first parent. */
export function logDetailArguments(options: { renames: boolean; copies: boolean; withFiles: boolean }): string[] {
  const args = ['-z', '--encoding=UTF-8', '--no-color', LOG_FORMAT];
  if (options.withFiles) {
    args.push('--raw', '--numstat', '--no-abbrev', '--no-ext-diff', '--no-textconv', '--no-relative', '--root', '--diff-merges=first-parent');
    if (options.renames) args.push('-M');
    if (options.renames && options.copies) args.push('-C');
    if (!options.renames) args.push('--no-renames');
  }
  return args;
}

/** git log arguments for the details of commits given on stdin. */
export function logArguments(options: { renames: boolean; copies: boolean; withFiles: boolean }): string[] {
  return ['-c', 'log.showSignature=false', 'log', '--no-walk=unsorted', '--stdin', ...logDetailArguments(options)];
}

/**
 * Logs the given commits (in that order) through one git process, streaming
 * each finished commit to onCommit. On a git failure (e.g. a tree already
 * pruned) the commits parsed so far have been delivered; the error is rethrown.
 */
export async function logCommits(git: GitRunner, shas: readonly string[], options: {
  renames: boolean;
  copies: boolean;
  withFiles: boolean;
  maxFiles: number;
  fallbackEncoding: string | null;
  onCommit: (commit: LoggedCommit) => void;
}): Promise<void> {
  if (shas.length === 0) return;
  const parser = new LogParser({ maxFiles: options.maxFiles, fallbackEncoding: options.fallbackEncoding, onCommit: options.onCommit });
  // On failure end() is not called: the commit in progress may lack files, so it is not delivered.
  await git.run(logArguments(options), { input: shas.join('\n') + '\n', onStdout: (chunk) => parser.push(chunk) });
  parser.end();
}

/** Commits per git log process before a large push is split across processes. */
export const COMMITS_PER_LOG_PROCESS = 1000;

/**
 * Splits a large commit list into up to `maxProcesses` contiguous chunks of
 * at least COMMITS_PER_LOG_PROCESS, so a huge push uses several cores (diffs
 * dominate its cost); a typical push stays one process.
 */
export function splitForParallelLog(shas: readonly string[], maxProcesses: number): string[][] {
  const processes = Math.max(1, Math.min(maxProcesses, Math.floor(shas.length / COMMITS_PER_LOG_PROCESS)));
  const size = Math.ceil(shas.length / processes);
  const chunks: string[][] = [];
  for (let i = 0; i < shas.length; i += size) chunks.push(shas.slice(i, i + size));
  return chunks;
}
