// Routing table: each row is a `match:` block, a fixture event, and what the
// destination receives — the refs kept (null: nothing, recorded as such).

import t from 'tap';
import { routeEvent, routeEventExplained } from '../../src/route/match-event.ts';
import { fixtureEvent } from '../fixtures/events/index.ts';
import type { MatchConfig } from '../../src/config/config-types.ts';

const TABLE: [label: string, match: MatchConfig | undefined, fixture: string, refs: string[] | null][] = [
  ['no match block: everything', undefined, 'multi-ref', ['refs/heads/main', 'refs/heads/release/2.0', 'refs/tags/v2.0.0', 'refs/notes/commits']],
  ['empty match block: everything', {}, 'multi-ref', ['refs/heads/main', 'refs/heads/release/2.0', 'refs/tags/v2.0.0', 'refs/notes/commits']],
  ['project listed', { projects: ['PLAT'] }, 'branch-update', ['refs/heads/main']],
  ['project key case-insensitive', { projects: ['plat'] }, 'branch-update', ['refs/heads/main']],
  ['project not listed', { projects: ['OPS', 'WEB'] }, 'branch-update', null],
  ['repo glob', { repos: ['PLAT/api-*'] }, 'branch-update', ['refs/heads/main']],
  ['repo glob misses', { repos: ['PLAT/web-*', 'OPS/*'] }, 'branch-update', null],
  ['ref glob keeps only release branches', { refs: ['refs/heads/release/**'] }, 'multi-ref', ['refs/heads/release/2.0']],
  ['short ref names', { refs: ['main', 'v*'] }, 'multi-ref', ['refs/heads/main', 'refs/tags/v2.0.0']],
  ['tags only', { refs: ['refs/tags/**'] }, 'multi-ref', ['refs/tags/v2.0.0']],
  ['ref glob misses', { refs: ['refs/heads/hotfix/**'] }, 'multi-ref', null],
  ['changes: create', { changes: ['create'] }, 'multi-ref', ['refs/heads/release/2.0', 'refs/tags/v2.0.0']],
  ['changes: delete (CDS cleans up runs)', { changes: ['delete'] }, 'branch-delete', ['refs/heads/feature/PLAT-101-rate-limit']],
  ['changes: delete on an update', { changes: ['delete'] }, 'branch-update', null],
  ['trigger: pull-request-merge', { triggers: ['pull-request-merge'] }, 'pr-merge', ['refs/heads/main']],
  ['trigger: pull-request-merge on a plain push', { triggers: ['pull-request-merge'] }, 'branch-update', null],
  ['paths: dot-directories match', { paths: ['.github/**'] }, 'multi-ref', ['refs/heads/main', 'refs/heads/release/2.0']],
  ['paths: no commit touches it', { paths: ['src/**'] }, 'multi-ref', null],
  ['paths: truncated file list is kept (cannot rule it out)', { paths: ['nowhere/**'] }, 'unknown-identity', ['refs/heads/master']],
  ['paths: a delete has no commits', { paths: ['**'] }, 'branch-delete', null],
  ['requireIssueKey: keys present', { requireIssueKey: true }, 'branch-update', ['refs/heads/main']],
  ['requireIssueKey: a tag of old commits has none', { requireIssueKey: true }, 'tag-annotated', null],
  ['requireIssueKey false: no filter', { requireIssueKey: false }, 'tag-annotated', ['refs/tags/v1.4.1']],
  ['all criteria together', { projects: ['PLAT'], repos: ['PLAT/*'], refs: ['refs/heads/**'], changes: ['update', 'create'], paths: ['docs/**'], requireIssueKey: true }, 'multi-ref', ['refs/heads/main', 'refs/heads/release/2.0']],
  ['all criteria, one fails', { projects: ['PLAT'], refs: ['refs/heads/**'], changes: ['delete'] }, 'multi-ref', null],
];

t.test('routing table', async (t) => {
  for (const [label, match, fixture, expected] of TABLE) {
    const routed = routeEvent(fixtureEvent(fixture), match);
    t.same(routed ? routed.refs.map((r) => r.ref) : null, expected, label);
  }
});

t.test('a narrowed copy keeps only the commits its refs reference', async (t) => {
  const event = fixtureEvent('multi-ref');
  const notesOnly = routeEvent(event, { refs: ['refs/notes/**'] })!;
  t.same(notesOnly.refs.map((r) => r.ref), ['refs/notes/commits']);
  t.same(notesOnly.commits, {}, 'refs/notes references no commit of the event');
  t.equal(notesOnly.totalCommits, 0);
  const tagOnly = routeEvent(event, { refs: ['refs/tags/**'] })!;
  t.same(Object.keys(tagOnly.commits), [event.refs[2].tag!.target], 'a tag keeps the commit it points at');
  const main = routeEvent(event, { refs: ['main'] })!;
  t.same(Object.keys(main.commits).sort(), [...event.refs[0].commits].sort());
  t.equal(main.id, event.id, 'same event id');
  t.same(event.refs.length, 4, 'the input is not modified');
});

t.test('paths: renames match by old or new path; complete file lists can rule a ref out', async (t) => {
  const event = fixtureEvent('unknown-identity');
  for (const c of Object.values(event.commits)) c.filesTruncated = false;
  t.ok(routeEvent(event, { paths: ['docs/overview.md'] }), 'old path of a rename');
  t.ok(routeEvent(event, { paths: ['docs/Übersicht.md'] }), 'new path of a rename');
  t.equal(routeEvent(event, { paths: ['nowhere/**'] }), null, 'complete evidence, no match');
});

t.test('an event that matches entirely is returned as is', async (t) => {
  const event = fixtureEvent('branch-update');
  t.equal(routeEvent(event, { projects: ['PLAT'], refs: ['main'] }), event);
});

t.test('a miss says which criterion failed', async (t) => {
  t.match(routeEventExplained(fixtureEvent('branch-update'), { projects: ['OPS'] }).reason, /^projects: PLAT is not one of OPS$/);
  t.match(routeEventExplained(fixtureEvent('multi-ref'), { refs: ['refs/heads/hotfix/**'] }).reason, /^refs: no ref matches refs\/heads\/hotfix\/\*\*$/);
  t.match(routeEventExplained(fixtureEvent('tag-annotated'), { requireIssueKey: true }).reason, /^requireIssueKey/);
  t.equal(routeEventExplained(fixtureEvent('branch-update'), {}).reason, null);
});
