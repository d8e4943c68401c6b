// `relay config check [FILE] [--json]`: validate a config the way the daemon
// will (same loader: file:line:column for every problem, all at once), plus
// what only shows up at run time — PEM files that are not certificates or
// keys, a client key that does not match its certificate, a metrics.listen
// that is not host:port. Prints the effective config with secrets redacted.
// Exit 0 valid, 3 invalid.

import { readFileSync } from 'node:fs';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { resolve } from 'node:path';
import { LineCounter, isMap, isPair, isScalar, isSeq, parseDocument, stringify, type Node as YamlNode } from 'yaml';
import type { RelayConfig, TlsConfig } from '../config/config-types.ts';
import { ConfigError, configPath, formatConfigProblem, loadConfig, type ConfigProblem } from '../config/load-config.ts';
import { parseListen } from '../admin/metrics-server.ts';
import { webConfigProblem } from '../web/web-service.ts';
import { isQueued, redactedConfig } from '../destinations/registry.ts';
import { parseCommand } from './args.ts';
import { EXIT, type CliIo } from './cli-io.ts';

const HELP = `usage: relay config check [FILE] [--json] [--quiet]

Validates the config (default: --config, $RELAY_CONFIG, else
/etc/bitbucket-relay/relay.yaml) exactly as the daemon loads it: unknown keys,
wrong types, unresolved \${ENV}, unreadable secret / CA / key files, duplicate
destination names — each with file:line:column — plus PEM contents and
metrics.listen. Prints the effective config with secrets as ***.
  --json    {"valid", "file", "problems": [{file,line,column,path,message}], "config"}
  --quiet   print only problems
Exit status: 0 valid, 3 invalid.`;

/** Where `path` (e.g. ['destinations', 2, 'tls', 'ca']) sits in YAML `text`: 1-based line and column of its value, or null. */
export function locateYamlPath(text: string, path: (string | number)[]): { line: number; column: number } | null {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc });
  let node: unknown = doc.contents;
  let offset: number | undefined;
  for (const seg of path) {
    if (isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && p.key.value === seg);
      if (!pair) return null;
      offset = (pair.value as YamlNode | null)?.range?.[0] ?? (pair.key as YamlNode).range?.[0];
      node = pair.value;
    } else if (isSeq(node) && typeof seg === 'number') {
      const item = node.items[seg] as YamlNode | undefined;
      if (!item) return null;
      offset = item.range?.[0];
      node = item;
    } else return null;
  }
  if (offset === undefined) return null;
  const pos = lc.linePos(offset);
  return { line: pos.line, column: pos.col };
}

/** Problems the loader cannot see: PEM contents, key/certificate pairs, metrics.listen. */
export function runtimeProblems(config: RelayConfig, text: string, file: string): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const at = (path: (string | number)[], message: string): void => {
    const pos = locateYamlPath(text, path);
    const p = path.map((s, i) => (typeof s === 'number' ? `[${s}]` : i === 0 ? s : `.${s}`)).join('');
    problems.push({ file, line: pos?.line ?? null, column: pos?.column ?? null, path: p, message });
  };
  if (config.metrics.listen !== null && !parseListen(config.metrics.listen)) {
    at(['metrics', 'listen'], `${JSON.stringify(config.metrics.listen)} is not host:port; write e.g. 127.0.0.1:9464`);
  }
  const web = webConfigProblem(config);
  if (web) at(['web', 'listen'], web.replace(/^web\.listen /, ''));
  config.destinations.forEach((d, i) => {
    // Any kind with a `tls:` block (src/destinations/tls-config.ts).
    const tls = (d as { tls?: TlsConfig }).tls;
    if (!tls) return;
    const read = (f: string): string | null => {
      try {
        return readFileSync(f, 'utf8');
      } catch {
        return null; // the loader already reported it
      }
    };
    let cert: X509Certificate | null = null;
    if (tls.ca) {
      const pem = read(tls.ca);
      const blocks = pem?.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
      if (pem !== null && blocks.length === 0) at(['destinations', i, 'tls', 'ca'], `${tls.ca} holds no PEM certificate (-----BEGIN CERTIFICATE-----); give the CA bundle in PEM form`);
      for (const b of blocks) {
        try {
          const c = new X509Certificate(b);
          if (Date.parse(c.validTo) < Date.now()) at(['destinations', i, 'tls', 'ca'], `a certificate in ${tls.ca} (${c.subject.replace(/\n/g, ', ')}) expired on ${c.validTo}`);
        } catch (err) {
          at(['destinations', i, 'tls', 'ca'], `${tls.ca} holds a certificate that cannot be parsed (${(err as Error).message})`);
        }
      }
    }
    if (tls.cert) {
      const pem = read(tls.cert);
      if (pem !== null) {
        try {
          cert = new X509Certificate(pem);
        } catch (err) {
          at(['destinations', i, 'tls', 'cert'], `${tls.cert} is not a PEM certificate (${(err as Error).message})`);
        }
      }
    }
    if (tls.key) {
      const pem = read(tls.key);
      if (pem !== null) {
        try {
          const key = createPrivateKey(pem);
          if (cert && !cert.checkPrivateKey(key)) at(['destinations', i, 'tls', 'key'], `${tls.key} is not the key of the certificate in ${tls.cert}`);
        } catch (err) {
          at(['destinations', i, 'tls', 'key'], `${tls.key} is not a readable private key (${(err as Error).message.replace(/^error:\S+:/, '')}); it must be PEM and unencrypted`);
        }
      }
    }
  });
  return problems;
}

