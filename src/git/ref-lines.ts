// Hook ref lines ("<old> <new> <ref>") and what each says about a ref. Pure.

import type { RefChange } from '../event/push-event.ts';
import { compileGlob, matchesAnyGlob } from '../route/glob.ts';

/** One line of post-receive stdin. */
export interface RefLine {
  before: string;
  after: string;
  ref: string;
}

const SHA = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;

/** True for git's all-zero object name (40 or 64 digits): "no object". */
export function isZeroSha(sha: string): boolean {
  return /^0+$/.test(sha);
}

/** The lines with repeats of the same (ref, before, after) left out, first kept: one update listed twice is one update. */
export function uniqueRefLines(lines: readonly RefLine[]): RefLine[] {
  const seen = new Set<string>();
  return lines.filter((l) => {
    const key = `${l.ref} ${l.before} ${l.after}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/**
 * Parses post-receive stdin. Blank lines are skipped; malformed lines are
 * reported by line number instead of failing the whole push.
 */
export function parseRefLines(text: string): { lines: RefLine[]; problems: string[] } {
  const lines: RefLine[] = [];
  const problems: string[] = [];
  text.split('\n').forEach((raw, index) => {
    const line = raw.replace(/\r$/, '');
    if (line.trim() === '') return;
    const [before, after, ...rest] = line.split(' ');
    const ref = rest.join(' ');
    if (!before || !after || !ref || !SHA.test(before) || !SHA.test(after) || !ref.startsWith('refs/')) {
      problems.push(`ref line ${index + 1} is not "<old-sha> <new-sha> <refs/…>": ${JSON.stringify(line.slice(0, 200))}`);
      return;
    }
    lines.push({ before, after, ref });
  });
  return { lines, problems };
}

/** create / update / delete from the zero-ness of the two object names. */
export function changeOf(line: RefLine): RefChange['change'] {
  if (isZeroSha(line.before)) return 'create';
  if (isZeroSha(line.after)) return 'delete';
  return 'update';
}

/** branch / tag / other, and the short name (refs/heads/ and refs/tags/ stripped). */
export function describeRef(ref: string): { kind: RefChange['kind']; name: string } {
  if (ref.startsWith('refs/heads/')) return { kind: 'branch', name: ref.slice('refs/heads/'.length) };
  if (ref.startsWith('refs/tags/')) return { kind: 'tag', name: ref.slice('refs/tags/'.length) };
  return { kind: 'other', name: ref };
}

/** Compiles a ref glob (the `match:` dialect, src/route/glob.ts); `refs/x/**` also matches `refs/x` itself. */
export function refGlobToRegExp(glob: string): RegExp {
  return compileGlob(glob, { parentMatches: true });
}

/** True when the ref matches any of the globs. */
export function matchesAnyRefGlob(ref: string, globs: readonly string[]): boolean {
  return matchesAnyGlob(ref, globs, { parentMatches: true });
}
