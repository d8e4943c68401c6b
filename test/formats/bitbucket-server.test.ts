// bitbucket-server format against the shape of Atlassian's documented
// repo:refs_changed payload (Bitbucket DC 8.x / 9.x "Event payload" page):
// a typed definition of that payload, an example in it, and a structural
// comparison — every documented key present with the documented JSON type,
// no undocumented top-level key unless `extended: true` (then only `relay`).

import t from 'tap';
import { readFileSync } from 'node:fs';
import { FIXTURE_NAMES, fixtureEvent } from '../fixtures/events/index.ts';
import { bitbucketServerFormat, DEFAULT_BITBUCKET_SERVER_COMMIT_LIMIT } from '../../src/formats/bitbucket-server.ts';
import type { PushEvent } from '../../src/event/push-event.ts';

/** Bitbucket DC's User entity as documented. */
interface BbUser {
  name: string;
  emailAddress: string;
  id: number;
  displayName: string;
  active: boolean;
  slug: string;
  type: 'NORMAL' | 'SERVICE';
  links: { self: { href: string }[] };
}
interface BbProject {
  key: string;
  id: number;
  name: string;
  public: boolean;
  type: 'NORMAL' | 'PERSONAL';
  links: { self: { href: string }[] };
}
interface BbRepository {
  slug: string;
  id: number;
  name: string;
  hierarchyId: string;
  scmId: 'git';
  state: string;
  statusMessage: string;
  forkable: boolean;
  project: BbProject;
  public: boolean;
  archived: boolean;
  links: { clone: { href: string; name: string }[]; self: { href: string }[] };
}
interface BbChange {
  ref: { id: string; displayId: string; type: 'BRANCH' | 'TAG' };
  refId: string;
  fromHash: string;
  toHash: string;
  type: 'ADD' | 'UPDATE' | 'DELETE';
}
interface BbCommit {
  id: string;
  displayId: string;
  author: { name: string; emailAddress: string };
  authorTimestamp: number;
  committer: { name: string; emailAddress: string };
  committerTimestamp: number;
  message: string;
  parents: { id: string; displayId: string }[];
}
/** repo:refs_changed as Bitbucket DC 8.x / 9.x documents it. */
interface RefsChangedPayload {
  eventKey: 'repo:refs_changed';
  date: string;
  actor: BbUser;
  repository: BbRepository;
  changes: BbChange[];
  commits: BbCommit[];
  toCommit: BbCommit;
}

const commitExample: BbCommit = {
  id: 'a6b4b1b0f5c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9',
  displayId: 'a6b4b1b0f5c',
  author: { name: 'Administrator', emailAddress: 'admin@example.com' },
  authorTimestamp: 1505778000000,
  committer: { name: 'Administrator', emailAddress: 'admin@example.com' },
  committerTimestamp: 1505778000000,
  message: 'Update README',
  parents: [{ id: 'f1e2d3c4b5a69788796a5b4c3d2e1f0a9b8c7d6e', displayId: 'f1e2d3c4b5a' }],
};
/** The documented example's shape (values ours). */
const DOCUMENTED: RefsChangedPayload = {
  eventKey: 'repo:refs_changed',
  date: '2017-09-19T09:58:11+1000',
  actor: { name: 'admin', emailAddress: 'admin@example.com', id: 1, displayName: 'Administrator', active: true, slug: 'admin', type: 'NORMAL', links: { self: [{ href: 'https://bb/users/admin' }] } },
  repository: {
    slug: 'repository',
    id: 84,
    name: 'repository',
    hierarchyId: 'af05451fc6eb4bbfad40',
    scmId: 'git',
    state: 'AVAILABLE',
    statusMessage: 'Available',
    forkable: true,
    project: { key: 'PROJ', id: 84, name: 'project', public: false, type: 'NORMAL', links: { self: [{ href: 'https://bb/projects/PROJ' }] } },
    public: false,
    archived: false,
    links: { clone: [{ href: 'ssh://git@bb:7999/proj/repository.git', name: 'ssh' }], self: [{ href: 'https://bb/projects/PROJ/repos/repository/browse' }] },
  },
  changes: [{ ref: { id: 'refs/heads/master', displayId: 'master', type: 'BRANCH' }, refId: 'refs/heads/master', fromHash: 'ecddabb624f6f5ba43816f5926e580a5f680a932', toHash: '178864a7d521b6f5e720b386b2c2b0ef8563e0dc', type: 'UPDATE' }],
  commits: [commitExample],
  toCommit: commitExample,
};

const TOP_LEVEL = Object.keys(DOCUMENTED).sort();

/** Problems where `actual` lacks a documented key or has another JSON type there. */
function shapeProblems(expected: unknown, actual: unknown, path = '$'): string[] {
  const kind = (v: unknown): string => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v);
  if (kind(expected) !== kind(actual)) return [`${path}: expected ${kind(expected)}, got ${kind(actual)}`];
  if (Array.isArray(expected)) {
    const a = actual as unknown[];
    return expected.length ? a.flatMap((item, i) => shapeProblems(expected[0], item, `${path}[${i}]`)) : [];
  }
  if (expected && typeof expected === 'object') {
    const a = actual as Record<string, unknown>;
    return Object.entries(expected).flatMap(([k, v]) => (k in a ? shapeProblems(v, a[k], `${path}.${k}`) : [`${path}.${k}: missing`]));
  }
  return [];
}

