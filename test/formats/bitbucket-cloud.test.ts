// bitbucket-cloud format: repo:push as Bitbucket Cloud sends it, with what
// ButterStack's documentation says it reads (push.changes[].new.name,
// new.target.hash / message / author, commits[].hash / message /
// author.user.display_name).

import t from 'tap';
import { FIXTURE_NAMES, fixtureEvent } from '../fixtures/events/index.ts';
import { bitbucketCloudFormat } from '../../src/formats/bitbucket-cloud.ts';
import type { PushEvent } from '../../src/event/push-event.ts';

const ctx = { seed: 'seed', destination: 'butterstack', options: {} };
type Change = {
  old: { name: string; target: { hash: string } } | null;
  new: { type: string; name: string; target: { hash: string; message?: string; author?: { display_name: string; user: { display_name: string } } }; message?: string; tagger?: unknown } | null;
  created: boolean;
  closed: boolean;
  forced: boolean;
  truncated: boolean;
  commits: { hash: string; message: string; date: string; parents: { hash: string }[]; author: { raw: string; user: { display_name: string } }; links: { html: { href: string } } }[];
};
function changes(event: PushEvent, options = {}): Change[] {
  return JSON.parse(bitbucketCloudFormat.render(event, { ...ctx, options })[0].body.toString('utf8')).push.changes;
}

t.test('ButterStack fields on an update', async (t) => {
  const event = fixtureEvent('branch-update');
  const [c] = changes(event);
  const head = event.commits[event.refs[0].after];
  t.equal(c.new!.name, 'main');
  t.equal(c.new!.target.hash, head.id);
  t.equal(c.new!.target.message, head.message);
  t.equal(c.new!.target.author!.display_name, head.author.name, 'ButterStack reads target.author.display_name');
  t.equal(c.old!.target.hash, event.refs[0].before);
  t.same(c.commits.map((x) => x.hash), [...event.refs[0].commits].reverse(), 'newest first, like Cloud');
  t.equal(c.commits[0].author.user.display_name, head.author.name);
  t.equal(c.commits[0].author.raw, `${head.author.name} <${head.author.email}>`);
  t.same(c.commits[0].parents.map((p) => p.hash), head.parents);
  t.equal(c.commits[0].date, head.author.date);
  t.match(c.commits[0].links.html.href, /^https:\/\/bitbucket\.example\.com\/projects\/PLAT\/repos\/api-gateway\/commits\/[0-9a-f]{40}$/);
  t.same([c.created, c.closed, c.forced, c.truncated], [false, false, false, false]);
});

t.test('create, delete, forced, tags', async (t) => {
  const [create] = changes(fixtureEvent('branch-create'));
  t.equal(create.old, null);
  t.equal(create.created, true);
  const [del] = changes(fixtureEvent('branch-delete'));
  t.equal(del.new, null);
  t.equal(del.closed, true);
  t.same(del.commits, []);
  const [forced] = changes(fixtureEvent('forced-update'));
  t.equal(forced.forced, true);
  const [tag] = changes(fixtureEvent('tag-annotated'));
  t.equal(tag.new!.type, 'tag');
  t.equal(tag.new!.target.hash, fixtureEvent('tag-annotated').refs[0].tag!.target, 'an annotated tag targets its commit');
  t.match(tag.new!.message, /^Release 1\.4\.1/);
  t.ok(tag.new!.tagger);
});

t.test('commitLimit truncates and says so', async (t) => {
  const event = fixtureEvent('branch-update');
  const [c] = changes(event, { commitLimit: 2 });
  t.equal(c.commits.length, 2);
  t.equal(c.commits[0].hash, event.refs[0].after);
  t.equal(c.truncated, true);
});

