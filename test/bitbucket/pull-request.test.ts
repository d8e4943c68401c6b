// Pull-request enrichment: Bitbucket's REST pull-request entity (as its REST
// API and webhooks document it) fills what the hook lacks; a missing API, an
// error answer or a hanging one leaves the hook's values and an errors[] line,
// within the timeout; answers are cached per merge.

import t from 'tap';
import type { Test } from 'tap';
import { createServer, type Server } from 'node:http';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { detailsFromRest, pullRequestPath, PullRequestEnricher, withRestDetails, type FetchJson } from '../../src/bitbucket/pull-request.ts';
import { fixtureEvent } from '../fixtures/events/index.ts';
import { assertValidPushEvent } from '../helpers/validate-event.ts';

const REST_PR = JSON.parse(readFileSync(new URL('../fixtures/bitbucket/pull-request-57.json', import.meta.url), 'utf8'));

/** The hook's view of the merge: pr-merge-hook-only without its enrichment error. */
function hookEvent() {
  const event = fixtureEvent('pr-merge-hook-only');
  event.errors = [];
  return event;
}

t.test('REST details + the hook\'s view = the enriched fixture', async (t) => {
  t.equal(pullRequestPath('PLAT', 'api gateway', 57), '/rest/api/latest/projects/PLAT/repos/api%20gateway/pull-requests/57');
  const merged = withRestDetails(hookEvent().pullRequest!, detailsFromRest(REST_PR));
  t.same(merged, fixtureEvent('pr-merge').pullRequest, 'every field as in pr-merge.json');
  t.throws(() => detailsFromRest({ title: 'x' }), /not a pull request/);
  const sparse = detailsFromRest({ id: 57, author: { user: { name: 'x' } }, reviewers: [{ user: { name: 'r' }, approved: true }, { nope: 1 }] });
  t.same(sparse.reviewers, [{ user: { name: 'r', displayName: null, email: null, id: null, slug: null }, role: 'REVIEWER', approved: true, status: 'APPROVED' }], 'missing role/status derived; junk entries dropped');
});

/** A Bitbucket stand-in answering the documented GET; `plan` decides per request. */
async function bitbucket(t: Test, plan: (url: string) => { status: number; body?: unknown; hang?: boolean }) {
  const seen: { url: string; auth: string | undefined }[] = [];
  const server: Server = createServer((req, res) => {
    seen.push({ url: req.url ?? '', auth: req.headers.authorization });
    const p = plan(req.url ?? '');
    if (p.hang) return;
    res.writeHead(p.status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(p.body ?? { errors: [{ message: 'Pull request 57 does not exist' }] }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  }));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const fetchJson: FetchJson = async (path, signal) => {
    const res = await fetch(base + path, { signal, headers: { authorization: 'Bearer tok' } });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    return res.json();
  };
  return { seen, fetchJson };
}

t.test('enriched from the REST API once per merge (cached)', async (t) => {
  const bb = await bitbucket(t, () => ({ status: 200, body: REST_PR }));
  const enricher = new PullRequestEnricher({ kind: 'rest', fetchJson: bb.fetchJson, timeoutMs: 2000 });
  const event = hookEvent();
  await enricher.enrich(event);
  assertValidPushEvent(t, event);
  t.same(event.pullRequest, fixtureEvent('pr-merge').pullRequest);
  t.same(event.errors, []);
  t.same(bb.seen.map((s) => s.url), ['/rest/api/latest/projects/PLAT/repos/api-gateway/pull-requests/57']);
  const again = hookEvent();
  await enricher.enrich(again);
  t.equal(again.pullRequest?.source, 'rest');
  t.equal(bb.seen.length, 1, 'the same merge analyzed again: no second request');
  const push = fixtureEvent('branch-update');
  await enricher.enrich(push);
  t.equal(bb.seen.length, 1, 'no request for a plain push');
});

t.test('no API, an error answer, a hang: hook values kept, errors[] says what and why, within the timeout', async (t) => {
  const none = hookEvent();
  await new PullRequestEnricher({ kind: 'none', reason: 'bitbucket.api is not configured' }).enrich(none);
  t.same(none.errors, fixtureEvent('pr-merge-hook-only').errors, 'the fixture\'s message');
  t.same(none.pullRequest, fixtureEvent('pr-merge-hook-only').pullRequest, 'fields as the hook knew them');

  const missing = await bitbucket(t, () => ({ status: 404 }));
  const e404 = hookEvent();
  await new PullRequestEnricher({ kind: 'rest', fetchJson: missing.fetchJson, timeoutMs: 2000 }).enrich(e404);
  t.match(e404.errors, [{ message: /^pull request #57: description, reviewers, participants, dates and version not filled from Bitbucket's REST API: GET \/rest\/api\/latest\/projects\/PLAT\/repos\/api-gateway\/pull-requests\/57: HTTP 404$/ }]);
  t.equal(e404.pullRequest?.source, 'hook');

  const hanging = await bitbucket(t, () => ({ status: 200, hang: true }));
  const slow = hookEvent();
  const started = performance.now();
  await new PullRequestEnricher({ kind: 'rest', fetchJson: hanging.fetchJson, timeoutMs: 300 }).enrich(slow);
  const took = performance.now() - started;
  t.ok(took >= 290, `waited for the timeout (${took.toFixed(0)} ms)`);
  t.ok(took < 300 + 2000, `and not much longer (${took.toFixed(0)} ms)`);
  t.match(slow.errors, [{ message: /no answer within 300 ms \(bitbucket\.api\.timeout\)/ }]);
  t.equal(hanging.seen.length, 1);

  // A client that ignores the abort signal is abandoned at the timeout all the same.
  const deaf = hookEvent();
  const t0 = performance.now();
  await new PullRequestEnricher({ kind: 'rest', fetchJson: () => new Promise(() => {}), timeoutMs: 200 }).enrich(deaf);
  t.ok(performance.now() - t0 < 200 + 2000, 'bounded even when the client never settles');
  t.match(deaf.errors, [{ message: /no answer within 200 ms/ }]);
});