function render(event: PushEvent, options = {}): Record<string, unknown> {
  const reqs = bitbucketServerFormat.render(event, { seed: 's', destination: 'zymmr', options });
  return JSON.parse(reqs[0].body.toString('utf8'));
}

t.test('the comparison is not vacuous', async (t) => {
  t.same(shapeProblems(DOCUMENTED, DOCUMENTED), []);
  const broken = structuredClone(DOCUMENTED) as unknown as Record<string, Record<string, unknown>>;
  delete broken.repository.project;
  broken.changes = {} as never;
  t.same(shapeProblems(DOCUMENTED, broken).sort(), ['$.changes: expected array, got object', '$.repository.project: missing']);
});

t.test('every scenario has the documented shape and only the documented top-level keys', async (t) => {
  for (const name of FIXTURE_NAMES) {
    const event = fixtureEvent(name);
    const body = render(event);
    // Like Bitbucket's REST entities, a user without an e-mail has no emailAddress;
    // toCommit is absent when no ref points at a commit of the event (deletes, tags of old commits).
    const { toCommit, ...withoutToCommit } = DOCUMENTED;
    const expected = structuredClone(body.toCommit === undefined ? withoutToCommit : { ...withoutToCommit, toCommit }) as unknown as Record<string, Record<string, unknown>>;
    if (event.actor.email === undefined) delete expected.actor.emailAddress;
    t.same(shapeProblems(expected, body), [], `${name}: shape`);
    const expectedKeys = body.toCommit === undefined ? TOP_LEVEL.filter((k) => k !== 'toCommit') : TOP_LEVEL;
    t.same(Object.keys(body).sort(), expectedKeys, `${name}: top-level keys`);
    t.match(body.date, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}[+-]\d{4}$/, `${name}: Bitbucket date format`);
  }
});

t.test('extended adds exactly one key, relay, with files and PR context', async (t) => {
  const event = fixtureEvent('pr-merge');
  const plain = render(event);
  const ext = render(event, { extended: true });
  t.same(Object.keys(ext).filter((k) => !(k in plain)), ['relay']);
  const { relay, ...rest } = ext;
  t.same(rest, plain, 'the stock keys are untouched');
  const r = relay as { pullRequest: { id: number; mergeHash: string }; trigger: string; commits: { id: string; files: unknown[] }[] };
  t.equal(r.trigger, 'pull-request-merge');
  t.equal(r.pullRequest.id, 57);
  t.equal(r.pullRequest.mergeHash, event.pullRequest!.mergeHash);
  t.same(r.commits.map((c) => c.id), event.refs[0].commits);
  t.same(r.commits[0].files, event.commits[event.refs[0].commits[0]].files);
});

t.test('changes map create / update / delete and branch / tag; other refs are left out', async (t) => {
  const multi = render(fixtureEvent('multi-ref')) as { changes: { refId: string; type: string; ref: { type: string } }[] };
  t.same(multi.changes.map((c) => [c.refId, c.type, c.ref.type]), [
    ['refs/heads/main', 'UPDATE', 'BRANCH'],
    ['refs/heads/release/2.0', 'ADD', 'BRANCH'],
    ['refs/tags/v2.0.0', 'ADD', 'TAG'],
  ]);
  const del = render(fixtureEvent('branch-delete')) as { changes: { type: string }[]; commits: unknown[]; toCommit?: unknown };
  t.equal(del.changes[0].type, 'DELETE');
  t.same(del.commits, []);
  t.equal(del.toCommit, undefined, 'nothing to point at after a delete');
  const onlyNotes = fixtureEvent('multi-ref');
  onlyNotes.refs = onlyNotes.refs.filter((r) => r.kind === 'other');
  t.same(bitbucketServerFormat.render(onlyNotes, { seed: 's', destination: 'd', options: {} }), [], 'a push of only refs/notes renders nothing');
});

t.test('commits: most recent first, each once, limited by commitLimit; toCommit expands known parents', async (t) => {
  const event = fixtureEvent('multi-ref');
  const body = render(event) as { commits: { id: string }[]; toCommit: { id: string; parents: { id: string; message?: string }[] } };
  const [a, b] = event.refs[0].commits;
  t.same(body.commits.map((c) => c.id), [b, a], 'shared commits of main and release/2.0 appear once, newest first');
  t.equal(body.toCommit.id, b);
  t.equal(body.toCommit.parents[0].id, a);
  t.equal(body.toCommit.parents[0].message, event.commits[a].message, 'parent in the event: full commit');
  const limited = render(event, { commitLimit: 1 }) as { commits: { id: string }[] };
  t.same(limited.commits.map((c) => c.id), [b]);
  const none = render(event, { commitLimit: 0 });
  t.notOk('commits' in none || 'toCommit' in none, 'commitLimit 0: the pre-8.x payload without commits / toCommit');
  t.equal(DEFAULT_BITBUCKET_SERVER_COMMIT_LIMIT, 100);
});

