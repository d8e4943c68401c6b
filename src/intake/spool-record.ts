// The spool record the post-receive hook writes (format: docs/spool-record.md)
// and its parser. Pure: bytes in, record or reason out; never throws.
//
// Layout (version 1):
//   bitbucket-relay-spool 1 <nonce>\n       header
//   <output of the shell's `export -p`>     whole environment, shell-quoted
//   refs <nonce>\n
//   <hook stdin, verbatim>                  "<old> <new> <ref>\n" lines
//   end <nonce>\n                           end marker: the record is whole
// Only BB_* and STASH_* variables are kept; RELAY_RECORD_REPO / _HOST carry
// the repository path and host; every other variable is dropped unread and
// never logged (it may hold secrets of the Bitbucket process).

import { parseShellExports } from './shell-exports.ts';

/** File name suffix of a spool record in <spool>/incoming. */
export const SPOOL_RECORD_SUFFIX = '.push';

/** The record format version this parser reads. */
export const SPOOL_RECORD_VERSION = 1;

/** First bytes of every record. */
export const SPOOL_RECORD_MAGIC = 'bitbucket-relay-spool';

/** One line of the hook's stdin: `<before> <after> <ref>`. */
export interface SpoolRefLine {
  before: string;
  after: string;
  ref: string;
}

/** One push as the hook recorded it. */
export interface SpoolRecord {
  /** File stem: the record's file name without `.push`; unique per push. */
  id: string;
  version: number;
  /** Absolute path of the repository ($GIT_DIR resolved, else the hook's cwd). */
  repoPath: string;
  /** When the hook finished writing: the record file's mtime, ns since the epoch. */
  timeNs: bigint;
  /** Host name of the node that ran the hook ('' when it could not tell). */
  host: string;
  /** Every BB_* and STASH_* variable, byte-exact (UTF-8; invalid bytes become U+FFFD). */
  env: Record<string, string>;
  refLines: SpoolRefLine[];
  /**
   * Ref lines that cannot be relayed though the rest of the push can (a ref
   * name that is not UTF-8): they become errors[] entries of the event.
   */
  refErrors?: SpoolRefError[];
}

/** A ref line left out of the event, and why. */
export interface SpoolRefError {
  /** The ref name, invalid UTF-8 bytes escaped as \xNN (git ref names never contain a backslash). */
  ref: string;
  message: string;
}

/** What the parser needs besides the bytes. */
export interface SpoolRecordMeta {
  /** File name in incoming/ (`<id>.push`) or the bare id. */
  name: string;
  /** mtime of the file, ns since the epoch. */
  mtimeNs: bigint;
}

/**
 * Parse outcome. `incomplete` is true when the bytes are a plausible prefix of
 * a record (no end marker yet): the writer may still be at work.
 */
export type SpoolRecordParse =
  | { ok: true; record: SpoolRecord }
  | {
      ok: false;
      reason: string;
      incomplete: boolean;
      /** The bytes themselves can never be relayed: moving the file back cannot help. */
      permanent?: boolean;
    };

const HEADER = /^bitbucket-relay-spool ([0-9]{1,9}) ([A-Za-z0-9-]{1,80})$/;
const SHA = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;
const KEPT_ENV = /^(?:BB|STASH)_/;
const utf8 = new TextDecoder('utf-8', { fatal: false });
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** The record id for a file name: the name without `.push`. */
export function spoolRecordId(name: string): string {
  return name.endsWith(SPOOL_RECORD_SUFFIX) ? name.slice(0, -SPOOL_RECORD_SUFFIX.length) : name;
}

/** Parses one spool record file. Pure, never throws; reasons never quote env values. */
export function parseSpoolRecord(bytes: Uint8Array, meta: SpoolRecordMeta): SpoolRecordParse {
  try {
    return parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), meta);
  } catch (err) {
    // Defensive: a parser bug must cost one quarantined record, not the daemon.
    return { ok: false, reason: `parser error: ${(err as Error)?.message ?? String(err)}`, incomplete: false };
  }
}

