// End to end: a pull-request merge reported by Bitbucket's hook script (the
// real hook with BB_* merge variables, a real merge commit in a real
// repository) reaches receivers as the push AND the pull-request event of
// each format, each its own delivery, in order in the repository's lane; a
// tag created on an existing commit carries the full commit in every format.

import t from 'tap';
import { verify } from '@octokit/webhooks-methods';
import path from 'node:path';
import { readFileSync, writeFileSync } from 'node:fs';
import { startFakeBitbucket } from '../helpers/fake-bitbucket.ts';
import { createRelayFixture, readJsonLines, waitUntil } from '../helpers/relay-fixture.ts';
import { startReceiver, type ReceivedRequest } from '../helpers/receiver.ts';

const SECRET = 'merge-secret-1';

/** The receiver's requests to one path, in arrival order. */
function at(requests: ReceivedRequest[], path: string): ReceivedRequest[] {
  return requests.filter((r) => r.url === path);
}

const json = (r: ReceivedRequest) => JSON.parse(r.body.toString('utf8'));

t.test('a pull-request merge: push + pr:merged / pullrequest:fulfilled / pull_request, own delivery ids, in lane order', async (t) => {
  const receiver = await startReceiver();
  t.teardown(() => receiver.close());
  const retry = { baseDelay: '50ms', maxDelay: '200ms' };
  const destinations = [
    { name: 'bbs', type: 'http', url: `${receiver.url}/bbs`, format: 'bitbucket-server', secret: SECRET, retry },
    { name: 'cloud', type: 'http', url: `${receiver.url}/cloud`, format: 'bitbucket-cloud', retry },
    { name: 'gh', type: 'http', url: `${receiver.url}/gh`, format: 'github', events: ['push', 'pull_request'], retry },
    { name: 'gh-push-only', type: 'http', url: `${receiver.url}/gh-push`, format: 'github', retry },
  ];
  const fx = createRelayFixture();
  t.teardown(() => fx.cleanup());
  const archive = path.join(fx.root, 'events.jsonl');
  fx.writeConfig({
    bitbucket: { baseUrl: 'https://bitbucket.example.com' },
    destinations: [{ name: 'archive', type: 'file', path: archive }, ...destinations],
  });
  const repo = fx.createRepo('svc');
  const ids = { BB_PROJECT_KEY: 'PROJ', BB_REPO_SLUG: 'svc', BB_USER_NAME: 'mia', BB_USER_DISPLAY_NAME: 'Mia Merger' };
  const base = repo.commit('a.txt', 'a\n', 'base');
  repo.push(['origin', 'main'], ids);
  repo.git(['checkout', '--quiet', '-b', 'feature/widget']);
  const feature = repo.commit('w.txt', 'w\n', 'PROJ-7 Add the widget');
  repo.push(['origin', 'feature/widget'], ids);
  // Bitbucket's merge: a no-ff merge commit with Bitbucket's message, reported by the hook script.
  repo.git(['checkout', '--quiet', 'main']);
  repo.git(['merge', '--quiet', '--no-ff', 'feature/widget', '-m', "Pull request #7: Add the widget\n\nMerge in PROJ/svc from feature/widget to main\n\n* commit 'x':\n  PROJ-7 Add the widget"]);
  const merge = repo.git(['rev-parse', 'HEAD']);
  repo.push(['origin', 'main'], {
    ...ids,
    BB_HOOK_TRIGGER_ID: 'pull-request-merge',
    BB_FROM_REF: 'refs/heads/feature/widget',
    BB_FROM_HASH: feature,
    BB_FROM_PROJECT_KEY: 'PROJ',
    BB_FROM_REPO_SLUG: 'svc',
    BB_TO_REF: 'refs/heads/main',
    BB_TO_HASH: base,
    BB_MERGE_HASH: merge,
    BB_MERGE_STRATEGY_ID: 'no-ff',
  });
  const daemon = await fx.startDaemon();
  t.teardown(() => daemon.child.kill('SIGKILL'));
  // 3 pushes: bbs 3+1, cloud 3+1, gh 3+1, gh-push-only 3.
  await waitUntil(() => receiver.requests.length >= 15 || null, '15 deliveries');

  const bbs = at(receiver.requests, '/bbs');
  t.same(bbs.map((r) => r.headers['x-event-key']), ['repo:refs_changed', 'repo:refs_changed', 'repo:refs_changed', 'pr:merged'], 'FIFO in the repository lane: the merge push, then pr:merged');
  const [push, pr] = bbs.slice(2);
  t.not(pr.headers['x-relay-delivery'], push.headers['x-relay-delivery'], 'own delivery id');
  t.not(pr.headers['x-request-id'], push.headers['x-request-id'], 'own X-Request-Id');
  for (const r of [push, pr]) {
    const sig256 = String(r.headers['x-hub-signature-256']);
    t.ok(await verify(SECRET, r.body.toString('utf8'), sig256), 'X-Hub-Signature-256 verifies');
    t.equal(r.headers['x-hub-signature'], sig256, 'X-Hub-Signature carries the same HMAC');
  }
  const merged = json(pr);
  t.match(merged, {
    eventKey: 'pr:merged',
    actor: { name: 'mia', displayName: 'Mia Merger' },
    pullRequest: {
      id: 7,
      title: 'Add the widget',
      state: 'MERGED',
      open: false,
      closed: true,
      fromRef: { id: 'refs/heads/feature/widget', displayId: 'feature/widget', latestCommit: feature, repository: { slug: 'svc', project: { key: 'PROJ' } } },
      toRef: { id: 'refs/heads/main', displayId: 'main', latestCommit: base },
      properties: { mergeCommit: { id: merge } },
      links: { self: [{ href: 'https://bitbucket.example.com/projects/PROJ/repos/svc/pull-requests/7' }] },
      reviewers: [],
      participants: [],
    },
  });
  t.equal(merged.pullRequest.author.user.name, 'mia', 'without REST or BB_PULL_REQUEST_AUTHOR_*: the user who merged');
  const events = readJsonLines(archive);
  const mergeEvent = events.find((e) => e.trigger === 'pull-request-merge');
  t.match(mergeEvent.pullRequest, { id: 7, title: 'Add the widget', source: 'hook', fromHash: feature, mergeHash: merge });
  t.match(mergeEvent.errors, [{ message: "pull request #7: description, reviewers, participants, dates and version not filled from Bitbucket's REST API: bitbucket.api is not configured" }], 'errors[] says what could not be filled and why');
  const pushed = json(push);
  t.equal(pushed.toCommit.id, merge);
  t.equal(pushed.commits.find((c: { id: string }) => c.id === merge).message, "Pull request #7: Add the widget\n\nMerge in PROJ/svc from feature/widget to main\n\n* commit 'x':\n  PROJ-7 Add the widget", 'no trailing newline');

  const cloud = at(receiver.requests, '/cloud');
  t.same(cloud.map((r) => r.headers['x-event-key']), ['repo:push', 'repo:push', 'repo:push', 'pullrequest:fulfilled']);
  t.match(json(cloud[3]).pullrequest, { id: 7, state: 'MERGED', source: { branch: { name: 'feature/widget' } }, destination: { branch: { name: 'main' } }, merge_commit: { hash: merge } });
  t.match(json(cloud[2]).push.changes[0].old.target, { hash: base, message: 'base', author: { raw: 'Ada Author <ada@example.com>' } }, 'old.target is the full old commit');

  const gh = at(receiver.requests, '/gh');
  t.same(gh.map((r) => r.headers['x-github-event']), ['push', 'push', 'push', 'pull_request']);
  t.match(json(gh[3]), { action: 'closed', number: 7, pull_request: { merged: true, merge_commit_sha: merge, head: { sha: feature }, base: { sha: base } } });
  t.same(at(receiver.requests, '/gh-push').map((r) => r.headers['x-github-event']), ['push', 'push', 'push'], 'github default: no pull_request');
});

