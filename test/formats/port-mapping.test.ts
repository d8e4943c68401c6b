// config/examples/port.yaml's webhook mapping, run the way Port runs it: each
// entry's jq `filter` over {body, headers}, then its entity expressions, with
// the real jq over the relay's rendered bitbucket-server requests. Port's
// documented pull-request entry must build the entity its docs show from our
// pr:merged; the relay's repo:refs_changed entry must build a repository entity.

import t from 'tap';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { fixtureEvent } from '../fixtures/events/index.ts';
import { renderBitbucketServer } from '../../src/formats/bitbucket-server.ts';
import type { RenderedRequest } from '../../src/formats/format-types.ts';

interface MappingEntry {
  blueprint: string;
  filter: string;
  entity: { identifier: string; title: string; properties: Record<string, string>; relations: Record<string, string> };
}

const EXAMPLE = fileURLToPath(new URL('../../config/examples/port.yaml', import.meta.url));

/** The JSON between the example's mapping markers, comment signs removed. */
function exampleMapping(): MappingEntry[] {
  const text = readFileSync(EXAMPLE, 'utf8');
  const start = text.indexOf('# --- port mapping ---');
  const end = text.indexOf('# --- end of port mapping ---');
  if (start < 0 || end < 0) throw new Error('port.yaml lost its mapping markers');
  const json = text.slice(start, end).split('\n').slice(1).map((l) => l.replace(/^# ?/, '')).join('\n');
  return JSON.parse(json) as MappingEntry[];
}

/** jq `expression` over `input`, as Port evaluates a mapping field. */
function jq(expression: string, input: unknown): unknown {
  const out = execFileSync('jq', ['-c', expression], { input: JSON.stringify(input) }).toString('utf8').trim();
  return JSON.parse(out);
}

/** What Port receives for one request: the body and the headers. */
function portInput(req: RenderedRequest): unknown {
  return { body: JSON.parse(req.body.toString('utf8')), headers: req.headers, queryParams: {} };
}

/** The entities the mapping makes of one request (entries whose filter is true). */
function entitiesOf(mapping: MappingEntry[], req: RenderedRequest): Record<string, unknown>[] {
  const input = portInput(req);
  return mapping
    .filter((m) => jq(m.filter, input) === true)
    .map((m) => ({
      blueprint: m.blueprint,
      identifier: jq(m.entity.identifier, input),
      title: jq(m.entity.title, input),
      properties: Object.fromEntries(Object.entries(m.entity.properties).map(([k, e]) => [k, jq(e, input)])),
      relations: Object.fromEntries(Object.entries(m.entity.relations).map(([k, e]) => [k, jq(e, input)])),
    }));
}

let jqAvailable = true;
try {
  execFileSync('jq', ['--version']);
} catch {
  jqAvailable = false;
}

t.test('the mapping in port.yaml ingests pr:merged and repo:refs_changed', { skip: jqAvailable ? false : 'jq is not installed (.ci/run installs it)' }, async (t) => {
  const mapping = exampleMapping();
  t.same(mapping.map((m) => m.blueprint), ['bitbucketPullrequest', 'bitbucketService']);
  const requests = renderBitbucketServer(fixtureEvent('pr-merge'), { seed: 'port', destination: 'port', options: {} });
  t.same(requests.map((r) => r.headers['X-Event-Key']), ['repo:refs_changed', 'pr:merged']);

  const [repoEntity] = entitiesOf(mapping, requests[0]);
  t.same(repoEntity, {
    blueprint: 'bitbucketService',
    identifier: 'api-gateway',
    title: 'API Gateway',
    properties: {
      state: 'AVAILABLE',
      forkable: true,
      public: false,
      link: 'https://bitbucket.example.com/projects/PLAT/repos/api-gateway/browse',
      last_push: '2024-05-21T10:31:08+0000',
    },
    relations: { project: 'PLAT' },
  }, 'repo:refs_changed: the repository entity with its last push');

  const prEntities = entitiesOf(mapping, requests[1]);
  t.equal(prEntities.length, 1, 'pr:merged matches the pull-request entry only');
  // The shape of Port's documented "Mapping Result", with this pull request's values.
  t.same(prEntities[0], {
    blueprint: 'bitbucketPullrequest',
    identifier: '57',
    title: 'PLAT-150 Reject tokens signed with none',
    properties: {
      created_on: '2024-05-21T08:45:00Z',
      updated_on: '2024-05-21T09:31:07Z',
      merge_commit: '920772a7051f9512922cdcb7a85fafb68f81a5fc',
      state: 'MERGED',
      owner: 'Omar Haddad',
      link: 'https://bitbucket.example.com/projects/PLAT/repos/api-gateway/pull-requests/57',
      destination: 'main',
      source: 'feature/PLAT-150-alg-none',
      participants: ['Jane Doe'],
      reviewers: ['Priya Raman'],
    },
    relations: { repository: 'api-gateway' },
  });

  // Without the REST API the entity is still made, from what the hook knew.
  const hookOnly = renderBitbucketServer(fixtureEvent('pr-merge-hook-only'), { seed: 'port', destination: 'port', options: {} });
  const [fallback] = entitiesOf(mapping, hookOnly[1]);
  t.match(fallback, {
    identifier: '57',
    title: 'PLAT-150 Reject tokens signed with none',
    properties: { state: 'MERGED', owner: 'Omar Haddad', destination: 'main', source: 'feature/PLAT-150-alg-none', participants: [], reviewers: [] },
    relations: { repository: 'api-gateway' },
  });
});

t.test('Port\'s documented mapping alone ignores repo:refs_changed (why the example adds an entry)', { skip: jqAvailable ? false : 'jq is not installed' }, async (t) => {
  const documented = exampleMapping().filter((m) => m.blueprint !== 'bitbucketService');
  const [push] = renderBitbucketServer(fixtureEvent('branch-update'), { seed: 'port', destination: 'port', options: {} });
  t.same(entitiesOf(documented, push), [], 'no entity from a push');
});
