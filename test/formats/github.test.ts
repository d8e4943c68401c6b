// github format: every rendered push validates against GitHub's published
// push schema (@octokit/webhooks-schemas), one request per branch / tag,
// and the fields Jenkins-style consumers read carry the push's facts.

import t from 'tap';
import { createRequire } from 'node:module';
import { FIXTURE_NAMES, fixtureEvent } from '../fixtures/events/index.ts';
import { githubFormat } from '../../src/formats/github.ts';
import { ZERO_SHA } from '../../src/event/push-event.ts';
import { strictAjv } from './schema-ajv.ts';

const schema = createRequire(import.meta.url)('@octokit/webhooks-schemas') as { definitions: Record<string, object> };
const ajv = strictAjv();
ajv.addSchema(schema, 'webhooks');
const validatePush = ajv.getSchema('webhooks#/definitions/push$event')!;
const validatePing = ajv.getSchema('webhooks#/definitions/ping$event')!;
const ctx = { seed: 'gh-seed', destination: 'jenkins', options: {} };

t.test('every scenario validates against @octokit/webhooks-schemas push$event', async (t) => {
  let count = 0;
  for (const name of FIXTURE_NAMES) {
    for (const req of githubFormat.render(fixtureEvent(name), ctx)) {
      const body = JSON.parse(req.body.toString('utf8'));
      const ok = validatePush(body);
      t.ok(ok, `${name} ${req.label}: ${ok ? 'valid' : ajv.errorsText(validatePush.errors)}`);
      count++;
    }
  }
  t.ok(count >= 10, `validated ${count} push bodies`);
});

t.test('the schema check is not vacuous: a broken body fails', async (t) => {
  const [req] = githubFormat.render(fixtureEvent('branch-update'), ctx);
  const body = JSON.parse(req.body.toString('utf8'));
  delete body.head_commit;
  t.notOk(validatePush(body), 'missing head_commit is rejected');
  const body2 = JSON.parse(req.body.toString('utf8'));
  body2.commits[0].timestamp = 'yesterday';
  t.notOk(validatePush(body2), 'a non-RFC3339 timestamp is rejected');
});

