import t from 'tap';
import { mkdtempSync, writeFileSync, rmSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfigText, loadConfig, defaultConfig, ConfigError, type ConfigProblem } from '../../src/config/load-config.ts';
import { parseDuration, parseSize } from '../../src/config/units.ts';
import { redactUrl } from '../../src/log/redact.ts';
import { redactedConfig, configSecrets } from '../../src/destinations/registry.ts';
import type { HttpDestination } from '../../src/destinations/http/config.ts';

const dir = mkdtempSync(join(tmpdir(), 'relay-config-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

function problemsOf(text: string, env: NodeJS.ProcessEnv = {}): ConfigProblem[] {
  try {
    parseConfigText(text, join(dir, 'relay.yaml'), env);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}

t.test('defaults match the host layout in DESIGN.md', async (t) => {
  const c = defaultConfig();
  t.equal(c.spool.dir, '/var/spool/bitbucket-relay');
  t.equal(c.store.path, '/var/lib/bitbucket-relay/relay.db');
  t.equal(c.admin.socket, '/run/bitbucket-relay/relay.sock');
  t.equal(c.store.maxBytes, 2 * 1024 ** 3);
  t.same(c.analysis.ignoreRefs, ['refs/pull-requests/**']);
  t.equal(c.analysis.maxCommits, 2048);
  t.same(c.destinations, []);
});

t.test('the contract keys of issues 2 and 3 load and normalize', async (t) => {
  const c = parseConfigText(
    `spool: { dir: /var/spool/bitbucket-relay }
bitbucket: { baseUrl: https://bitbucket.example.com/ }
store: { path: /var/lib/bitbucket-relay/relay.db, maxBytes: 2GiB }
destinations:
  - { name: archive, type: file, path: /var/lib/bitbucket-relay/events.jsonl }
  - { name: journal, type: log }
  - name: ci
    type: http
    url: https://ci.example.com/hook
    format: cloudevents
    secret: \${CI_SECRET}
    proxy: http://proxy.corp:3128
    tls: { ca: ${join(dir, 'ca.pem')} }
    retry: { baseDelay: 1s, maxDelay: 10m, horizon: 7d }
`.replace('tls: { ca: ', (writeFileSync(join(dir, 'ca.pem'), 'x'), 'tls: { ca: ')),
    join(dir, 'relay.yaml'),
    { CI_SECRET: 's3cret-value' },
  );
  t.equal(c.bitbucket.baseUrl, 'https://bitbucket.example.com', 'trailing slash trimmed');
  t.equal(c.destinations.length, 3);
  const ci = c.destinations[2] as HttpDestination;
  t.equal(ci.type, 'http');
  if (ci.type !== 'http') return;
  t.equal(ci.secret, 's3cret-value');
  t.same(ci.retry, { baseDelayMs: 1000, maxDelayMs: 600_000, horizonMs: 7 * 86_400_000 });
  t.equal(ci.tls.verify, true, 'TLS verification is on by default');
  t.equal(ci.followRedirects, false);
  t.same(configSecrets(c), ['s3cret-value']);
  const printed = JSON.stringify(redactedConfig(c));
  t.notMatch(printed, /s3cret-value/, 'secret never printed');
});

t.test('every problem names file:line:column and key path', async (t) => {
  const text = [
    'spool: { dir: /tmp/sp }', // 1
    'destinations:', // 2
    '  - name: ci', // 3
    '    type: http', // 4
    '    url: htp://x', // 5
    '    secret: ${MISSING_SECRET}', // 6
    '    proxyy: http://p:3128', // 7
    '    retry: { maxDelay: 10x }', // 8
    '  - { name: ci, type: log }', // 9
  ].join('\n');
  // Schema problems are reported first, all at once.
  const first = problemsOf(text);
  const msgs = first.map((p) => `${p.line}:${p.column} ${p.path}: ${p.message}`);
  t.match(msgs.join('\n'), /6:13 destinations\[0\]\.secret: \$\{MISSING_SECRET\} is not set/);
  t.match(msgs.join('\n'), /7:5 destinations\[0\]\.proxyy: unknown key "proxyy" \(did you mean "proxy"\?\)/);
  t.ok(first.every((p) => p.file.endsWith('relay.yaml')));

  // With the schema satisfied, semantic checks speak.
  const second = problemsOf(text.replace('    proxyy: http://p:3128\n', ''), { MISSING_SECRET: 'x' });
  const text2 = second.map((p) => `${p.line}:${p.column} ${p.path}: ${p.message}`).join('\n');
  t.match(text2, /5:10 destinations\[0\]\.url: "htp:\/\/x" is not an http\(s\) URL/);
  t.match(text2, /7:24 destinations\[0\]\.retry\.maxDelay: "10x" is not a duration/);
  t.match(text2, /8:\d+ destinations\[1\]\.name: duplicate destination name "ci"/);
});

t.test('wrong types, enums, YAML syntax, missing keys', async (t) => {
  t.match(problemsOf('intake: { concurrency: "many" }')[0], { path: 'intake.concurrency', line: 1, message: /must be integer, not string "many"/ });
  t.match(problemsOf('log: { level: loud }')[0], { path: 'log.level', message: /must be one of "error", "warn", "info", "debug"/ });
  t.match(problemsOf('spool: [\n')[0], { message: /^YAML syntax:/, line: 2 });
  t.match(problemsOf('destinations:\n  - { name: a, type: http }')[0], { path: 'destinations[0]', message: /missing required key "url"/ });
  t.match(problemsOf('destinations:\n  - { type: log }')[0], { path: 'destinations[0]', message: /missing required key "name"/ });
  t.match(problemsOf('destinations:\n  - { name: a, type: log, url: "http://x" }')[0], { path: 'destinations[0].url', message: /does not apply to type: log/ });
  t.match(problemsOf('a: 1\na: 2')[0], { message: /YAML syntax: .*unique.*a key appears twice/i });
});

t.test('unreadable files and secretFile', async (t) => {
  const secretFile = join(dir, 'secret.txt');
  writeFileSync(secretFile, 'from-file\n');
  const c = parseConfigText(`destinations:\n  - { name: a, type: http, url: "https://x.example/h", secretFile: ${secretFile} }`, join(dir, 'r.yaml'), {});
  t.equal(c.destinations[0].type === 'http' && (c.destinations[0] as HttpDestination).secret, 'from-file', 'trailing newline trimmed');
  const p = problemsOf(`destinations:\n  - name: a\n    type: http\n    url: "https://x.example/h"\n    tls: { ca: /nonexistent/ca.pem }`);
  t.match(p[0], { path: 'destinations[0].tls.ca', line: 5, message: /cannot read \/nonexistent\/ca.pem \(ENOENT\)/ });
  if (process.getuid?.() !== 0) {
    chmodSync(secretFile, 0o000);
    t.match(problemsOf(`destinations:\n  - { name: a, type: http, url: "https://x.example/h", secretFile: ${secretFile} }`)[0], { message: /EACCES/ });
  }
});

t.test('loadConfig on a missing file says what to do', async (t) => {
  t.throws(() => loadConfig(join(dir, 'nope.yaml')), { message: /file not found; create it from config\/relay.example.yaml/ });
});

t.test('units', async (t) => {
  t.equal(parseDuration('250ms'), 250);
  t.equal(parseDuration('1.5s'), 1500);
  t.equal(parseDuration('7d'), 604_800_000);
  t.equal(parseDuration('10'), null);
  t.equal(parseDuration(5), 5);
  t.equal(parseSize('2GiB'), 2 * 1024 ** 3);
  t.equal(parseSize('500MB'), 500_000_000);
  t.equal(parseSize('12 parsecs'), null);
});

t.test('redactUrl removes credentials and tokens', async (t) => {
  t.equal(redactUrl('https://user:pw@host.example/p?token=abc&x=1'), 'https://***:***@host.example/p?token=***&x=1');
  t.equal(redactUrl('https://cds.example/hook/{projectKey}/{repoSlug}'), 'https://cds.example/hook/{projectKey}/{repoSlug}');
});

t.test('values ${ENV} puts into a URL path, proxy or header are secrets: masked wherever printed', async (t) => {
  const c = parseConfigText(
    'destinations:\n  - name: port\n    type: http\n    url: https://ingest.example.io/${PORT_KEY}/hook\n    headers: { X-Api-Route: "r-${ROUTE}" }\n    proxy: http://proxy.corp:3128',
    join(dir, 'r.yaml'),
    { PORT_KEY: 'pk-0123456789', ROUTE: 'route-secret' },
  );
  const d = c.destinations[0] as HttpDestination;
  t.equal(d.type === 'http' && d.url, 'https://ingest.example.io/pk-0123456789/hook', 'the real URL is used for sending');
  t.ok(configSecrets(c).includes('pk-0123456789'));
  t.ok(configSecrets(c).includes('route-secret'));
  const printed = JSON.stringify(redactedConfig(c));
  t.notMatch(printed, /pk-0123456789|route-secret/, 'never printed');
  t.match(printed, /https:\/\/ingest\.example\.io\/\*\*\*\/hook/);
});

t.test('destination events: the format\'s own event names, checked, with a line to fix', async (t) => {
  const cfg = parseConfigText('destinations:\n  - { name: a, type: http, url: "https://x.example", format: github, events: [push, pull_request] }', join(dir, 'relay.yaml'), {});
  t.same((cfg.destinations[0] as { events?: string[] }).events, ['push', 'pull_request']);
  const defaults = parseConfigText('destinations:\n  - { name: a, type: http, url: "https://x.example", format: bitbucket-server }', join(dir, 'relay.yaml'), {});
  t.equal((defaults.destinations[0] as { events?: string[] }).events, undefined, 'absent: the format\'s defaults apply');
  const [problem] = problemsOf('destinations:\n  - name: a\n    type: http\n    url: "https://x.example"\n    format: bitbucket-server\n    events: [repo:refs_changed, pull_request]');
  t.match(problem, { path: 'destinations[0].events[1]', line: 6, message: '"pull_request" is not an event of format bitbucket-server; use repo:refs_changed, pr:merged' });
  t.match(problemsOf('destinations:\n  - { name: a, type: http, url: "https://x.example", events: [] }')[0], { path: 'destinations[0].events' }, 'an empty list says nothing would be sent');
});

t.test('config mistakes an admin made in a trial run (issue 15 item 6)', async (t) => {
  // An unknown URL placeholder would be sent literally as %7Bprojectkey%7D.
  const typo = problemsOf('destinations:\n  - { name: ci, type: http, url: "https://ci.example/{projectkey}/{repoSlug}", format: github }');
  t.equal(typo.length, 1);
  t.match(typo[0], { path: 'destinations[0].url', line: 2, message: '{projectkey} is not a placeholder (it would be sent literally, as %7Bprojectkey%7D); did you mean {projectKey}?' });
  t.match(problemsOf('destinations:\n  - { name: ci, type: http, url: "https://ci.example/{foo}" }')[0], { message: /\{foo\} is not a placeholder .*use \{projectKey\}, \{repoSlug\}, \{repoId\}/ });
  // One YAML mistake: one problem, where it is, printable, with a hint.
  const unclosed = problemsOf('spool: { dir: /tmp/x }\ndestinations:\n  - { name: ci, type: http, url: "https://x/h", events: [push, merge }\n  - { name: b, type: log }\n  - { name: c, type: log }\n');
  t.equal(unclosed.length, 1, `one problem, not a cascade: ${unclosed.map((p) => p.message).join(' | ')}`);
  t.match(unclosed[0], { line: 3, message: /^YAML syntax: .*\(a \[ or \{ is not closed/ });
  const tab = problemsOf('spool:\n\tdir: /tmp/x\ndestinations:\n  - name: ci\n    type: log\n');
  t.equal(tab.length, 1);
  t.match(tab[0], { line: 2, column: 1, message: /YAML indents with spaces, not tabs/ });
  for (const p of [...unclosed, ...tab]) t.notMatch(p.message, /[\x00-\x08\x0b-\x1f\x7f]/, 'no control characters');
});