function parse(buf: Buffer, meta: SpoolRecordMeta): SpoolRecordParse {
  const invalid = (reason: string): SpoolRecordParse => ({ ok: false, reason, incomplete: false });
  const incomplete = (reason: string): SpoolRecordParse => ({ ok: false, reason, incomplete: true });

  if (buf.length === 0) return incomplete('empty file (the hook has not written yet)');

  const headerEnd = buf.indexOf(0x0a);
  if (headerEnd < 0) {
    // A header still being written is a prefix of "bitbucket-relay-spool <v> <nonce>".
    const start = buf.subarray(0, Math.min(buf.length, 200)).toString('latin1');
    const magic = SPOOL_RECORD_MAGIC + ' ';
    const plausible = buf.length <= 200 &&
      (magic.startsWith(start) || (start.startsWith(magic) && /^[0-9]* ?[A-Za-z0-9-]*$/.test(start.slice(magic.length))));
    return plausible
      ? incomplete('header not finished (the hook is still writing)')
      : invalid(`not a spool record: line 1 is not "${SPOOL_RECORD_MAGIC} <version> <nonce>"`);
  }
  const header = buf.subarray(0, headerEnd).toString('latin1');
  const m = HEADER.exec(header);
  if (!m) return invalid(`not a spool record: line 1 is not "${SPOOL_RECORD_MAGIC} <version> <nonce>"`);
  const version = Number(m[1]);
  const nonce = m[2];
  if (version !== SPOOL_RECORD_VERSION) {
    return invalid(
      `spool record version ${version} is not supported (this daemon reads version ${SPOOL_RECORD_VERSION}); ` +
        'upgrade the daemon to match the hook, then move the file back into incoming/',
    );
  }

  // The end marker must close the file; anything else means "not finished".
  const trailer = Buffer.from(`\nend ${nonce}\n`, 'latin1');
  if (buf.length < headerEnd + trailer.length || !buf.subarray(buf.length - trailer.length).equals(trailer)) {
    return incomplete('no end marker yet (the hook is still writing, or was interrupted / ran out of disk)');
  }
  const trailerStart = buf.length - trailer.length + 1; // index of "end"

  const refsMarker = Buffer.from(`\nrefs ${nonce}\n`, 'latin1');
  const refsAt = buf.indexOf(refsMarker, headerEnd);
  if (refsAt < 0 || refsAt + refsMarker.length > trailerStart) {
    return invalid('the "refs <nonce>" line that ends the environment section is missing');
  }

  // Environment: from after the header through the newline before "refs".
  const envText = buf.subarray(headerEnd + 1, refsAt + 1).toString('latin1');
  const exports = parseShellExports(envText, 2);
  if (!exports.ok) return invalid(exports.reason);
  const env: Record<string, string> = {};
  let repoRaw: string | undefined;
  let hostRaw = '';
  for (const [name, raw] of exports.vars) {
    if (name === 'RELAY_RECORD_REPO') repoRaw = raw;
    else if (name === 'RELAY_RECORD_HOST') hostRaw = raw;
    else if (KEPT_ENV.test(name)) env[name] = utf8.decode(Buffer.from(raw, 'latin1'));
  }
  if (repoRaw === undefined) return invalid('RELAY_RECORD_REPO (the repository path) is missing from the environment section');
  const repoPath = utf8.decode(Buffer.from(repoRaw, 'latin1'));
  if (!repoPath.startsWith('/')) return invalid('RELAY_RECORD_REPO is not an absolute path');
  if (repoPath.includes('\0')) return invalid('RELAY_RECORD_REPO contains a NUL byte');
  const host = utf8.decode(Buffer.from(hostRaw, 'latin1'));

  // Ref lines, one at a time: a ref name that is not UTF-8 costs that ref, not the push.
  const refsStart = refsAt + refsMarker.length;
  const refBytes = buf.subarray(refsStart, trailerStart);
  const refLines: SpoolRefLine[] = [];
  const refErrors: SpoolRefError[] = [];
  const lines = splitLines(refBytes);
  const firstRefLine = countLines(buf.subarray(0, refsStart)) + 1;
  for (let k = 0; k < lines.length; k++) {
    const lineBytes = lines[k];
    if (lineBytes.length === 0) continue; // the text ends with "\n"; git sends no blank lines
    const where = `ref line ${k + 1} (file line ${firstRefLine + k})`;
    let line: string;
    let undecodable = false;
    try {
      line = strictUtf8.decode(lineBytes);
    } catch {
      // Checked as bytes (latin1 keeps one char per byte); reported with the bad bytes escaped.
      line = lineBytes.toString('latin1');
      undecodable = true;
    }
    const parts = line.split(' ');
    if (parts.length !== 3) return invalid(`${where} is not "<old-sha> <new-sha> <ref>"`);
    const [before, after, ref] = parts;
    if (!SHA.test(before) || !SHA.test(after)) {
      return invalid(`${where}: object names must be 40 or 64 lowercase hex digits`);
    }
    if (before.length !== after.length) return invalid(`${where}: old and new object names differ in length`);
    const refProblem = refNameProblem(ref);
    if (undecodable) {
      const shown = escapeInvalidUtf8(lineBytes.subarray(before.length + after.length + 2));
      if (refProblem) return invalid(`${where}: ref name ${JSON.stringify(shown.slice(0, 120))} ${refProblem}`);
      refErrors.push({ ref: shown, message: `${where}: ref name ${shown} is not valid UTF-8 (bytes shown as \\xNN); its update ${before.slice(0, 12)}..${after.slice(0, 12)} is not relayed` });
      continue;
    }
    if (refProblem) return invalid(`${where}: ref name ${JSON.stringify(ref.slice(0, 120))} ${refProblem}`);
    refLines.push({ before, after, ref });
  }
  if (refLines.length === 0 && refErrors.length > 0) {
    return {
      ok: false,
      incomplete: false,
      permanent: true,
      reason: `no ref update of this push can be relayed: ${refErrors.map((e) => e.message).join('; ')}`,
    };
  }

  return {
    ok: true,
    record: {
      id: spoolRecordId(meta.name),
      version,
      repoPath,
      timeNs: meta.mtimeNs,
      host,
      env,
      refLines,
      ...(refErrors.length ? { refErrors } : {}),
    },
  };
}