/** Load and check `file`; the config when valid, and every problem found. */
export function checkConfigFile(file: string, env: NodeJS.ProcessEnv): { config: RelayConfig | null; problems: ConfigProblem[]; refused: boolean } {
  let config: RelayConfig;
  try {
    config = loadConfig(file, env);
  } catch (err) {
    if (err instanceof ConfigError) return { config: null, problems: err.problems, refused: true };
    throw err;
  }
  let text = '';
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    /* just loaded; a race is not worth a message */
  }
  const problems = runtimeProblems(config, text, resolve(file));
  return { config: problems.length ? null : config, problems, refused: false };
}

/** Run `relay config`. */
export async function run(args: string[], io: CliIo): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === undefined || sub === '--help' || sub === '-h') {
    io.stdout.write(HELP + '\n');
    return sub === undefined ? EXIT.usage : EXIT.ok;
  }
  if (sub !== 'check') {
    io.stderr.write(`relay config: unknown subcommand "${sub}"; use \`relay config check [FILE]\`\n`);
    return EXIT.usage;
  }
  const parsed = parseCommand('config check', rest, { json: { type: 'boolean' }, quiet: { type: 'boolean', short: 'q' } }, HELP, io, { max: 1 });
  if (!parsed.ok) return parsed.status;
  const v = parsed.values;
  const file = resolve(parsed.positionals[0] ?? configPath(v.config, io.env));
  const { config, problems, refused } = checkConfigFile(file, io.env);
  if (v.json) {
    io.stdout.write(JSON.stringify({ valid: problems.length === 0, file, problems, config: config ? redactedConfig(config) : null }, null, 2) + '\n');
    return problems.length ? EXIT.config : EXIT.ok;
  }
  if (problems.length) {
    io.stderr.write(problems.map(formatConfigProblem).join('\n') + '\n');
    const effect = refused
      ? 'the daemon refuses it (a running daemon keeps its old config on reload)'
      : 'the daemon would start with it, but what is named above would not work';
    io.stderr.write(`relay config check: ${file} has ${problems.length} problem${problems.length === 1 ? '' : 's'}; ${effect}\n`);
    return EXIT.config;
  }
  const c = config!;
  io.stdout.write(`config OK: ${file}\n`);
  io.stdout.write(`  ${c.destinations.length} destination${c.destinations.length === 1 ? '' : 's'}: ${c.destinations.map((d) => `${d.name} (${d.type}${isQueued(d) ? `, ${d.format}` : ''}${d.enabled ? '' : ', disabled'})`).join(', ') || 'none'}\n`);
  if (!v.quiet) io.stdout.write(`\n# effective config (defaults applied, durations in ms, sizes in bytes, secrets as ***)\n${stringify(redactedConfig(c))}`);
  return EXIT.ok;
}