t.test('synthesized ids are stable and real ids win', async (t) => {
  const a = render(fixtureEvent('unknown-identity')) as { repository: { id: number; project: { id: number } }; actor: { id: number; emailAddress?: string } };
  const b = render(fixtureEvent('unknown-identity')) as typeof a;
  t.equal(a.repository.id, b.repository.id);
  t.ok(Number.isInteger(a.repository.id) && a.repository.id > 0, 'unknown repository id → positive synthetic integer');
  t.equal(a.actor.emailAddress, undefined, 'unknown e-mail is omitted, not invented');
  const known = render(fixtureEvent('branch-update')) as { repository: { id: number } };
  t.equal(known.repository.id, 42);
});

t.test('headers and ping', async (t) => {
  const [req] = bitbucketServerFormat.render(fixtureEvent('branch-update'), { seed: 'seed-a', destination: 'zymmr', options: {} });
  t.equal(req.headers['X-Event-Key'], 'repo:refs_changed');
  t.match(req.headers['X-Request-Id'], /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  t.equal(req.signatureHeader, 'X-Hub-Signature, X-Hub-Signature-256', 'Bitbucket\'s header and the one CDS verifies');
  const [other] = bitbucketServerFormat.render(fixtureEvent('branch-update'), { seed: 'seed-b', destination: 'zymmr', options: {} });
  t.not(other.headers['X-Request-Id'], req.headers['X-Request-Id'], 'another seed, another request id');
  t.ok(other.body.equals(req.body), 'the body does not depend on the seed');
  const ping = bitbucketServerFormat.renderPing({ seed: 'p', destination: 'zymmr', options: {}, node: 'n', time: '2024-01-01T00:00:00Z' });
  t.equal(ping.headers['X-Event-Key'], 'diagnostics:ping');
  t.same(JSON.parse(ping.body.toString('utf8')), { test: true });
});

t.test('pr:merged has every key of the pr:merged payload Port documents (Atlassian\'s), same value kinds', async (t) => {
  const example = JSON.parse(readFileSync(new URL('../fixtures/bitbucket/pr-merged-port-example.json', import.meta.url), 'utf8'));
  /** "path: kind" for every leaf (arrays: their first element). */
  const shape = (v: unknown, at = ''): string[] => {
    if (Array.isArray(v)) return v.length ? shape(v[0], `${at}[]`) : [`${at}: array`];
    if (v !== null && typeof v === 'object') return Object.entries(v).flatMap(([k, x]) => shape(x, at ? `${at}.${k}` : k));
    return [`${at}: ${v === null ? 'null' : typeof v}`];
  };
  for (const name of ['pr-merge', 'pr-merge-hook-only']) {
    const reqs = bitbucketServerFormat.render(fixtureEvent(name), { seed: 's', destination: 'port', options: {} });
    t.same(reqs.map((r) => r.headers['X-Event-Key']), ['repo:refs_changed', 'pr:merged'], `${name}: both event keys`);
    const ours = new Set(shape(JSON.parse(reqs[1].body.toString('utf8'))));
    const theirs = shape(example).filter((p) => !p.startsWith('pullRequest.reviewers') && !p.startsWith('pullRequest.participants'));
    const missing = theirs.filter((p) => !ours.has(p) && !(name === 'pr-merge-hook-only' && p.startsWith('pullRequest.description')) && !p.startsWith('pullRequest.fromRef.repository.description') && !p.startsWith('pullRequest.toRef.repository.description') && !p.startsWith('pullRequest.fromRef.repository.project.description') && !p.startsWith('pullRequest.toRef.repository.project.description'));
    t.same(missing, [], `${name}: no key of the documented payload missing (descriptions of repository / project are unknown to the host)`);
  }
  const [, hookOnly] = bitbucketServerFormat.render(fixtureEvent('pr-merge-hook-only'), { seed: 's', destination: 'port', options: {} });
  const body = JSON.parse(hookOnly.body.toString('utf8'));
  t.notOk('description' in body.pullRequest, 'no description without the REST API (Bitbucket omits an empty one)');
  t.same([body.pullRequest.createdDate, body.pullRequest.updatedDate, body.pullRequest.closedDate], [Date.parse('2024-05-21T10:31:08.777Z'), Date.parse('2024-05-21T10:31:08.777Z'), Date.parse('2024-05-21T10:31:08.777Z')], 'dates: the push time');
  t.same(bitbucketServerFormat.render(fixtureEvent('pr-merge'), { seed: 's', destination: 'd', options: {}, events: ['pr:merged'] }).map((r) => r.headers['X-Event-Key']), ['pr:merged'], 'events: [pr:merged] only');
  t.same(bitbucketServerFormat.render(fixtureEvent('pr-merge'), { seed: 's', destination: 'd', options: {}, events: ['repo:refs_changed'] }).map((r) => r.headers['X-Event-Key']), ['repo:refs_changed'], 'events: [repo:refs_changed] only');
});