t.test('headers: X-Event-Key, a request UUID per seed, a hook UUID per destination', async (t) => {
  const a = bitbucketCloudFormat.render(fixtureEvent('branch-update'), ctx)[0];
  const b = bitbucketCloudFormat.render(fixtureEvent('branch-update'), { ...ctx, seed: 'other' })[0];
  const c = bitbucketCloudFormat.render(fixtureEvent('branch-update'), { ...ctx, destination: 'other-dest' })[0];
  t.equal(a.headers['X-Event-Key'], 'repo:push');
  t.not(a.headers['X-Request-UUID'], b.headers['X-Request-UUID']);
  t.equal(a.headers['X-Hook-UUID'], b.headers['X-Hook-UUID']);
  t.not(a.headers['X-Hook-UUID'], c.headers['X-Hook-UUID']);
});

t.test('every scenario renders one request with one change per branch / tag', async (t) => {
  for (const name of FIXTURE_NAMES) {
    const event = fixtureEvent(name);
    const reqs = bitbucketCloudFormat.render(event, ctx);
    const expected = event.refs.filter((r) => r.kind !== 'other').length;
    const prMerged = name.startsWith('pr-merge') ? 1 : 0;
    t.equal(reqs.length, (expected ? 1 : 0) + prMerged, `${name}: requests`);
    if (reqs.length) t.equal(JSON.parse(reqs[0].body.toString('utf8')).push.changes.length, expected, `${name}: changes`);
  }
});

t.test('pullrequest:fulfilled carries what ButterStack\'s documented pull-request example reads', async (t) => {
  const reqs = bitbucketCloudFormat.render(fixtureEvent('pr-merge'), ctx);
  t.same(reqs.map((r) => r.headers['X-Event-Key']), ['repo:push', 'pullrequest:fulfilled']);
  t.not(reqs[1].headers['X-Request-UUID'], reqs[0].headers['X-Request-UUID'], 'own request id');
  const body = JSON.parse(reqs[1].body.toString('utf8'));
  t.match(body.pullrequest, {
    id: 57,
    title: 'PLAT-150 Reject tokens signed with none',
    state: 'MERGED',
    destination: { branch: { name: 'main' } },
    source: { branch: { name: 'feature/PLAT-150-alg-none' }, commit: { hash: '920772a7051f9512922cdcb7a85fafb68f81a5fc' } },
    merge_commit: { hash: '297dcebd42caa82f4729e90cb170ccdc71b73644' },
    author: { display_name: 'Omar Haddad' },
    reviewers: [{ display_name: 'Priya Raman' }],
    links: { html: { href: 'https://bitbucket.example.com/projects/PLAT/repos/api-gateway/pull-requests/57' } },
  });
  t.same(bitbucketCloudFormat.render(fixtureEvent('pr-merge'), { ...ctx, events: ['repo:push'] }).length, 1, 'events: [repo:push] leaves it out');
});

t.test('a tag or branch created on an existing commit: new.target is the full commit ButterStack reads', async (t) => {
  for (const name of ['tag-lightweight', 'branch-on-existing']) {
    const [req] = bitbucketCloudFormat.render(fixtureEvent(name), ctx);
    const change = JSON.parse(req.body.toString('utf8')).push.changes[0];
    t.match(change.new.target, { hash: '595a5bc7df074d6b0a1e2341b8cbecaef4c44515', message: 'PLAT-90 PLAT-91 Log the request id on every access line', author: { raw: 'Jane Doe <jane.doe@example.com>', display_name: 'Jane Doe', user: { display_name: 'Jane Doe' } }, date: '2024-05-15T11:58:13-04:00' }, `${name}: message and author`);
    t.equal(change.new.target.parents.length, 1);
  }
  const [update] = bitbucketCloudFormat.render(fixtureEvent('branch-update'), ctx);
  t.match(JSON.parse(update.body.toString('utf8')).push.changes[0].old.target, { hash: '1d385ea4214e5db1fdc4da46b3dfc4fa537409b8', message: 'PLAT-88 Return 401, not 500, on an expired token', author: { raw: 'Jane Doe <jane.doe@example.com>' } }, 'old.target in full too');
});
