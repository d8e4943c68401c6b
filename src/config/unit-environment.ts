// The environment systemd gives the daemon: Environment= and EnvironmentFile=
// of the unit and its drop-ins. An admin shell lacks the variables a config's
// ${NAME} refers to; operator commands look here before calling that an error.

import { readdirSync, readFileSync } from 'node:fs';

/** Where install.sh puts the unit; $RELAY_UNIT_FILE overrides (other unit names, staged trees, tests). */
export const DEFAULT_UNIT_FILE = '/etc/systemd/system/bitbucket-relay.service';

/** One variable the unit sets, and where. */
export interface UnitVariable {
  value: string;
  /** `Environment= in <unit file>` or `EnvironmentFile <path>`. */
  source: string;
}

/** What the unit's environment settings say, as far as this user can read them. */
export interface UnitEnvironment {
  unitFile: string;
  /** False when the unit file itself cannot be read (not installed here). */
  found: boolean;
  vars: Map<string, UnitVariable>;
  /** EnvironmentFile= paths this user cannot read, with the reason (they may set more). */
  unreadable: { path: string; reason: string }[];
}

/** The unit file to consult: $RELAY_UNIT_FILE, else the default. */
export function unitFilePath(env: NodeJS.ProcessEnv): string {
  return env.RELAY_UNIT_FILE || DEFAULT_UNIT_FILE;
}

/** Read Environment= / EnvironmentFile= from `unitFile` and `unitFile.d/*.conf` (in systemd's order: later wins). */
export function readUnitEnvironment(unitFile: string): UnitEnvironment {
  const out: UnitEnvironment = { unitFile, found: false, vars: new Map(), unreadable: [] };
  const files = [unitFile];
  try {
    files.push(...readdirSync(`${unitFile}.d`).filter((f) => f.endsWith('.conf')).sort().map((f) => `${unitFile}.d/${f}`));
  } catch {
    /* no drop-ins */
  }
  for (const [i, file] of files.entries()) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    if (i === 0) out.found = true;
    for (const raw of text.split('\n')) {
      const line = raw.trim();
      const env = /^Environment=(.*)$/.exec(line);
      if (env) {
        for (const word of splitWords(env[1])) assign(out, word, `Environment= in ${file}`);
        continue;
      }
      const envFile = /^EnvironmentFile=(-?)(.+)$/.exec(line);
      if (envFile) readEnvironmentFile(out, envFile[2].trim());
    }
  }
  return out;
}

function readEnvironmentFile(out: UnitEnvironment, path: string): void {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    out.unreadable.push({ path, reason: (err as NodeJS.ErrnoException).code ?? (err as Error).message });
    return;
  }
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    assign(out, line.replace(/^export\s+/, ''), `EnvironmentFile ${path}`);
  }
}

function assign(out: UnitEnvironment, word: string, source: string): void {
  const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/s.exec(word);
  if (!m) return;
  out.vars.set(m[1], { value: unquote(m[2].trim()), source });
}

function unquote(v: string): string {
  return /^(["']).*\1$/s.test(v) ? v.slice(1, -1) : v;
}

/** Environment= values: space-separated, double- or single-quoted words. */
function splitWords(text: string): string[] {
  const words: string[] = [];
  const re = /"((?:[^"\\]|\\.)*)"|'([^']*)'|(\S+)/g;
  for (const m of text.matchAll(re)) words.push(m[1] ?? m[2] ?? m[3]);
  return words;
}

/** One sentence on whether the unit sets `name`, for messages about a variable unset in this shell. */
export function describeUnitSetting(unit: UnitEnvironment, name: string): string {
  const v = unit.vars.get(name);
  if (v) return `the unit's ${v.source} sets it`;
  if (!unit.found) return `${unit.unitFile} is not readable here, so whether the service sets it is unknown (set RELAY_UNIT_FILE to the unit's path)`;
  if (unit.unreadable.length) return `${unit.unreadable.map((u) => `EnvironmentFile ${u.path}`).join(', ')} of ${unit.unitFile} cannot be read by this user (${unit.unreadable.map((u) => u.reason).join(', ')}), so whether it sets it is unknown`;
  return `no Environment= or EnvironmentFile= of ${unit.unitFile} (or its .d/ drop-ins) sets it: the service will not have it either`;
}
