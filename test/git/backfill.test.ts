// Backfill: planning ranges along the first-parent chain (whole branch,
// --since, --range, refusals), analysis into `trigger: backfill` events that
// together list every commit exactly once (merged side branches included),
// stable ids, and `relay backfill` with the daemon down (store written under
// the lock), re-runs, --dry-run, destinations, a progress bar on a terminal.

import t from 'tap';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { analyzeBackfillRange, chainToLines, planBackfill, BackfillError } from '../../src/git/backfill.ts';
import { DEFAULT_ANALYSIS_OPTIONS } from '../../src/git/analysis-options.ts';
import { openStore } from '../../src/store/store.ts';
import { createGitFixture, type GitFixture } from '../helpers/git-fixture.ts';
import { makeRelayHome, relay } from '../cli/cli-helpers.ts';

const ZERO = '0'.repeat(40);

/** main: c1 c2 c3 c4 m c5 (m merges feature: f1 f2 from c3); tag v1 at c2; feature pushed too. */
function history(t: { teardown(fn: () => void): void }): { git: GitFixture; c: Record<string, string> } {
  const git = createGitFixture('relay-backfill-');
  t.teardown(() => git.cleanup());
  const c: Record<string, string> = {};
  for (const n of ['c1', 'c2', 'c3']) {
    git.write(`${n}.txt`, n);
    c[n] = git.commit(`${n} PROJ-${n.slice(1)}`);
  }
  git.git(['checkout', '-q', '-b', 'feature']);
  for (const n of ['f1', 'f2']) {
    git.write(`${n}.txt`, n);
    c[n] = git.commit(n);
  }
  git.git(['checkout', '-q', 'main']);
  git.write('c4.txt', 'c4');
  c.c4 = git.commit('c4');
  execFileSync('git', ['merge', '-q', '--no-ff', '-m', 'merge feature', 'feature'], { cwd: git.work, env: { ...git.env, GIT_AUTHOR_DATE: '@1700000500 +0000', GIT_COMMITTER_DATE: '@1700000500 +0000' } });
  c.m = git.rev('HEAD');
  git.write('c5.txt', 'c5');
  c.c5 = git.commit('c5');
  git.git(['tag', 'v1', c.c2]);
  git.git(['push', '-q', 'origin', 'main', 'feature', 'v1']);
  return { git, c };
}

t.test('chainToLines: the root creates the branch, then ranges of N steps', async (t) => {
  t.same(chainToLines('refs/heads/main', null, ['a', 'b', 'c', 'd'], 2), [
    { before: ZERO, after: 'a', ref: 'refs/heads/main' },
    { before: 'a', after: 'c', ref: 'refs/heads/main' },
    { before: 'c', after: 'd', ref: 'refs/heads/main' },
  ]);
  t.same(chainToLines('refs/heads/main', 'x', ['a', 'b'], 5), [{ before: 'x', after: 'b', ref: 'refs/heads/main' }]);
  t.same(chainToLines('refs/heads/main', 'x', [], 5), []);
});

t.test('planning and analysis over a history with a merge', async (t) => {
  const { git, c } = history(t);
  const whole = await planBackfill(git.bare, { kind: 'ref', ref: 'main' }, { batch: 2 });
  t.equal(whole.ref, 'refs/heads/main');
  t.equal(whole.steps, 6, 'first-parent chain c1 c2 c3 c4 m c5');
  t.ok(whole.fromRoot);
  t.same(whole.lines.map((l) => [l.before, l.after]), [[ZERO, c.c1], [c.c1, c.c3], [c.c3, c.m], [c.m, c.c5]]);

  const options = { analysis: DEFAULT_ANALYSIS_OPTIONS, node: 'n1' };
  const events: Awaited<ReturnType<typeof analyzeBackfillRange>>[] = [];
  for (const line of whole.lines) events.push(await analyzeBackfillRange(whole, line, options));
  const listed = events.flatMap((e) => e.refs[0].commits);
  t.same([...listed].sort(), Object.values(c).sort(), 'every commit, the merged side branch too, exactly once');
  t.ok(events.every((e) => e.trigger === 'backfill' && e.errors.length === 0));
  t.ok(events.every((e) => Object.values(e.commits).every((x) => x.distinct)), 'all marked distinct');
  t.same(events[0].refs[0].change, 'create');
  t.same(new Set(events[2].refs[0].commits), new Set([c.c4, c.f1, c.f2, c.m]));
  const again = await analyzeBackfillRange(whole, whole.lines[1], { ...options, now: Date.now() + 60_000 });
  t.equal(again.id, events[1].id, 'the same range gets the same event id');
  t.not(events[1].id, events[2].id);

  const since = await planBackfill(git.bare, { kind: 'since', since: 1_700_000_000_000 + 4 * 60_000 }, { batch: 20 });
  t.same(since.lines, [{ before: c.c3, after: c.c5, ref: 'refs/heads/main' }], 'from the newest commit older than --since');
  const none = await planBackfill(git.bare, { kind: 'since', since: Date.now() + 86_400_000 }, { batch: 20 });
  t.same(none.lines, []);
  const range = await planBackfill(git.bare, { kind: 'range', from: c.c1, to: c.c4 }, { batch: 20 });
  t.same(range.lines, [{ before: c.c1, after: c.c4, ref: 'refs/heads/main' }], 'the default branch contains the range');
  const onFeature = await planBackfill(git.bare, { kind: 'range', from: c.f1, to: c.f2, ref: 'feature' }, { batch: 20 });
  t.same(onFeature.lines, [{ before: c.f1, after: c.f2, ref: 'refs/heads/feature' }]);

  await t.rejects(planBackfill(git.bare, { kind: 'range', from: c.c4, to: c.c2 }, { batch: 1 }), { name: 'BackfillError', message: /is not an ancestor of/ });
  await t.rejects(planBackfill(git.bare, { kind: 'ref', ref: 'v1' }, { batch: 1 }), { message: 'backfill replays branches; "v1" is refs/tags/v1' });
  await t.rejects(planBackfill(git.bare, { kind: 'ref', ref: 'nope' }, { batch: 1 }), BackfillError);
  await t.rejects(planBackfill(git.bare, { kind: 'range', from: 'nope', to: c.c2 }, { batch: 1 }), { message: /range start "nope" is not a commit/ });
});

