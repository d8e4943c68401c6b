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
