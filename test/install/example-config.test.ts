// config/relay.example.yaml must load with the real loader and show every key
// the schema knows (so a new key without an example fails here).
import t from 'tap';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { loadConfig } from '../../src/config/load-config.ts';
import { CONFIG_SCHEMA, destinationSchema } from '../../src/config/config-schema.ts';
import { KIND_TYPES } from '../../src/destinations/registry.ts';
import type { HttpDestination } from '../../src/destinations/http/config.ts';

const example = new URL('../../config/relay.example.yaml', import.meta.url);
const dir = mkdtempSync(join(tmpdir(), 'relay-example-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

// The files the example's relative *File / tls keys name, beside the copy.
function stageExample(): string {
  const file = join(dir, 'relay.yaml');
  copyFileSync(example, file);
  mkdirSync(join(dir, 'secrets'), { recursive: true });
  mkdirSync(join(dir, 'tls'), { recursive: true });
  writeFileSync(join(dir, 'secrets/issue-tracker.secret'), 'tracker-secret\n');
  writeFileSync(join(dir, 'secrets/jenkins.token'), 'jenkins-token\n');
  writeFileSync(join(dir, 'secrets/bitbucket-api.token'), 'bitbucket-token\n');
  writeFileSync(join(dir, 'secrets/event-bus.password'), 'bus-password\n');
  for (const f of ['internal-ca.pem', 'relay-client.pem', 'relay-client.key']) writeFileSync(join(dir, 'tls', f), 'x\n');
  // The broker destinations' credentials (the nkey seed is a real, throwaway user seed: its form is checked).
  writeFileSync(join(dir, 'secrets/nats.password'), 'nats-password\n');
  writeFileSync(join(dir, 'secrets/nats.token'), 'nats-token\n');
  writeFileSync(join(dir, 'secrets/relay.nk'), 'SUAB5Q5HQRUNN36LPCH2UNDG2C3CGOXZE5UEBIE7ININ4V3CUBKCPYYNGA\n');
  writeFileSync(join(dir, 'secrets/relay.creds'), 'creds\n');
  writeFileSync(join(dir, 'secrets/rabbit.password'), 'rabbit-password\n');
  return file;
}

const env = { RELAY_JENKINS_SECRET: 's1', RELAY_PORTAL_TOKEN: 't1', RELAY_LEGACY_CI_PASSWORD: 'p1', RELAY_NATS_TOKEN: 'n1' };

t.test('the example loads with loadConfig and means what its comments say', async (t) => {
  const config = loadConfig(stageExample(), env);
  t.equal(config.node, 'bitbucket-node-1');
  t.equal(config.spool.dir, '/var/spool/bitbucket-relay');
  t.equal(config.spool.incompleteGraceMs, 60_000);
  t.equal(config.store.maxBytes, 2 * 1024 ** 3);
  t.equal(config.store.logMaxAgeMs, 30 * 86_400_000);
  t.equal(config.bitbucket.home, '/var/atlassian/application-data/bitbucket');
  t.equal(config.hooks.autoInstall, true);
  t.equal(config.hooks.scriptsIntervalMs, 300_000);
  t.same(config.reconcile, { enabled: true, intervalMs: 60_000, graceMs: 30_000, watch: true });
  t.same(config.bitbucket.api, { url: 'http://localhost:7990', tokenFile: join(dir, 'secrets/bitbucket-api.token'), timeoutMs: 5000 });
  t.equal(config.destinations.length, 13);
  const byName = Object.fromEntries(config.destinations.map((d) => [d.name, d as HttpDestination]));
  const tracker = byName['issue-tracker'];
  t.ok(tracker.type === 'http' && tracker.secret === 'tracker-secret', 'secretFile read relative to the config file');
  const jenkins = byName.jenkins;
  t.ok(jenkins.type === 'http' && jenkins.secret === 's1' && jenkins.auth?.bearer === 'jenkins-token', '${ENV} and bearerFile resolved');
  const bus = byName['event-bus'];
  t.ok(bus.type === 'http' && bus.tls.ca === join(dir, 'tls/internal-ca.pem') && bus.retry.horizonMs === 7 * 86_400_000);
  t.equal(byName['legacy-ci'].enabled, false);
  t.equal(byName.archive.type, 'file');
  const nats = byName.bus as unknown as { stream: { duplicateWindowMs: number }; auth: { password: string } };
  t.ok(nats.stream.duplicateWindowMs === 120_000 && nats.auth.password === 'nats-password', 'nats: stream settings and passwordFile');
  t.equal((byName.rabbit as unknown as { auth: { password: string } }).auth.password, 'rabbit-password');
});

/** Every key path the schema allows, arrays written as `[]`. */
function schemaPaths(schema: any, prefix = ''): string[] {
  const out: string[] = [];
  if (schema.type === 'array' && schema.items) return schemaPaths(schema.items, `${prefix}[]`);
  for (const [key, sub] of Object.entries<any>(schema.properties ?? {})) {
    const path = prefix ? `${prefix}.${key}` : key;
    out.push(path, ...schemaPaths(sub, path));
  }
  return out;
}

/** Every key path present in a parsed YAML value. */
function documentPaths(value: unknown, prefix = ''): Set<string> {
  const out = new Set<string>();
  if (Array.isArray(value)) {
    for (const item of value) for (const p of documentPaths(item, `${prefix}[]`)) out.add(p);
  } else if (value && typeof value === 'object') {
    for (const [key, sub] of Object.entries(value)) {
      const path = prefix ? `${prefix}.${key}` : key;
      out.add(path);
      for (const p of documentPaths(sub, path)) out.add(p);
    }
  }
  return out;
}

/** Keys shown commented out: `web.auth` with a file that does not exist would stop the pages on a fresh install. */
const COMMENTED_OUT = ['web.auth'];

t.test('the example shows every key of the schema', async (t) => {
  const present = documentPaths(parse(readFileSync(example, 'utf8')));
  // Every kind's own keys too (each kind brings its schema).
  const kindPaths = KIND_TYPES.flatMap((type) => schemaPaths(destinationSchema(type), 'destinations[]'));
  const expected = [...new Set([...schemaPaths(CONFIG_SCHEMA), ...kindPaths])].filter((p) => !p.startsWith('destinations[].headers.'));
  // Keys that change behaviour when merely present stand commented out; they
  // count when the example shows them as a commented-out block.
  const text = readFileSync(example, 'utf8');
  const commented = (p: string) => new RegExp(`^\\s*#\\s*${p.split('.').pop()}:`, 'm').test(text) && COMMENTED_OUT.some((c) => p === c || p.startsWith(`${c}.`));
  const missing = expected.filter((p) => !present.has(p) && !commented(p));
  t.same(missing, [], 'keys without an example in config/relay.example.yaml');
  t.ok(expected.length > 60, `schema walked (${expected.length} keys)`);
});
