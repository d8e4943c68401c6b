// The one config loader: YAML → ${ENV} substitution → schema → semantic
// checks → normalized RelayConfig. Every problem names file:line:column and
// the key path, and says what to do; all problems are reported at once.

import { readFileSync, accessSync, constants as fsConstants } from 'node:fs';
import { hostname } from 'node:os';
import { resolve, dirname, isAbsolute } from 'node:path';
import { Ajv, type ErrorObject } from 'ajv';
import { parseDocument, LineCounter, isMap, isPair, isScalar, type Document, type Node as YamlNode } from 'yaml';
import { CONFIG_SCHEMA, destinationSchema } from './config-schema.ts';
import { parseDuration, parseSize } from './units.ts';
import { redactUrl } from '../log/redact.ts';
import type { RelayConfig, DestinationConfig, MatchConfig } from './config-types.ts';
import { findKind, kindOf, KIND_TYPES } from '../destinations/registry.ts';
import type { NormalizeContext } from '../destinations/kind.ts';

/** One thing wrong with a config file, located for the operator. */
export interface ConfigProblem {
  file: string;
  line: number | null;
  column: number | null;
  /** Key path like `destinations[2].url`, '' for the document. */
  path: string;
  message: string;
}

/** Thrown when a config cannot be used; `problems` lists every reason. */
export class ConfigError extends Error {
  readonly problems: ConfigProblem[];
  constructor(problems: ConfigProblem[]) {
    super(problems.map(formatConfigProblem).join('\n'));
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

/** `relay.yaml:12:5: destinations[2].url: "htp://x" is not an http(s) URL`. */
export function formatConfigProblem(p: ConfigProblem): string {
  const where = p.line === null ? p.file : `${p.file}:${p.line}:${p.column}`;
  return `config: ${where}: ${p.path ? p.path + ': ' : ''}${p.message}`;
}

/** Defaults for a host install (DESIGN.md "Defaults on a host"). */
export const DEFAULT_PATHS = {
  config: '/etc/bitbucket-relay/relay.yaml',
  spool: '/var/spool/bitbucket-relay',
  store: '/var/lib/bitbucket-relay/relay.db',
  socket: '/run/bitbucket-relay/relay.sock',
} as const;

/** Path of the config file to use: explicit, else $RELAY_CONFIG, else the host default. */
export function configPath(explicit: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  return explicit ?? env.RELAY_CONFIG ?? DEFAULT_PATHS.config;
}

/** Read and validate a config file; throws ConfigError with every problem found. */
export function loadConfig(file: string, env: NodeJS.ProcessEnv = process.env): RelayConfig {
  const abs = resolve(file);
  let text: string;
  try {
    text = readFileSync(abs, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const hint = code === 'ENOENT' ? 'file not found; create it from config/relay.example.yaml' : `cannot read it (${code}); check its permissions`;
    throw new ConfigError([{ file: abs, line: null, column: null, path: '', message: hint }]);
  }
  return parseConfigText(text, abs, env);
}

/** Validate config text as if read from `file` (relative paths resolve against its directory). */
export function parseConfigText(text: string, file: string, env: NodeJS.ProcessEnv = process.env): RelayConfig {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const problems: ConfigProblem[] = [];
  const at = (path: (string | number)[], message: string, keyOnly = false): void => {
    problems.push({ file, ...locate(doc, lineCounter, path, keyOnly), path: formatPath(path), message });
  };

  // One YAML mistake (an unclosed [, a tab) sets off a cascade of follow-on
  // errors: report the first alone, where it is, with a hint.
  const first = doc.errors[0];
  if (first) {
    const pos = lineCounter.linePos(first.pos[0]);
    problems.push({ file, line: pos?.line ?? null, column: pos?.col ?? null, path: '', message: yamlSyntaxMessage(first, text) });
    throw new ConfigError(problems);
  }

  const raw: unknown = doc.toJS() ?? {};
  const substituted: Substitution[] = [];
  substituteEnv(raw, [], env, at, substituted);

  const ajv = new Ajv({ allErrors: true, strict: false, verbose: true });
  const validate = ajv.compile(CONFIG_SCHEMA);
  if (!validate(raw)) reportSchemaErrors(validate.errors ?? [], [], raw, at);
  // Each destination's own keys, by the schema of its kind.
  const destinations = (raw as Raw).destinations;
  if (Array.isArray(destinations)) {
    destinations.forEach((d: unknown, i: number) => {
      const type = (d as Raw | null)?.type;
      if (typeof type !== 'string' || !findKind(type)) return;
      const check = ajv.compile(destinationSchema(type));
      if (!check(d)) reportSchemaErrors(check.errors ?? [], ['destinations', i], raw, at, type);
    });
  }
  if (problems.length) throw new ConfigError(problems);

  const config = normalize(raw as RawConfig, file, at, substituted);
  if (problems.length) throw new ConfigError(problems);
  return config;
}

/** Report Ajv errors; `prefix` locates the validated value, `type` is set when it is a destination of that kind. */
function reportSchemaErrors(errors: ErrorObject[], prefix: (string | number)[], raw: unknown, at: Report, type?: string): void {
  for (const err of dedupeErrors(errors)) {
    const path = [...prefix, ...pointerToPath(err.instancePath)];
    if (err.keyword === 'additionalProperties') {
      const key = String(err.params.additionalProperty);
      const owners = type && err.instancePath === '' ? KIND_TYPES.filter((k) => k !== type && Object.hasOwn(kindOf(k).schema.properties, key)) : [];
      if (owners.length) at([...path, key], `"${key}" does not apply to type: ${type} (it is a key of type: ${owners.join(', ')})`, true);
      else at([...path, key], `unknown key "${key}"${suggestKey(key, err)}`, true);
    } else if (err.keyword === 'required') {
      at(path, `missing required key "${err.params.missingProperty}"${type && err.instancePath === '' ? ` for type: ${type}` : ''}`);
    } else if (err.keyword === 'enum') {
      at(path, `must be one of ${(err.params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`);
    } else if (err.keyword === 'type') {
      at(path, `must be ${String(err.params.type).replace(',', ' or ')}, not ${describe(valueAt(raw, path))}`);
    } else {
      at(path, err.message ?? 'is invalid');
    }
  }
}

/** The configuration used when no file is given (demo, tests, `relay analyze`). */
export function defaultConfig(overrides: Partial<RawConfig> = {}): RelayConfig {
  const problems: ConfigProblem[] = [];
  const config = normalize(overrides as RawConfig, '<defaults>', (path, message) =>
    problems.push({ file: '<defaults>', line: null, column: null, path: formatPath(path), message }),
  );
  if (problems.length) throw new ConfigError(problems);
  return config;
}

// ---- raw shape -----------------------------------------------------------

type Raw = Record<string, any>;
/** The YAML document after env substitution and schema validation. */
export type RawConfig = Raw;
type Report = (path: (string | number)[], message: string, keyOnly?: boolean) => void;

function normalize(raw: Raw, file: string, at: Report, substituted: Substitution[] = []): RelayConfig {
  const baseDir = file.startsWith('<') ? process.cwd() : dirname(file);
  const abs = (p: string): string => (isAbsolute(p) ? p : resolve(baseDir, p));
  const dur = (path: (string | number)[], v: unknown, dflt: number): number => {
    if (v === undefined) return dflt;
    const ms = parseDuration(v as string | number);
    if (ms === null) at(path, `${JSON.stringify(v)} is not a duration; write e.g. 500ms, 30s, 10m, 2h, 7d`);
    return ms ?? dflt;
  };
  const spool = raw.spool ?? {};
  const store = raw.store ?? {};
  const storeLog = store.log ?? {};
  const bitbucket = raw.bitbucket ?? {};
  const analysis = raw.analysis ?? {};

  let maxBytes = 2 * 1024 ** 3;
  if (store.maxBytes !== undefined) {
    const b = parseSize(store.maxBytes);
    if (b === null || b < 1024 * 1024) at(['store', 'maxBytes'], `${JSON.stringify(store.maxBytes)} is not a size of at least 1MiB; write e.g. 500MiB or 2GiB`);
    else maxBytes = b;
  }
  if (bitbucket.baseUrl !== undefined && !isHttpUrl(bitbucket.baseUrl)) {
    at(['bitbucket', 'baseUrl'], `${JSON.stringify(bitbucket.baseUrl)} is not an http(s) URL`);
  }
  const api = bitbucket.api as Raw | undefined;
  if (api?.url !== undefined && !isHttpUrl(api.url)) {
    at(['bitbucket', 'api', 'url'], `${JSON.stringify(String(api.url).includes("@") ? redactUrl(String(api.url)) : api.url)} is not an http(s) URL; write Bitbucket's base URL as seen from this host, e.g. http://localhost:7990`);
  }
  if (api?.tokenFile !== undefined) {
    try {
      accessSync(abs(api.tokenFile), fsConstants.R_OK);
    } catch (err) {
      at(['bitbucket', 'api', 'tokenFile'], `${abs(api.tokenFile)}: cannot read it (${(err as NodeJS.ErrnoException).code}); put an admin's HTTP access token in it, readable by the service user only`);
    }
  }

  const destinations: DestinationConfig[] = [];
  const seen = new Map<string, number>();
  (raw.destinations ?? []).forEach((d: Raw, i: number) => {
    const path = ['destinations', i];
    const first = seen.get(d.name);
    if (first !== undefined) at([...path, 'name'], `duplicate destination name "${d.name}" (also destinations[${first}]); names must be unique`);
    seen.set(d.name, i);
    const ctx: NormalizeContext = {
      path,
      report: at,
      resolvePath: abs,
      duration: dur,
      readSecretFile: (key, f) => readSecretFile(f, key, at, abs),
      envValues: (keys) => envValuesOf(substituted, i, keys),
    };
    const base: DestinationConfig = { name: d.name, type: d.type, enabled: d.enabled ?? true, match: d.match as MatchConfig | undefined };
    const dest = kindOf(d.type).normalize(d, base, ctx);
    if (dest) destinations.push(dest);
  });

  return {
    file: file.startsWith('<') ? null : file,
    node: raw.node ?? hostname(),
    spool: {
      dir: abs(spool.dir ?? DEFAULT_PATHS.spool),
      incompleteGraceMs: dur(['spool', 'incompleteGrace'], spool.incompleteGrace, 60_000),
      allowNetworkFs: spool.allowNetworkFs ?? false,
    },
    store: {
      path: abs(store.path ?? DEFAULT_PATHS.store),
      maxBytes,
      logMaxAgeMs: dur(['store', 'log', 'maxAge'], storeLog.maxAge, 30 * 86_400_000),
      logMaxRows: storeLog.maxRows ?? 1_000_000,
      bodyMaxAgeMs: dur(['store', 'log', 'bodyMaxAge'], storeLog.bodyMaxAge, 86_400_000),
    },
    bitbucket: {
      baseUrl: bitbucket.baseUrl ? String(bitbucket.baseUrl).replace(/\/+$/, '') : null,
      home: bitbucket.home ? abs(bitbucket.home) : null,
      repositories: (bitbucket.repositories ?? []).map((r: Raw) => ({ ...r, path: abs(r.path) })),
      api: api
        ? {
            url: String(api.url ?? 'http://localhost:7990').replace(/\/+$/, ''),
            tokenFile: api.tokenFile ? abs(api.tokenFile) : null,
            timeoutMs: dur(['bitbucket', 'api', 'timeout'], api.timeout, 5_000),
          }
        : null,
    },
    analysis: {
      maxCommits: analysis.maxCommits ?? 2048,
      maxFilesPerCommit: analysis.maxFilesPerCommit ?? 3000,
      maxMessageBytes: analysis.maxMessageBytes ?? 65536,
      ignoreRefs: analysis.ignoreRefs ?? ['refs/pull-requests/**'],
      issueKeys: { projects: analysis.issueKeys?.projects ?? [], ignore: analysis.issueKeys?.ignore ?? [] },
      triggerTags: analysis.triggerTags ?? ['#ci', '#build', '#jenkins', '#jenkins:<Job>', '[skip ci]', '[ci skip]'],
      gitTimeoutMs: dur(['analysis', 'gitTimeout'], analysis.gitTimeout, 5 * 60_000),
    },
    intake: { concurrency: raw.intake?.concurrency ?? 2 },
    log: { level: raw.log?.level ?? 'info', format: raw.log?.format ?? 'auto' },
    admin: { socket: abs(raw.admin?.socket ?? DEFAULT_PATHS.socket) },
    metrics: { listen: raw.metrics?.listen ?? null },
    web: { listen: raw.web?.listen ?? null, auth: raw.web?.auth ? { type: raw.web.auth.type, file: abs(raw.web.auth.file) } : null },
    hooks: { autoInstall: raw.hooks?.autoInstall ?? false, scriptsIntervalMs: dur(['hooks', 'scriptsInterval'], raw.hooks?.scriptsInterval, 300_000) },
    reconcile: {
      enabled: raw.reconcile?.enabled ?? true,
      intervalMs: dur(['reconcile', 'interval'], raw.reconcile?.interval, 60_000),
      graceMs: dur(['reconcile', 'grace'], raw.reconcile?.grace, 30_000),
      watch: raw.reconcile?.watch ?? true,
    },
    destinations,
  };
}

/** The contents of a *File key (one trailing newline removed), or undefined when not given. */
function readSecretFile(file: string | undefined, key: (string | number)[], at: Report, abs: (p: string) => string): string | undefined {
  if (file === undefined) return undefined;
  try {
    return readFileSync(abs(file), 'utf8').replace(/\r?\n$/, '');
  } catch (err) {
    at(key, `cannot read ${abs(file)} (${(err as NodeJS.ErrnoException).code}); check the path and that the service user may read it`);
    return undefined;
  }
}

/** Values the environment put under the given keys of destination i (any of them may be a credential). */
function envValuesOf(substituted: readonly Substitution[], i: number, keys: readonly string[]): string[] {
  const values = substituted
    .filter((s) => s.path[0] === 'destinations' && s.path[1] === i && keys.includes(String(s.path[2])))
    .map((s) => s.value)
    .filter((v) => v.length >= 4);
  return [...new Set(values)];
}

// ---- ${ENV} substitution ---------------------------------------------------

const ENV_REF = /\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

/** One `${NAME}` replaced: where, and the value it put there. */
interface Substitution {
  path: (string | number)[];
  value: string;
}

/** Replace `${NAME}` in every string (in place); `$${` is a literal `${`. Records each substitution. */
function substituteEnv(node: unknown, path: (string | number)[], env: NodeJS.ProcessEnv, at: Report, out: Substitution[]): unknown {
  if (typeof node === 'string') {
    return node.replace(ENV_REF, (_whole, name: string | undefined) => {
      if (name === undefined) return '${';
      const value = env[name];
      if (value === undefined) {
        at(path, `\${${name}} is not set in the environment; set it (systemd: Environment= or EnvironmentFile=) or use a *File key`);
        return '';
      }
      out.push({ path, value });
      return value;
    });
  }
  if (Array.isArray(node)) {
    node.forEach((v, i) => (node[i] = substituteEnv(v, [...path, i], env, at, out)));
  } else if (node && typeof node === 'object') {
    const obj = node as Record<string, unknown>;
    for (const k of Object.keys(obj)) obj[k] = substituteEnv(obj[k], [...path, k], env, at, out);
  }
  return node;
}

// ---- locating problems ---------------------------------------------------

function locate(doc: Document, lc: LineCounter, path: (string | number)[], keyOnly: boolean): { line: number | null; column: number | null } {
  // Walk down as far as the document goes; report the deepest node found.
  let node: unknown = doc.contents;
  let offset: number | undefined = (doc.contents as YamlNode | null)?.range?.[0];
  for (const seg of path) {
    if (isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && p.key.value === seg);
      if (!pair) break;
      const key = pair.key as YamlNode;
      offset = key.range?.[0] ?? offset;
      if (keyOnly && seg === path[path.length - 1]) break;
      node = pair.value;
      offset = (pair.value as YamlNode | null)?.range?.[0] ?? offset;
    } else if (node && typeof node === 'object' && 'items' in node && typeof seg === 'number') {
      const item = (node as { items: unknown[] }).items[seg];
      if (!item) break;
      node = item;
      offset = (item as YamlNode).range?.[0] ?? offset;
    } else break;
  }
  if (offset === undefined) return { line: null, column: null };
  const pos = lc.linePos(offset);
  return { line: pos.line, column: pos.col };
}

function formatPath(path: (string | number)[]): string {
  return path.map((s, i) => (typeof s === 'number' ? `[${s}]` : i === 0 ? s : `.${s}`)).join('');
}

function pointerToPath(pointer: string): (string | number)[] {
  if (!pointer) return [];
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
}

function valueAt(root: unknown, path: (string | number)[]): unknown {
  let v: any = root;
  for (const s of path) v = v?.[s];
  return v;
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  return `${typeof v} ${JSON.stringify(v)}`;
}

function dedupeErrors(errors: ErrorObject[]): ErrorObject[] {
  const seen = new Set<string>();
  return errors.filter((e) => {
    const key = `${e.instancePath}|${e.keyword}|${JSON.stringify(e.params)}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function suggestKey(key: string, err: ErrorObject): string {
  const props = Object.keys(((err.parentSchema as Raw | undefined)?.properties as Raw | undefined) ?? {});
  const near = props.find((p) => p.toLowerCase() === key.toLowerCase() || editDistance(p, key) <= 2);
  return near ? ` (did you mean "${near}"?)` : props.length ? `; allowed here: ${props.join(', ')}` : '';
}

function editDistance(a: string, b: string): number {
  const dp = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) dp[0][j] = j;
  for (let i = 1; i <= a.length; i++)
    for (let j = 1; j <= b.length; j++)
      dp[i][j] = Math.min(dp[i - 1][j] + 1, dp[i][j - 1] + 1, dp[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
  return dp[a.length][b.length];
}

function isHttpUrl(text: string): boolean {
  try {
    const u = new URL(text);
    return (u.protocol === 'http:' || u.protocol === 'https:') && u.hostname !== '';
  } catch {
    return false;
  }
}

/** The first YAML syntax error as one printable line, with what usually fixes it. */
function yamlSyntaxMessage(e: { code: string; message: string; pos: [number, number] }, text: string): string {
  // The parser's message may quote the source: keep it on one line, control characters visible.
  const first = e.message.split('\n')[0].replace(/[\x00-\x08\x0b-\x1f\x7f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`).replace(/\t/g, '\\t');
  const lineStart = text.lastIndexOf('\n', e.pos[0] - 1) + 1;
  const lineText = text.slice(lineStart, text.indexOf('\n', lineStart) === -1 ? undefined : text.indexOf('\n', lineStart));
  let hint = 'fix this first: the errors after it usually follow from it';
  if (/^\s*\t|\t/.test(lineText.slice(0, Math.max(0, e.pos[0] - lineStart) + 1)) || e.code === 'TAB_AS_INDENT') hint = 'YAML indents with spaces, not tabs: replace the tab';
  else if (/MISSING_CHAR|UNEXPECTED_TOKEN|BAD_INDENT/.test(e.code) && /[[{]/.test(text.slice(0, e.pos[0])) && /flow|\]|\}/.test(e.message)) hint = 'a [ or { is not closed (or a , is missing); check the brackets above';
  else if (e.code === 'BAD_INDENT') hint = 'check the indentation: keys of one mapping line up, and a list item\'s keys are indented under its "-"';
  else if (e.code === 'DUPLICATE_KEY') hint = 'a key appears twice in one mapping; keep one';
  return `YAML syntax: ${first} (${hint})`;
}
