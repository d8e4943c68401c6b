// config/examples/*.yaml: each is a complete relay.yaml the config loader
// accepts (secrets from the environment), with the destination its
// consumer's documentation calls for.

import t from 'tap';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { loadConfig, ConfigError } from '../../src/config/load-config.ts';
import type { HttpDestination } from '../../src/destinations/http/config.ts';
import { resolveDestinationUrl } from '../../src/route/destination-url.ts';
import { routeEvent } from '../../src/route/match-event.ts';
import { renderRequests } from '../../src/formats/index.ts';
import { fixtureEvent } from '../fixtures/events/index.ts';

const DIR = fileURLToPath(new URL('../../config/examples/', import.meta.url));
// A readable token file for examples that configure bitbucket.api (the loader checks it).
const tokenDir = mkdtempSync(join(tmpdir(), 'relay-examples-'));
t.teardown(() => rmSync(tokenDir, { recursive: true, force: true }));
writeFileSync(join(tokenDir, 'bitbucket-api.token'), 'example-token\n', { mode: 0o600 });

const ENV = {
  BITBUCKET_API_TOKEN_FILE: join(tokenDir, 'bitbucket-api.token'),
  ZYMMR_WEBHOOK_SECRET: 'zymmr-secret-1',
  PORT_WEBHOOK_KEY: 'port-key-1',
  PORT_WEBHOOK_SECRET: 'port-secret-1',
  BUTTERSTACK_WEBHOOK_TOKEN: 'bs-token-1',
  SENTRY_ORG_ID: '1717',
  SENTRY_INTEGRATION_ID: '4242',
  SENTRY_WEBHOOK_SECRET: 'sentry-secret-1',
  CDS_PROXY_USER: 'proxyuser1',
  CDS_PROXY_PASSWORD: 'proxy-pw-1',
  CDS_WEBHOOK_SECRET: 'cds-secret-1',
  JENKINS_WEBHOOK_TOKEN: 'jenkins-token-1',
  JENKINS_WEBHOOK_SECRET: 'jenkins-secret-1',
};

/** What each consumer's example must configure (destinations in file order). */
type Expected = { name?: string; format: HttpDestination['format']; url: string; secret?: string; match?: object; proxy?: string; formatOptions?: object; events?: string[] };
const EXPECTED: Record<string, Expected | Expected[]> = {
  zymmr: {
    format: 'bitbucket-server',
    url: 'https://zymmr.example.com/api/method/everest.integration.api.process_webhook',
    secret: 'zymmr-secret-1',
    match: { changes: ['create', 'update'], requireIssueKey: true },
    formatOptions: { commitLimit: 2048 },
  },
  port: { format: 'bitbucket-server', url: 'https://ingest.getport.io/port-key-1', secret: 'port-secret-1', events: ['repo:refs_changed', 'pr:merged'] },
  butterstack: {
    format: 'bitbucket-cloud',
    url: 'https://app.butterstack.com/webhooks/github?token=bs-token-1',
    match: { refs: ['refs/heads/**', 'refs/tags/**'] },
  },
  sentry: {
    format: 'bitbucket-server',
    url: 'https://sentry.example.com/extensions/bitbucket-server/organizations/1717/webhook/4242/',
    secret: 'sentry-secret-1',
    match: { refs: ['refs/heads/**'], changes: ['create', 'update'] },
    formatOptions: { extended: true },
  },
  cds: {
    format: 'bitbucket-server',
    url: 'https://cds-hooks.example.com/bitbucket/{projectKey}/{repoSlug}',
    secret: 'cds-secret-1',
    proxy: 'http://proxyuser1:proxy-pw-1@proxy.example.com:3128',
    match: { refs: ['refs/heads/**', 'refs/tags/**'], changes: ['create', 'update', 'delete'] },
  },
  jenkins: [
    {
      name: 'jenkins-branch-source',
      format: 'bitbucket-server',
      url: 'https://jenkins.example.com/bitbucket-scmsource-hook/notify?server_url=https%3A%2F%2Fbitbucket.example.com',
      secret: 'jenkins-secret-1',
      match: { refs: ['refs/heads/**', 'refs/tags/**'] },
    },
    {
      name: 'jenkins-push-and-pull-request',
      format: 'bitbucket-server',
      url: 'https://jenkins.example.com/bitbucket-hook/',
      events: ['repo:refs_changed', 'pr:merged'],
      match: { refs: ['refs/heads/**', 'refs/tags/**'], changes: ['create', 'update'], triggers: ['push', 'pull-request-merge', 'file-edit', 'branch-create', 'tag-create'] },
    },
  ],
};

const files = readdirSync(DIR).filter((f) => f.endsWith('.yaml')).sort();

t.test('one example per consumer', async (t) => {
  t.same(files, Object.keys(EXPECTED).map((n) => `${n}.yaml`).sort());
});

for (const file of files) {
  const name = file.replace(/\.yaml$/, '');
  t.test(file, async (t) => {
    const text = readFileSync(join(DIR, file), 'utf8');
    for (const [k, value] of Object.entries(ENV)) t.notOk(text.includes(value), `${k}'s value is not written into the file`);
    const config = loadConfig(join(DIR, file), ENV);
    const http = config.destinations.filter((d): d is HttpDestination => d.type === 'http');
    const wanted = ([] as Expected[]).concat(EXPECTED[name]);
    t.equal(http.length, wanted.length, `${wanted.length} http destination(s)`);
    http.forEach((d, i) => {
      const want = wanted[i];
      if (!want) return;
      t.equal(d.name, want.name ?? name);
      t.equal(d.format, want.format);
      t.equal(d.url, want.url);
      t.equal(d.secret, want.secret);
      t.same(d.match, want.match);
      t.equal(d.proxy, want.proxy);
      t.same(d.formatOptions, want.formatOptions ?? {});
      t.same(d.events, want.events);
      t.ok(d.enabled);
      // The destination works end to end on a fixture push.
      const event = routeEvent(fixtureEvent('multi-ref'), d.match);
      t.ok(event, 'the multi-ref push matches');
      t.ok(renderRequests(event!, d, 'seed').length > 0, 'renders requests');
      t.match(resolveDestinationUrl(d.url, event!.repository), /^https:\/\/[^{}]+$/, 'URL resolves per repository');
    });
  });
}

t.test('a missing secret variable is an error naming it', async (t) => {
  const { ZYMMR_WEBHOOK_SECRET: _, ...env } = ENV;
  t.throws(() => loadConfig(join(DIR, 'zymmr.yaml'), env), ConfigError);
  t.throws(() => loadConfig(join(DIR, 'zymmr.yaml'), env), /\$\{ZYMMR_WEBHOOK_SECRET\} is not set/);
});

t.test('the CDS URL differs per repository', async (t) => {
  const d = loadConfig(join(DIR, 'cds.yaml'), ENV).destinations[0] as HttpDestination;
  t.equal(resolveDestinationUrl(d.url, fixtureEvent('multi-ref').repository), 'https://cds-hooks.example.com/bitbucket/PLAT/api-gateway');
  t.equal(resolveDestinationUrl(d.url, fixtureEvent('unknown-identity').repository), 'https://cds-hooks.example.com/bitbucket/LEGACY/billing-core');
});
