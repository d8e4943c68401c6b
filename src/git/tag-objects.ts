// What the objects behind tag refs are: annotated tag (tagger, message,
// target) or a plain commit. Read from the object store when it can answer
// (readTagObjectsFromStore: no git process), else for all remaining tag refs
// of a push with ONE `git cat-file --batch` (each name asked as `<sha>` and
// `<sha>^{}` = peeled).

import type { Signature } from '../event/push-event.ts';
import { decodeCommitText } from './decode-text.ts';
import type { ObjectStore } from './object-store.ts';
import type { GitRunner } from './run-git.ts';

/** One object behind a tag ref. */
export interface TagObject {
  /** Object type of the name itself: "tag" for annotated tags. */
  type: string;
  /** Fully peeled object (the commit, usually) and its type; null when missing. */
  peeled: string | null;
  peeledType: string | null;
  tagger: Signature | null;
  message: string | null;
}

/** "1700000000 +0130" → "2023-11-14T22:13:20+01:30" (the tagger's local time). */
export function isoFromGitTime(epochSeconds: number, tz: string): string {
  const match = /^([+-])(\d\d)(\d\d)$/.exec(tz);
  const offsetMinutes = match ? (match[1] === '-' ? -1 : 1) * (Number(match[2]) * 60 + Number(match[3])) : 0;
  const local = new Date((epochSeconds + offsetMinutes * 60) * 1000).toISOString().slice(0, 19);
  const sign = offsetMinutes < 0 ? '-' : '+';
  const abs = Math.abs(offsetMinutes);
  return `${local}${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
}

/** "Name <email> 1700000000 +0100" → Signature, null when it does not parse. */
export function parseIdentLine(line: string): Signature | null {
  const match = /^(.*?) ?<([^>]*)> (\d+) ([+-]\d{4})$/.exec(line);
  if (!match) return null;
  return { name: match[1], email: match[2], date: isoFromGitTime(Number(match[3]), match[4]) };
}

const SIGNATURE_START = /\n-----BEGIN (?:PGP SIGNATURE|PGP MESSAGE|SSH SIGNATURE|SIGNED MESSAGE)-----\n[\s\S]*$/;

/** Parses an annotated tag object body: tagger and message (signature block removed). */
export function parseTagBody(body: Buffer, fallbackEncoding: string | null): { tagger: Signature | null; message: string } {
  const split = body.indexOf('\n\n');
  const headerText = (split < 0 ? body : body.subarray(0, split)).toString('utf8');
  const headers = new Map<string, string>();
  for (const line of headerText.split('\n')) {
    const space = line.indexOf(' ');
    if (space > 0 && !headers.has(line.slice(0, space))) headers.set(line.slice(0, space), line.slice(space + 1));
  }
  const encoding = headers.get('encoding') ?? null;
  const rawMessage = split < 0 ? Buffer.alloc(0) : body.subarray(split + 2);
  const message = decodeCommitText(rawMessage, [encoding, fallbackEncoding]).replace(SIGNATURE_START, '\n');
  const taggerLine = headers.get('tagger');
  const tagger = taggerLine ? parseIdentLine(decodeCommitText(Buffer.from(taggerLine, 'utf8'), [encoding, fallbackEncoding])) : null;
  return { tagger, message };
}

/** Parses `cat-file --batch` output for the given request lines, in order. */
export function parseBatchOutput(output: Buffer, requests: readonly string[]): ({ sha: string; type: string; body: Buffer } | null)[] {
  const results: ({ sha: string; type: string; body: Buffer } | null)[] = [];
  let offset = 0;
  for (let i = 0; i < requests.length && offset < output.length; i++) {
    const eol = output.indexOf(0x0a, offset);
    if (eol < 0) break;
    const header = output.subarray(offset, eol).toString('latin1').split(' ');
    offset = eol + 1;
    if (header.length !== 3 || !/^\d+$/.test(header[2])) {
      results.push(null); // "<name> missing" / "ambiguous"
      continue;
    }
    const size = Number(header[2]);
    results.push({ sha: header[0], type: header[1], body: output.subarray(offset, offset + size) });
    offset += size + 1;
  }
  return results;
}

/** Reads tag objects for the given names in one git process; missing names are absent from the map. */
export async function readTagObjects(git: GitRunner, shas: readonly string[], fallbackEncoding: string | null): Promise<Map<string, TagObject>> {
  const unique = [...new Set(shas)];
  const found = new Map<string, TagObject>();
  if (unique.length === 0) return found;
  const requests = unique.flatMap((sha) => [sha, `${sha}^{}`]);
  const { stdout } = await git.run(['cat-file', '--batch'], { input: requests.join('\n') + '\n' });
  const results = parseBatchOutput(stdout, requests);
  unique.forEach((sha, i) => {
    const object = results[2 * i];
    const peeled = results[2 * i + 1];
    if (!object) return;
    const tag = object.type === 'tag' ? parseTagBody(object.body, fallbackEncoding) : null;
    found.set(sha, {
      type: object.type,
      peeled: peeled?.sha ?? null,
      peeledType: peeled?.type ?? null,
      tagger: tag?.tagger ?? null,
      message: tag?.message ?? null,
    });
  });
  return found;
}

/** Tags of tags followed before the store gives up (git cat-file peels any depth). */
const MAX_TAG_CHAIN = 8;

/** The `object` and `type` headers of a tag object body, null when malformed. */
export function tagTarget(body: Buffer): { object: string; type: string } | null {
  const match = /^object ([0-9a-f]{40})\ntype (commit|tree|blob|tag)\n/.exec(body.subarray(0, 128).toString('latin1'));
  return match ? { object: match[1], type: match[2] } : null;
}

/**
 * The same answers as readTagObjects, from the object store without a git
 * process; names it is not sure about (missing, deltified tag objects, a
 * target it cannot find) are absent, for readTagObjects to answer.
 */
export async function readTagObjectsFromStore(store: ObjectStore, shas: readonly string[], fallbackEncoding: string | null): Promise<Map<string, TagObject>> {
  const found = new Map<string, TagObject>();
  for (const sha of new Set(shas)) {
    const object = await store.read(sha, { body: true });
    if (!object) continue;
    if (object.type !== 'tag') {
      found.set(sha, { type: object.type, peeled: sha, peeledType: object.type, tagger: null, message: null });
      continue;
    }
    // Peel as git does: follow `object` lines, trusting the type of the object reached, not the header.
    let peeled: { sha: string; type: string } | null = null;
    let body = object.body;
    for (let hops = 0; body && hops < MAX_TAG_CHAIN; hops++) {
      const target = tagTarget(body);
      const next = target ? await store.read(target.object, { body: target.type === 'tag' }) : null;
      if (!target || !next) break;
      if (next.type !== 'tag') {
        peeled = { sha: target.object, type: next.type };
        break;
      }
      body = next.body;
    }
    if (!peeled || !object.body) continue;
    const { tagger, message } = parseTagBody(object.body, fallbackEncoding);
    found.set(sha, { type: 'tag', peeled: peeled.sha, peeledType: peeled.type, tagger, message });
  }
  return found;
}
