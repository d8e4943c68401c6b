// The destination-kind seam: every registered kind is complete, and no file
// outside src/destinations/ reaches into a kind's folder — so adding a kind
// is one folder plus one registry line (docs/design-notes.md).

import t from 'tap';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KIND_TYPES, kindOf, isQueuedType, destinationWarnings } from '../../src/destinations/registry.ts';
import { parseConfigText } from '../../src/config/load-config.ts';

const SRC = fileURLToPath(new URL('../../src', import.meta.url));

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}

t.test('every registered kind provides the whole interface', async (t) => {
  t.ok(KIND_TYPES.includes('http') && KIND_TYPES.includes('file') && KIND_TYPES.includes('log'));
  for (const type of KIND_TYPES) {
    const k = kindOf(type);
    t.equal(k.type, type, `${type}: keyed by its own type`);
    for (const fn of ['normalize', 'describeTarget', 'secrets', 'redactConfig', 'warnings', 'check'] as const) t.type(k[fn], 'function', `${type}.${fn}`);
    if (k.delivery === 'queued') for (const fn of ['createSender', 'describeRequest', 'maxAttemptMs'] as const) t.type(k[fn], 'function', `${type}.${fn}`);
    else t.type(k.open, 'function', `${type}.open`);
    t.equal(isQueuedType(type), k.delivery === 'queued');
  }
  t.throws(() => kindOf('smtp'), /unknown destination type "smtp"; known: /);
});

t.test('nothing outside src/destinations/ imports a kind folder (only the registry and the shared modules)', async (t) => {
  const kindFolders = KIND_TYPES.map((k) => `destinations/${k}/`);
  const offenders: string[] = [];
  for (const file of files(SRC)) {
    const rel = relative(SRC, file);
    if (rel.startsWith('destinations/')) continue;
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/from '([^']+)'/g)) if (kindFolders.some((k) => m[1].includes(k))) offenders.push(`${rel} imports ${m[1]}`);
  }
  t.same(offenders, [], 'generic code talks to kinds only through src/destinations/registry.ts and kind.ts');
});

t.test('the kind owns its keys and messages; warnings come from the kind', async (t) => {
  const bad = (yaml: string): string[] => {
    try {
      parseConfigText(yaml, '/etc/relay.yaml', {});
      return [];
    } catch (err) {
      return String((err as Error).message).split('\n');
    }
  };
  t.match(bad('destinations:\n  - { name: a, type: file, path: x.jsonl, url: "https://x" }'), [/relay\.yaml:2:\d+: destinations\[0\]\.url: "url" does not apply to type: file \(it is a key of type: http, amqp\)/]);
  t.match(bad('destinations:\n  - { name: a, type: file }'), [/destinations\[0\]: missing required key "path" for type: file/]);
  t.match(bad('destinations:\n  - { name: a, type: smtp }'), [/destinations\[0\]\.type: must be one of "http", "file", "log"/]);
  const c = parseConfigText('destinations:\n  - { name: a, type: http, url: "https://x.example/h", tls: { verify: false } }\n  - { name: b, type: log }', '/etc/relay.yaml', {});
  t.match(destinationWarnings(c), [{ destination: 'a', target: 'https://x.example/h', message: /TLS verification is OFF/ }], 'one TLS-off warning, from the http kind');
});
