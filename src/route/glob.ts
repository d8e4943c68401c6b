// Glob patterns for `match:` (refs, repos, paths). A small compiler rather
// than path.matchesGlob because that one skips dot-files (`**/*.yml` would
// miss `.github/ci.yml`) and cannot ignore case; semantics here:
//   *      any characters except `/`
//   **     as a whole path segment: zero or more segments (`a/**`, `**/x`, `a/**/b`)
//   ?      one character except `/`
//   [abc]  a character class (`[!a]` / `[^a]` negate); never matches `/`
//   {a,b}  alternatives (may nest)
//   \x     the character x literally
// Dots are ordinary characters.

const cache = new Map<string, RegExp>();

/** A RegExp matching whole strings against `pattern` (compiled once, cached). */
export function compileGlob(pattern: string, ignoreCase = false): RegExp {
  const key = (ignoreCase ? 'i:' : 's:') + pattern;
  let re = cache.get(key);
  if (!re) {
    re = new RegExp(`^${globSource(pattern)}$`, ignoreCase ? 'i' : '');
    cache.set(key, re);
  }
  return re;
}

/** Whether `text` matches any of `patterns`. */
export function matchesAnyGlob(text: string, patterns: readonly string[], ignoreCase = false): boolean {
  for (const p of patterns) if (compileGlob(p, ignoreCase).test(text)) return true;
  return false;
}

function globSource(p: string): string {
  let out = '';
  let i = 0;
  while (i < p.length) {
    const c = p[i];
    if (c === '*') {
      if (p[i + 1] === '*') {
        const startsSegment = i === 0 || p[i - 1] === '/';
        const end = i + 2;
        if (startsSegment && end === p.length) {
          out += '.*';
          i = end;
          continue;
        }
        if (startsSegment && p[end] === '/') {
          out += '(?:.*/)?';
          i = end + 1;
          continue;
        }
        out += '[^/]*';
        i = end;
        continue;
      }
      out += '[^/]*';
      i++;
    } else if (c === '?') {
      out += '[^/]';
      i++;
    } else if (c === '[') {
      const close = p.indexOf(']', i + 2);
      if (close === -1) {
        out += '\\[';
        i++;
        continue;
      }
      let body = p.slice(i + 1, close);
      let negate = false;
      if (body[0] === '!' || body[0] === '^') {
        negate = true;
        body = body.slice(1);
      }
      const cls = body.replace(/[\\\]^]/g, (ch) => '\\' + ch);
      out += negate ? `(?:(?!/)[^${cls}])` : `[${cls}]`;
      i = close + 1;
    } else if (c === '{') {
      const close = matchingBrace(p, i);
      if (close === -1) {
        out += '\\{';
        i++;
        continue;
      }
      out += `(?:${splitTopLevel(p.slice(i + 1, close)).map(globSource).join('|')})`;
      i = close + 1;
    } else if (c === '\\' && i + 1 < p.length) {
      out += escapeRe(p[i + 1]);
      i += 2;
    } else {
      out += escapeRe(c);
      i++;
    }
  }
  return out;
}

function matchingBrace(p: string, open: number): number {
  let depth = 0;
  for (let i = open; i < p.length; i++) {
    if (p[i] === '\\') i++;
    else if (p[i] === '{') depth++;
    else if (p[i] === '}' && --depth === 0) return i;
  }
  return -1;
}

function splitTopLevel(body: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < body.length; i++) {
    if (body[i] === '\\') i++;
    else if (body[i] === '{') depth++;
    else if (body[i] === '}') depth--;
    else if (body[i] === ',' && depth === 0) {
      parts.push(body.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(body.slice(start));
  return parts;
}

function escapeRe(ch: string): string {
  return /[.*+?^${}()|[\]\\/-]/.test(ch) ? '\\' + ch : ch;
}