t.test('a tag and a branch created on an existing commit: the full commit in every format', async (t) => {
  const receiver = await startReceiver();
  t.teardown(() => receiver.close());
  const retry = { baseDelay: '50ms', maxDelay: '200ms' };
  const fx = createRelayFixture({
    config: {
      destinations: [
        { name: 'bbs', type: 'http', url: `${receiver.url}/bbs`, format: 'bitbucket-server', retry },
        { name: 'cloud', type: 'http', url: `${receiver.url}/cloud`, format: 'bitbucket-cloud', retry },
        { name: 'gh', type: 'http', url: `${receiver.url}/gh`, format: 'github', retry },
      ],
    },
  });
  t.teardown(() => fx.cleanup());
  const repo = fx.createRepo('lib');
  const tip = repo.commit('a.txt', 'a\n', 'PROJ-9 Release candidate #ci\n\nNotes.');
  repo.push(['origin', 'main']);
  repo.git(['tag', 'v1.0.0']);
  repo.git(['branch', 'release/1.0']);
  repo.push(['origin', 'v1.0.0', 'release/1.0']);
  const daemon = await fx.startDaemon();
  t.teardown(() => daemon.child.kill('SIGKILL'));
  // bbs 2, cloud 2, gh 1 + 2.
  await waitUntil(() => receiver.requests.length >= 7 || null, '7 deliveries');

  const cloud = json(at(receiver.requests, '/cloud')[1]);
  for (const change of cloud.push.changes) {
    t.match(change.new.target, { hash: tip, message: 'PROJ-9 Release candidate #ci\n\nNotes.', author: { raw: 'Ada Author <ada@example.com>', user: { display_name: 'Ada Author' } }, parents: [] }, `${change.new.name}: new.target is the full commit`);
    t.equal(change.new.target.author.display_name, 'Ada Author', 'where ButterStack reads it');
  }
  const bbs = json(at(receiver.requests, '/bbs')[1]);
  t.match(bbs.toCommit, { id: tip, message: 'PROJ-9 Release candidate #ci\n\nNotes.' }, 'toCommit present');
  t.type(bbs.toCommit.committerTimestamp, 'number', 'committerTimestamp for Jenkins Branch Source');
  const gh = at(receiver.requests, '/gh').slice(1).map(json);
  t.same(gh.map((b) => b.ref).sort(), ['refs/heads/release/1.0', 'refs/tags/v1.0.0']);
  for (const b of gh) t.match(b.head_commit, { id: tip, distinct: false, added: ['a.txt'] }, `${b.ref}: head_commit with its files`);
});