/** The lines of `bytes` split at \n (no decoding). */
function splitLines(bytes: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let start = 0;
  for (let k = bytes.indexOf(0x0a); k >= 0; k = bytes.indexOf(0x0a, k + 1)) {
    out.push(bytes.subarray(start, k));
    start = k + 1;
  }
  out.push(bytes.subarray(start));
  return out;
}

/** Decodes UTF-8, writing each byte that is not part of a valid sequence as \xNN. */
export function escapeInvalidUtf8(bytes: Uint8Array): string {
  let out = '';
  let k = 0;
  while (k < bytes.length) {
    const b = bytes[k];
    const len = b < 0x80 ? 1 : b >= 0xc2 && b <= 0xdf ? 2 : b >= 0xe0 && b <= 0xef ? 3 : b >= 0xf0 && b <= 0xf4 ? 4 : 0;
    if (len > 0 && k + len <= bytes.length) {
      try {
        out += strictUtf8.decode(bytes.subarray(k, k + len));
        k += len;
        continue;
      } catch {
        /* not a valid sequence: escape the lead byte */
      }
    }
    out += `\\x${b.toString(16).padStart(2, '0')}`;
    k++;
  }
  return out;
}

/**
 * Why `ref` is not a full git ref name (git check-ref-format rules, plus the
 * "refs/" prefix post-receive always gives), or null when it is fine.
 */
export function refNameProblem(ref: string): string | null {
  if (!ref.startsWith('refs/')) return 'does not start with "refs/"';
  if (ref.endsWith('/') || ref.endsWith('.')) return 'ends with "/" or "."';
  if (ref.includes('//')) return 'has an empty component';
  if (ref.includes('..')) return 'contains ".."';
  if (ref.includes('@{')) return 'contains "@{"';
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x20\x7f~^:?*[\\]/.test(ref)) return 'contains a space, control or ~^:?*[\\ character';
  for (const component of ref.split('/')) {
    if (component.startsWith('.')) return 'has a component starting with "."';
    if (component.endsWith('.lock')) return 'has a component ending in ".lock"';
  }
  return null;
}

function countLines(bytes: Buffer): number {
  let count = 0;
  for (let k = bytes.indexOf(0x0a); k >= 0; k = bytes.indexOf(0x0a, k + 1)) count++;
  return count;
}