t.test('one request per branch / tag; refs/notes skipped', async (t) => {
  const reqs = githubFormat.render(fixtureEvent('multi-ref'), ctx);
  t.same(reqs.map((r) => r.label), ['refs/heads/main', 'refs/heads/release/2.0', 'refs/tags/v2.0.0']);
  t.equal(new Set(reqs.map((r) => r.headers['X-GitHub-Delivery'])).size, 3, 'distinct delivery ids');
  for (const r of reqs) {
    t.equal(r.headers['X-GitHub-Event'], 'push');
    t.equal(r.signatureHeader, 'X-Hub-Signature-256');
    t.match(r.headers['X-GitHub-Delivery'], /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  }
  const tag = JSON.parse(reqs[2].body.toString('utf8'));
  const event = fixtureEvent('multi-ref');
  t.equal(tag.base_ref, 'refs/heads/main', 'tag at a branch tip of the same push gets base_ref');
  t.equal(tag.head_commit.id, event.refs[2].tag!.target, 'annotated tag: head_commit is the tagged commit');
  t.equal(tag.after, event.refs[2].after, 'after stays the tag object');
});

t.test('create / delete / forced flags and commits', async (t) => {
  const create = JSON.parse(githubFormat.render(fixtureEvent('branch-create'), ctx)[0].body.toString('utf8'));
  t.equal(create.created, true);
  t.equal(create.before, ZERO_SHA);
  t.equal(create.commits.length, 2);
  t.equal(create.head_commit.id, create.after);
  t.same(create.commits[1].added, ['config/ratelimit.yaml']);
  t.same(create.commits[1].modified, ['src/router.ts']);

  const del = JSON.parse(githubFormat.render(fixtureEvent('branch-delete'), ctx)[0].body.toString('utf8'));
  t.equal(del.deleted, true);
  t.equal(del.after, ZERO_SHA);
  t.same(del.commits, []);
  t.equal(del.head_commit, null);

  const forced = JSON.parse(githubFormat.render(fixtureEvent('forced-update'), ctx)[0].body.toString('utf8'));
  t.equal(forced.forced, true);

  const merge = JSON.parse(githubFormat.render(fixtureEvent('merge'), ctx)[0].body.toString('utf8'));
  t.same(merge.commits.map((c: { distinct: boolean }) => c.distinct), [false, true], 'distinct carried per commit');
});

t.test('renames are removed + added; the pusher gets a username on own commits', async (t) => {
  const body = JSON.parse(githubFormat.render(fixtureEvent('unknown-identity'), ctx)[0].body.toString('utf8'));
  const c = body.commits[0];
  t.same(c.added.sort(), ['assets/font.woff2', 'docs/Übersicht.md', 'lib/new.c'].sort());
  t.same(c.removed.sort(), ['docs/overview.md', 'lib/old.c'].sort());
  t.same(c.modified, ['scripts/run.sh']);
  t.match(body.repository.html_url, /^https:\/\/bb-node-1\//, 'no base URL: the node name stands in');
  const upd = JSON.parse(githubFormat.render(fixtureEvent('branch-update'), ctx)[0].body.toString('utf8'));
  t.equal(upd.commits[0].author.username, 'ohaddad', 'author e-mail = pusher e-mail → username');
  t.equal(upd.commits[2].author.username, undefined, 'another author has no username');
});

t.test('commitLimit keeps the most recent commits', async (t) => {
  const body = JSON.parse(githubFormat.render(fixtureEvent('branch-update'), { ...ctx, options: { commitLimit: 1 } })[0].body.toString('utf8'));
  const event = fixtureEvent('branch-update');
  t.same(body.commits.map((c: { id: string }) => c.id), [event.refs[0].after]);
});

t.test('ping validates against ping$event', async (t) => {
  const req = githubFormat.renderPing({ ...ctx, node: 'bb-node-1', time: '2024-05-20T06:15:42.008Z', url: 'https://jenkins.example.com/github-webhook/' });
  const body = JSON.parse(req.body.toString('utf8'));
  t.ok(validatePing(body), ajv.errorsText(validatePing.errors));
  t.equal(req.headers['X-GitHub-Event'], 'ping');
  t.equal(body.hook.config.url, 'https://jenkins.example.com/github-webhook/');
});

t.test('a merged pull request: pull_request closed + merged, valid against pull_request$closed, only when asked', async (t) => {
  const validateClosed = ajv.getSchema('webhooks#/definitions/pull_request$closed')!;
  t.same(githubFormat.render(fixtureEvent('pr-merge'), ctx).map((r) => r.headers['X-GitHub-Event']), ['push'], 'default events: push only');
  for (const name of ['pr-merge', 'pr-merge-hook-only']) {
    const reqs = githubFormat.render(fixtureEvent(name), { ...ctx, events: ['push', 'pull_request'] });
    t.same(reqs.map((r) => r.headers['X-GitHub-Event']), ['push', 'pull_request'], `${name}: push, then pull_request`);
    const pr = reqs[1];
    t.not(pr.headers['X-GitHub-Delivery'], reqs[0].headers['X-GitHub-Delivery'], 'own delivery id');
    t.equal(pr.signatureHeader, 'X-Hub-Signature-256');
    const body = JSON.parse(pr.body.toString('utf8'));
    const ok = validateClosed(body);
    t.ok(ok, `${name}: ${ok ? 'valid' : ajv.errorsText(validateClosed.errors)}`);
    t.match(body, { action: 'closed', number: 57, pull_request: { merged: true, state: 'closed', number: 57, title: 'PLAT-150 Reject tokens signed with none', merge_commit_sha: '297dcebd42caa82f4729e90cb170ccdc71b73644' } });
    t.match(body.pull_request.head, { ref: 'feature/PLAT-150-alg-none', sha: '920772a7051f9512922cdcb7a85fafb68f81a5fc' });
    t.match(body.pull_request.base, { ref: 'main', sha: 'cfdfda5d3b17024c3c56b2d16ebc3e725b987353' });
    t.equal(body.pull_request.commits, 2, 'commits the merge brought to main');
  }
  const enriched = JSON.parse(githubFormat.render(fixtureEvent('pr-merge'), { ...ctx, events: ['pull_request'] })[0].body.toString('utf8'));
  t.match(enriched.pull_request, { body: /alg: none/, user: { login: 'ohaddad' }, created_at: '2024-05-21T08:45:00Z', closed_at: '2024-05-21T09:31:07Z' }, 'REST details carried');
  const broken = structuredClone(enriched);
  delete broken.pull_request.merged;
  t.notOk(validateClosed(broken), 'the schema check is not vacuous: merged is required');
  t.same(githubFormat.render(fixtureEvent('branch-update'), { ...ctx, events: ['pull_request'] }), [], 'no merge, no pull_request, no push asked: nothing');
});

t.test('tips the push did not bring: head_commit of a tag or branch created on an existing commit', async (t) => {
  for (const name of ['tag-lightweight', 'tag-annotated', 'branch-on-existing']) {
    const [req] = githubFormat.render(fixtureEvent(name), ctx);
    const body = JSON.parse(req.body.toString('utf8'));
    t.same(body.commits, [], `${name}: no commits`);
    t.match(body.head_commit, { id: '595a5bc7df074d6b0a1e2341b8cbecaef4c44515', message: 'PLAT-90 PLAT-91 Log the request id on every access line', distinct: false }, `${name}: head_commit present`);
  }
});