t.test('with bitbucket.api: pr:merged carries the pull request from the local REST API (one GET per merge)', async (t) => {
  const receiver = await startReceiver();
  t.teardown(() => receiver.close());
  const bitbucket = await startFakeBitbucket({ tokens: { 'pr-token-9': 'user' } });
  t.teardown(() => bitbucket.close());
  const fx = createRelayFixture();
  t.teardown(() => fx.cleanup());
  const tokenFile = path.join(fx.root, 'bitbucket.token');
  writeFileSync(tokenFile, 'pr-token-9\n', { mode: 0o600 });
  const archive = path.join(fx.root, 'events.jsonl');
  fx.writeConfig({
    bitbucket: { baseUrl: 'https://bitbucket.example.com', api: { url: bitbucket.url, tokenFile, timeout: '5s' } },
    destinations: [
      { name: 'archive', type: 'file', path: archive },
      { name: 'port', type: 'http', url: `${receiver.url}/port`, format: 'bitbucket-server', retry: { baseDelay: '50ms', maxDelay: '200ms' } },
    ],
  });
  const repo = fx.createRepo('svc');
  const ids = { BB_PROJECT_KEY: 'PROJ', BB_REPO_SLUG: 'svc', BB_USER_NAME: 'mia' };
  const base = repo.commit('a.txt', 'a\n', 'base');
  repo.push(['origin', 'main'], ids);
  repo.git(['checkout', '--quiet', '-b', 'feature']);
  const feature = repo.commit('f.txt', 'f\n', 'feature work');
  repo.git(['checkout', '--quiet', 'main']);
  repo.git(['merge', '--quiet', '--no-ff', 'feature', '-m', 'Pull request #12: Feature work\n\nMerge in PROJ/svc from feature to main']);
  const merge = repo.git(['rev-parse', 'HEAD']);
  // Bitbucket's REST entity of the pull request (documented shape), as the fake serves it.
  const entity = JSON.parse(readFileSync(new URL('../fixtures/bitbucket/pull-request-57.json', import.meta.url), 'utf8'));
  Object.assign(entity, { id: 12, title: 'Feature work (from REST)', description: 'Why: PROJ-12.' });
  entity.fromRef = { ...entity.fromRef, id: 'refs/heads/feature', displayId: 'feature', latestCommit: feature };
  entity.links = { self: [{ href: 'https://bitbucket.example.com/projects/PROJ/repos/svc/pull-requests/12' }] };
  bitbucket.pullRequests.set('PROJ/svc/12', entity);
  repo.push(['origin', 'main'], { ...ids, BB_HOOK_TRIGGER_ID: 'pull-request-merge', BB_PULL_REQUEST_ID: '12', BB_FROM_REF: 'refs/heads/feature', BB_FROM_HASH: feature, BB_TO_REF: 'refs/heads/main', BB_TO_HASH: base, BB_MERGE_HASH: merge });
  const daemon = await fx.startDaemon();
  t.teardown(() => daemon.child.kill('SIGKILL'));
  await waitUntil(() => at(receiver.requests, '/port').length >= 3 || null, 'push, merge push, pr:merged');

  const [, , pr] = at(receiver.requests, '/port');
  t.equal(pr.headers['x-event-key'], 'pr:merged');
  t.match(json(pr).pullRequest, {
    id: 12,
    title: 'Feature work (from REST)',
    description: 'Why: PROJ-12.',
    version: 3,
    createdDate: 1716281100000,
    author: { user: { name: 'ohaddad', id: 118 } },
    reviewers: [{ user: { name: 'praman' }, approved: true, status: 'APPROVED' }],
    participants: [{ user: { name: 'jdoe' } }],
    fromRef: { latestCommit: feature },
    toRef: { latestCommit: base },
    properties: { mergeCommit: { id: merge } },
  });
  const prRequests = bitbucket.requests.filter((r) => r.path.endsWith('/pull-requests/12'));
  t.equal(prRequests.length, 1, 'one REST request for the merge');
  t.equal(prRequests[0].headers.authorization, 'Bearer pr-token-9');
  const mergeEvent = readJsonLines(archive).find((e) => e.trigger === 'pull-request-merge');
  t.equal(mergeEvent.pullRequest.source, 'rest');
  t.same(mergeEvent.errors, []);
  t.notMatch(daemon.output(), /pr-token-9/, 'the token in no log line');
});
