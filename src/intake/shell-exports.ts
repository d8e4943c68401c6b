// Reads the output of a shell's `export -p` back into names and raw values.
// Pure; never throws; never evaluates anything (no expansion, no commands).
//
// Shapes it understands, one variable per command:
//   dash, busybox ash:   export NAME='v'"'"'alue'        (single quotes)
//   bash --posix (sh):   export NAME="v\"alue"            (double quotes)
//                        export NAME=$'line\nbreak\001'   (ANSI-C, control chars)
//   bash:                declare -x NAME="value"
//   any:                 export NAME                      (exported, no value: skipped)
// Values are returned as "binary" strings (one char per byte, latin1) so that
// the caller decides how to decode them; byte-exactness is kept.

/** Result of reading `export -p` output: name → raw value (one char per byte). */
export type ShellExportsResult =
  | { ok: true; vars: Map<string, string> }
  | { ok: false; reason: string };

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const BLANK = new Set([' ', '\t']);
// Characters that would make the line mean more than an assignment.
const OPERATORS = new Set([';', '&', '|', '<', '>', '(', ')', '`']);

/** Parses `export -p` / `declare -x` output; `firstLine` numbers lines in reasons. */
export function parseShellExports(text: string, firstLine = 1): ShellExportsResult {
  const vars = new Map<string, string>();
  const s = text;
  const n = s.length;
  let i = 0;
  let line = firstLine;
  const fail = (what: string, at: number = line): ShellExportsResult => ({
    ok: false,
    reason: `environment section, line ${at}: ${what}`,
  });

  while (i < n) {
    // Blank space and empty lines between commands.
    const c = s[i];
    if (BLANK.has(c)) { i++; continue; }
    if (c === '\n') { i++; line++; continue; }

    const commandLine = line;
    const command = readBareWord();
    if (command !== 'export' && command !== 'declare' && command !== 'typeset') {
      return fail('expected an `export` or `declare -x` command', commandLine);
    }
    let words = 0;
    for (;;) {
      while (i < n && BLANK.has(s[i])) i++;
      if (i >= n || s[i] === '\n') break;
      if (s[i] === '-' && words === 0) {
        const flags = readBareWord();
        if (!/^-[-a-zA-Z]*$/.test(flags)) return fail('unexpected option word', commandLine);
        continue;
      }
      const start = i;
      while (i < n && /[A-Za-z0-9_]/.test(s[i])) i++;
      const name = s.slice(start, i);
      if (!NAME.test(name)) return fail('expected a variable name', line);
      words++;
      if (i < n && s[i] === '=') {
        i++;
        const value = readValue();
        if (typeof value !== 'string') return fail(`${value.error} in the value of ${name}`, value.line);
        vars.set(name, value);
      } else if (i < n && !BLANK.has(s[i]) && s[i] !== '\n') {
        return fail(`unexpected character after the name ${name}`, line);
      }
      // A name without "=" is exported but unset: nothing to carry.
    }
    if (words === 0 && command !== 'declare' && command !== 'typeset') {
      return fail('`export` without a variable', commandLine);
    }
  }
  return { ok: true, vars };

  function readBareWord(): string {
    const start = i;
    while (i < n && !BLANK.has(s[i]) && s[i] !== '\n') i++;
    return s.slice(start, i);
  }

  // One shell word after "=": a run of quoted and unquoted pieces.
  function readValue(): string | { error: string; line: number } {
    let out = '';
    while (i < n) {
      const c = s[i];
      if (BLANK.has(c) || c === '\n') break;
      if (c === "'") {
        const startLine = line;
        const end = s.indexOf("'", i + 1);
        if (end < 0) return { error: 'unterminated single quote', line: startLine };
        const piece = s.slice(i + 1, end);
        line += countNewlines(piece);
        out += piece;
        i = end + 1;
      } else if (c === '"') {
        const piece = readDoubleQuoted();
        if (typeof piece !== 'string') return piece;
        out += piece;
      } else if (c === '$' && s[i + 1] === "'") {
        const piece = readAnsiC();
        if (typeof piece !== 'string') return piece;
        out += piece;
      } else if (c === '$' && s[i + 1] === '"') {
        i++; // $"..." is a translatable string; its text is the double-quoted text
        const piece = readDoubleQuoted();
        if (typeof piece !== 'string') return piece;
        out += piece;
      } else if (c === '\\') {
        if (i + 1 >= n) return { error: 'backslash at end of input', line };
        if (s[i + 1] === '\n') { line++; i += 2; continue; } // line continuation
        out += s[i + 1];
        i += 2;
      } else if (c === '$') {
        return { error: 'unquoted "$" (would be expanded by a shell)', line };
      } else if (OPERATORS.has(c)) {
        return { error: `unquoted shell operator ${JSON.stringify(c)}`, line };
      } else {
        out += c;
        i++;
      }
    }
    return out;
  }

  function readDoubleQuoted(): string | { error: string; line: number } {
    const startLine = line;
    let out = '';
    i++; // opening quote
    while (i < n) {
      const c = s[i];
      if (c === '"') { i++; return out; }
      if (c === '\\' && i + 1 < n) {
        const next = s[i + 1];
        if (next === '\n') { line++; i += 2; continue; }
        if (next === '$' || next === '`' || next === '"' || next === '\\') { out += next; i += 2; continue; }
        out += c;
        i++;
        continue;
      }
      if (c === '\n') line++;
      out += c;
      i++;
    }
    return { error: 'unterminated double quote', line: startLine };
  }

  // bash's $'...' quoting; escapes per the bash manual (QUOTING, ANSI-C).
  function readAnsiC(): string | { error: string; line: number } {
    const startLine = line;
    let out = '';
    i += 2; // $'
    while (i < n) {
      const c = s[i];
      if (c === "'") { i++; return out; }
      if (c === '\n') line++;
      if (c !== '\\') { out += c; i++; continue; }
      if (i + 1 >= n) break;
      const e = s[i + 1];
      i += 2;
      switch (e) {
        case 'a': out += '\x07'; break;
        case 'b': out += '\x08'; break;
        case 'e': case 'E': out += '\x1b'; break;
        case 'f': out += '\x0c'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'v': out += '\x0b'; break;
        case '\\': case "'": case '"': case '?': out += e; break;
        case 'c': {
          if (i >= n) return { error: 'incomplete \\c escape', line };
          out += String.fromCharCode(s.charCodeAt(i) & 0x1f);
          i++;
          break;
        }
        case 'x': {
          const digits = takeWhile(/[0-9a-fA-F]/, 2);
          if (digits === '') { out += '\\x'; break; }
          out += String.fromCharCode(parseInt(digits, 16));
          break;
        }
        case 'u': case 'U': {
          const digits = takeWhile(/[0-9a-fA-F]/, e === 'u' ? 4 : 8);
          if (digits === '') { out += '\\' + e; break; }
          const cp = parseInt(digits, 16);
          if (cp > 0x10ffff) return { error: 'escape beyond Unicode', line };
          out += Buffer.from(String.fromCodePoint(cp), 'utf8').toString('latin1');
          break;
        }
        default: {
          if (e >= '0' && e <= '7') {
            i--; // the first digit is part of the number
            const digits = takeWhile(/[0-7]/, 3);
            out += String.fromCharCode(parseInt(digits, 8) & 0xff);
          } else {
            out += '\\' + e; // bash keeps unknown escapes as written
          }
        }
      }
    }
    return { error: "unterminated $'...' quote", line: startLine };
  }

  function takeWhile(re: RegExp, max: number): string {
    const start = i;
    while (i < n && i - start < max && re.test(s[i])) i++;
    return s.slice(start, i);
  }
}

function countNewlines(text: string): number {
  let count = 0;
  for (let k = text.indexOf('\n'); k >= 0; k = text.indexOf('\n', k + 1)) count++;
  return count;
}
