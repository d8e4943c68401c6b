// Glob patterns for `match:` (refs, repos, paths) and `analysis.ignoreRefs`,
// compiled by picomatch. Options pin the dialect the docs promise:
//   *      any characters except `/`          ?      one character except `/`
//   **     as a whole segment: any number of segments (`a/**`, `**/x`, `a/**/b`)
//   [abc]  a class, `[!a]`/`[^a]` negate (posix: picomatch otherwise reads `!` literally)
//   {a,b}  alternatives (may nest)            \x     x literally
// Dots are ordinary characters (dot: true, so `**/*.yml` matches
// `.github/ci.yml`). Everything else is literal: no extglobs, no leading-`!`
// negation, and `(`, `)`, `|` and an unclosed `{` are escaped before
// picomatch sees them (it reads them as regex groups), so a path like
// `docs/(old)/x` or a ref `a|b` matches itself only.
import picomatch from 'picomatch';

const OPTIONS = { dot: true, posix: true, noextglob: true, nonegate: true } as const;

/** How a trailing `/**` treats its parent: `match:` wants children only, ignoreRefs the parent too. */
export interface GlobOptions {
  ignoreCase?: boolean;
  /** `a/**` also matches `a` itself (picomatch's own reading). Default false: only what is below `a`. */
  parentMatches?: boolean;
}

const cache = new Map<string, RegExp>();

/** A RegExp matching whole strings against `pattern` (compiled once, cached). */
export function compileGlob(pattern: string, options: GlobOptions | boolean = {}): RegExp {
  const { ignoreCase = false, parentMatches = false } = typeof options === 'boolean' ? { ignoreCase: options } : options;
  const key = `${ignoreCase ? 'i' : 's'}${parentMatches ? 'p' : 'c'}:${pattern}`;
  let re = cache.get(key);
  if (!re) {
    // picomatch lets `a/**` match `a`; `a/**/*` is the same set without the parent.
    const literal = escapeNonGlob(pattern);
    const source = !parentMatches && /(^|[^\\])\/\*\*$/.test(literal) ? `${literal}/*` : literal;
    re = picomatch.makeRe(source, { ...OPTIONS, nocase: ignoreCase });
    cache.set(key, re);
  }
  return re;
}

/** Whether `text` matches any of `patterns`. */
export function matchesAnyGlob(text: string, patterns: readonly string[], options: GlobOptions | boolean = {}): boolean {
  for (const p of patterns) if (compileGlob(p, options).test(text)) return true;
  return false;
}

/** Backslash-escapes what picomatch would read as regex syntax but our dialect keeps literal. */
function escapeNonGlob(p: string): string {
  let out = '';
  for (let i = 0; i < p.length; i++) {
    const c = p[i];
    if (c === '\\' && i + 1 < p.length) {
      out += c + p[++i];
    } else if (c === '(' || c === ')' || c === '|' || (c === '{' && !hasClosingBrace(p, i))) {
      out += '\\' + c;
    } else {
      out += c;
    }
  }
  return out;
}

function hasClosingBrace(p: string, open: number): boolean {
  let depth = 0;
  for (let i = open; i < p.length; i++) {
    if (p[i] === '\\') i++;
    else if (p[i] === '{') depth++;
    else if (p[i] === '}' && --depth === 0) return true;
  }
  return false;
}
