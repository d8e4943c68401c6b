// Reads git-config syntax files (a repository's `config`, Bitbucket's
// `repository-config`) without starting git. Pure parser.

/** One `key = value` of a config file; section and key lower-cased, subsection as written. */
export interface GitConfigEntry {
  section: string;
  subsection: string | null;
  key: string;
  /** null for a bare `key` (git's "true"). */
  value: string | null;
}

/** Parses git-config text; tolerant: lines it cannot read are skipped. */
export function parseGitConfig(text: string): GitConfigEntry[] {
  const entries: GitConfigEntry[] = [];
  let section = '';
  let subsection: string | null = null;
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    let line = lines[i].trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const header = /^\[\s*([A-Za-z0-9.-]+)(?:\s+"((?:[^"\\]|\\.)*)")?\s*\]\s*(.*)$/.exec(line);
    if (header) {
      const name = header[1];
      if (header[2] !== undefined) {
        section = name.toLowerCase();
        subsection = header[2].replace(/\\(.)/g, '$1');
      } else {
        // Old "[section.sub]" form: the subsection is lower-cased too.
        const dot = name.indexOf('.');
        section = (dot < 0 ? name : name.slice(0, dot)).toLowerCase();
        subsection = dot < 0 ? null : name.slice(dot + 1).toLowerCase();
      }
      line = header[3].trim();
      if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    }
    const keyMatch = /^([A-Za-z][A-Za-z0-9-]*)\s*(=)?\s*(.*)$/.exec(line);
    if (!keyMatch || section === '') continue;
    if (!keyMatch[2]) {
      entries.push({ section, subsection, key: keyMatch[1].toLowerCase(), value: null });
      continue;
    }
    let raw = keyMatch[3];
    // A trailing backslash continues the value on the next line.
    while (/(^|[^\\])(\\\\)*\\$/.test(raw) && i + 1 < lines.length) raw = raw.slice(0, -1) + lines[++i];
    entries.push({ section, subsection, key: keyMatch[1].toLowerCase(), value: unquoteValue(raw) });
  }
  return entries;
}

/** Decodes a raw value: quotes, escapes, comments, surrounding blanks. */
function unquoteValue(raw: string): string {
  let value = '';
  let quoted = false;
  let pendingSpace = '';
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i];
    if (c === '\\') {
      const n = raw[++i];
      const escaped = n === 'n' ? '\n' : n === 't' ? '\t' : n === 'b' ? '\b' : (n ?? '');
      value += pendingSpace + escaped;
      pendingSpace = '';
    } else if (c === '"') {
      value += pendingSpace;
      pendingSpace = '';
      quoted = !quoted;
    } else if (!quoted && (c === '#' || c === ';')) {
      break;
    } else if (!quoted && (c === ' ' || c === '\t')) {
      if (value !== '') pendingSpace += c;
    } else {
      value += pendingSpace + c;
      pendingSpace = '';
    }
  }
  return value;
}

/** Last value of `section[.subsection].key` (git's "last one wins"), or null. */
export function gitConfigValue(entries: readonly GitConfigEntry[], name: string): string | null {
  const parts = name.split('.');
  const section = parts[0].toLowerCase();
  const key = parts[parts.length - 1].toLowerCase();
  const subsection = parts.length > 2 ? parts.slice(1, -1).join('.') : null;
  let found: string | null = null;
  for (const e of entries) {
    if (e.section === section && e.key === key && e.subsection === subsection) found = e.value ?? 'true';
  }
  return found;
}
