// Pull-request enrichment through the shared REST client against the fake
// Bitbucket (Bitbucket's documented pull-request entity): REST fills what the
// hook lacks; a missing API, an error answer or a hung Bitbucket leaves the
// hook's values and an errors[] line, within the timeout; answers are cached
// per merge; the token is sent, never printed.

import t from 'tap';
import type { Test } from 'tap';
import { readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { detailsFromRest, pullRequestPath, PullRequestEnricher, pullRequestSourceFor, withRestDetails } from '../../src/bitbucket/pull-request.ts';
import { defaultConfig } from '../../src/config/load-config.ts';
import type { RelayConfig } from '../../src/config/config-types.ts';
import { fixtureEvent } from '../fixtures/events/index.ts';
import { startFakeBitbucket } from '../helpers/fake-bitbucket.ts';
import { assertValidPushEvent } from '../helpers/validate-event.ts';

const REST_PR = JSON.parse(readFileSync(new URL('../fixtures/bitbucket/pull-request-57.json', import.meta.url), 'utf8'));
const TOKEN = 'pr-read-token-1';

/** The hook's view of the merge: pr-merge-hook-only without its enrichment error. */
function hookEvent() {
  const event = fixtureEvent('pr-merge-hook-only');
  event.errors = [];
  return event;
}

/** A relay config whose bitbucket.api points at `url` with the token in a file. */
function configFor(t: Test, url: string, timeoutMs = 2000): RelayConfig {
  const dir = mkdtempSync(path.join(tmpdir(), 'relay-pr-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const tokenFile = path.join(dir, 'token');
  writeFileSync(tokenFile, `${TOKEN}\n`, { mode: 0o600 });
  const config = defaultConfig();
  return { ...config, bitbucket: { ...config.bitbucket, api: { url, tokenFile, timeoutMs } } };
}

async function fake(t: Test, pullRequests: Record<string, unknown> = { 'PLAT/api-gateway/57': REST_PR }) {
  const bb = await startFakeBitbucket({ tokens: { [TOKEN]: 'user' }, pullRequests });
  t.teardown(() => bb.close());
  return bb;
}

t.test('REST details + the hook\'s view = the enriched fixture', async (t) => {
  t.equal(pullRequestPath('PLAT', 'api gateway', 57), '/rest/api/latest/projects/PLAT/repos/api%20gateway/pull-requests/57');
  const merged = withRestDetails(hookEvent().pullRequest!, detailsFromRest(REST_PR));
  t.same(merged, fixtureEvent('pr-merge').pullRequest, 'every field as in pr-merge.json');
  t.throws(() => detailsFromRest({ title: 'x' }), /not a pull request/);
  const sparse = detailsFromRest({ id: 57, author: { user: { name: 'x' } }, reviewers: [{ user: { name: 'r' }, approved: true }, { nope: 1 }] });
  t.same(sparse.reviewers, [{ user: { name: 'r', displayName: null, email: null, id: null, slug: null }, role: 'REVIEWER', approved: true, status: 'APPROVED' }], 'missing role/status derived; junk entries dropped');
});

t.test('enriched from the REST API once per merge (cached), token sent', async (t) => {
  const bb = await fake(t);
  const enricher = new PullRequestEnricher(pullRequestSourceFor(configFor(t, bb.url)));
  const event = hookEvent();
  await enricher.enrich(event);
  assertValidPushEvent(t, event);
  t.same(event.pullRequest, fixtureEvent('pr-merge').pullRequest);
  t.same(event.errors, []);
  t.same(bb.requests.map((r) => `${r.method} ${r.url}`), ['GET /rest/api/latest/projects/PLAT/repos/api-gateway/pull-requests/57']);
  t.equal(bb.requests[0].headers.authorization, `Bearer ${TOKEN}`);
  const again = hookEvent();
  await enricher.enrich(again);
  t.equal(again.pullRequest?.source, 'rest');
  t.equal(bb.requests.length, 1, 'the same merge analyzed again: no second request');
  await enricher.enrich(fixtureEvent('branch-update'));
  t.equal(bb.requests.length, 1, 'no request for a plain push');
  t.equal(enricher.requests, 1);
});

t.test('no API, an unknown pull request, a rejected token: hook values kept, errors[] says what and why, no token printed', async (t) => {
  const none = hookEvent();
  await new PullRequestEnricher(pullRequestSourceFor(defaultConfig())).enrich(none);
  t.same(none.errors, fixtureEvent('pr-merge-hook-only').errors, 'the fixture\'s message');
  t.same(none.pullRequest, fixtureEvent('pr-merge-hook-only').pullRequest, 'fields as the hook knew them');

  const bb = await fake(t, {});
  const missing = hookEvent();
  await new PullRequestEnricher(pullRequestSourceFor(configFor(t, bb.url))).enrich(missing);
  t.match(missing.errors, [{ message: /^pull request #57: description, reviewers, participants, dates and version not filled from Bitbucket's REST API: GET \/rest\/api\/latest\/projects\/PLAT\/repos\/api-gateway\/pull-requests\/57: .*not found/ }]);
  t.notMatch(missing.errors[0].message, /GET \S+: GET/, 'the request named once');
  t.equal(missing.pullRequest?.source, 'hook');

  const stranger = await startFakeBitbucket({ tokens: { 'someone-else': 'user' }, pullRequests: { 'PLAT/api-gateway/57': REST_PR } });
  t.teardown(() => stranger.close());
  const denied = hookEvent();
  await new PullRequestEnricher(pullRequestSourceFor(configFor(t, stranger.url))).enrich(denied);
  t.match(denied.errors, [{ message: /not authenticated|401/ }]);
  t.notMatch(JSON.stringify(denied), new RegExp(TOKEN), 'the token appears nowhere in the event');
});

t.test('a hung Bitbucket holds the merge no longer than the timeout', async (t) => {
  const bb = await fake(t);
  bb.route('GET', /pull-requests\/57$/, () => ({ status: 200, hang: true }));
  const slow = hookEvent();
  const started = performance.now();
  await new PullRequestEnricher(pullRequestSourceFor(configFor(t, bb.url, 300))).enrich(slow);
  const took = performance.now() - started;
  t.ok(took >= 290, `waited for the timeout (${took.toFixed(0)} ms)`);
  t.ok(took < 300 + 2000, `and not much longer (${took.toFixed(0)} ms)`);
  t.match(slow.errors, [{ message: /pull request #57: .*not filled.*GET \/rest\/api\/latest\/projects\/PLAT\/repos\/api-gateway\/pull-requests\/57/ }]);
  t.equal(slow.pullRequest?.source, 'hook');
  t.equal(bb.requests.length, 1);

  // A client that ignores the abort signal is abandoned at the timeout all the same.
  const deaf = hookEvent();
  const t0 = performance.now();
  await new PullRequestEnricher({ kind: 'rest', fetchJson: () => new Promise(() => {}), timeoutMs: 200 }).enrich(deaf);
  t.ok(performance.now() - t0 < 200 + 2000, 'bounded even when the client never settles');
  t.match(deaf.errors, [{ message: /no answer within 200 ms \(bitbucket\.api\.timeout\)/ }]);
});