t.test('relay backfill with the daemon down: queued in the store, idempotent, progress on a terminal', async (t) => {
  const { git } = history(t);
  const home = makeRelayHome(t);
  home.writeConfig(`destinations:
  - { name: ci, type: http, url: "http://127.0.0.1:9/hook", format: github }
  - { name: live-only, type: http, url: "http://127.0.0.1:9/other", match: { triggers: [push] } }
  - { name: archive, type: file, path: events.jsonl }
`);
  openStore(home.storePath).close();
  const C = ['--config', home.configFile];

  const dry = await relay(['backfill', ...C, '--repo', git.bare, '--ref', 'main', '--batch', '2', '--dry-run']);
  t.equal(dry.code, 0);
  t.equal(dry.stdout.trim().split('\n').length, 4);
  t.match(dry.stderr, /refs\/heads\/main: 6 first-parent commits in 4 events → ci, live-only/);

  const r = await relay(['backfill', ...C, '--repo', git.bare, '--ref', 'main', '--batch', '2']);
  t.equal(r.code, 0, r.stderr);
  t.match(r.stderr, `daemon is not running (no answer on ${home.socket}); changing the store directly: ${home.storePath}`);
  t.match(r.stdout, /^backfill: 4 events with 8 commits, 4 deliveries queued in the store; the daemon sends them when it runs$/m);
  t.match(r.stdout, /^left out by a destination's match: live-only 4$/m, 'ci takes them; live-only (triggers: [push]) takes none');
  const store = openStore(home.storePath, { readOnly: true });
  const rows = store.db.prepare(`SELECT e.trigger, d.destination, d.label FROM deliveries d JOIN events e ON e.id = d.event_id`).all() as { trigger: string; destination: string }[];
  store.close();
  t.equal(rows.length, 4);
  t.ok(rows.every((x) => x.trigger === 'backfill' && x.destination === 'ci'));

  const again = await relay(['backfill', ...C, '--repo', git.bare, '--ref', 'main', '--batch', '2'], { tty: true });
  t.equal(again.code, 0);
  t.match(again.stdout, /0 deliveries queued in the store; the daemon sends them when it runs; 4 already queued by an earlier run/);
  t.match(again.stderr, /\r\x1b\[2K\[#+-*\] \d\/4 events/, 'a progress bar on a terminal');
  t.notMatch(r.stderr, /\[#/, 'none without one');

  const file = await relay(['backfill', ...C, '--repo', git.bare, '--ref', 'main', '--dest', 'archive']);
  t.equal(file.code, 2);
  t.match(file.stderr, /destination "archive" is type file; backfill goes through the delivery queue/);
  const bad = await relay(['backfill', ...C, '--repo', join(home.dir, 'nope'), '--ref', 'main']);
  t.equal(bad.code, 2);
  t.match(bad.stderr, /cannot be read \(ENOENT\)/);
  t.equal((await relay(['backfill', ...C, '--repo', git.bare])).code, 2, 'which history must be said');
  t.equal((await relay(['backfill', ...C, '--repo', git.bare, '--range', 'a-b'])).code, 2);
});
