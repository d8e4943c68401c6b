// Reconciliation end to end: a real daemon process, real bare repositories,
// ref changes made WITHOUT any hook (git fetch / update-ref / commit-tree in
// the bare repository, as Bitbucket does for a web merge) and real pushes
// through the real hook. One (repository, ref, before, after) = one event.

import t from 'tap';
import type { Test } from 'tap';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { createRelayFixture, readJsonLines, waitUntil, HOOK_PATH, type RelayFixture, type TestRepo } from '../helpers/relay-fixture.ts';
import { assertValidPushEvent } from '../helpers/validate-event.ts';

const GIT_ENV = { GIT_AUTHOR_NAME: 'T', GIT_AUTHOR_EMAIL: 't@example.com', GIT_COMMITTER_NAME: 'T', GIT_COMMITTER_EMAIL: 't@example.com', GIT_CONFIG_NOSYSTEM: '1' };
const ZERO = '0'.repeat(40);

function bareGit(repo: TestRepo, args: string[], input?: string): string {
  return execFileSync('git', [`--git-dir=${repo.bare}`, ...args], { env: { ...process.env, ...GIT_ENV, HOME: path.dirname(repo.bare) }, input, stdio: ['pipe', 'pipe', 'pipe'] }).toString().trim();
}

/** Brings the clone's `from` into the bare repository as `to` without receive-pack (no hook runs). */
function hooklessUpdate(repo: TestRepo, from: string, to: string): string {
  bareGit(repo, ['fetch', '--quiet', repo.work, `+${from}:${to}`]);
  return bareGit(repo, ['rev-parse', to]);
}

/** A merge commit made inside the bare repository (what a web UI merge does): merge-tree, commit-tree, update-ref. */
function webMerge(repo: TestRepo, target: string, source: string, message: string): string {
  const tree = bareGit(repo, ['merge-tree', '--write-tree', target, source]).split('\n')[0];
  const commit = bareGit(repo, ['commit-tree', tree, '-p', target, '-p', source, '-m', message]);
  bareGit(repo, ['update-ref', target, commit]);
  return commit;
}

function fixture(t: Test, repoNames: string[], reconcile: Record<string, unknown> = {}): { fx: RelayFixture; repos: TestRepo[]; archive: string } {
  const fx = createRelayFixture({ prefix: 'relay-reconcile-' });
  t.teardown(() => fx.cleanup());
  const repos = repoNames.map((n) => fx.createRepo(n));
  fx.writeConfig({
    bitbucket: { repositories: repos.map((r, i) => ({ path: r.bare, projectKey: 'PROJ', slug: repoNames[i] })) },
    reconcile: { interval: '400ms', grace: '800ms', ...reconcile },
  });
  return { fx, repos, archive: path.join(fx.root, 'events.jsonl') };
}

const sweepDone = (l: Record<string, any>): boolean => l.message === 'reconciliation sweep';
/** Resolves after `n` more finished sweeps. */
async function moreSweeps(daemon: { logLines(): Record<string, any>[] }, n: number): Promise<void> {
  const before = daemon.logLines().filter(sweepDone).length;
  await waitUntil(() => (daemon.logLines().filter(sweepDone).length >= before + n ? true : null), `${n} more sweeps`);
}
/** Resolves once reconciliation recorded `n` repositories at first sight (changes after that are relayed, before it are history). */
async function firstSights(daemon: { logLines(): Record<string, any>[] }, n: number): Promise<void> {
  await waitUntil(() => (daemon.logLines().filter(sweepDone).reduce((sum, l) => sum + l.firstSight, 0) >= n ? true : null), `${n} repositories seen`);
}

t.test('a hook-less web merge reaches the destination as one reconciled event with commits, files and distinct', async (t) => {
  const { fx, repos: [repo], archive } = fixture(t, ['api']);
  const base = repo.commit('README', 'hello\n', 'initial');
  repo.push(['origin', 'main']);
  const daemon = await fx.startDaemon();
  await waitUntil(() => (readJsonLines(archive).length === 1 ? true : null), 'the pushed event');
  await firstSights(daemon, 1);

  // A feature branch arrives without the hook, then a merge made in the bare repository.
  repo.git(['checkout', '--quiet', '-b', 'feature']);
  const feature = repo.commit('src/feature.ts', 'export {}\n', 'PROJ-12 feature work');
  const featureSha = hooklessUpdate(repo, 'refs/heads/feature', 'refs/heads/feature');
  t.equal(featureSha, feature);
  const merge = webMerge(repo, 'refs/heads/main', 'refs/heads/feature', 'Merge pull request #3 from feature');

  // One sweep may see both changes (one event) or the branch first and the merge a sweep later (two events).
  const hasMerge = (e: any[]): boolean => e.some((x) => x.refs.some((r: any) => r.after === merge));
  await waitUntil(() => (hasMerge(readJsonLines(archive)) ? true : null), 'the reconciled merge', 20_000).catch((err) => {
    throw new Error(`${err.message}\n${daemon.logLines().filter((l) => l.level !== 'debug').slice(-12).map((l) => JSON.stringify(l)).join('\n')}`);
  });
  await moreSweeps(daemon, 3); // no extra event follows within more sweeps
  const reconciled = readJsonLines(archive).slice(1);
  t.ok(reconciled.length >= 1 && reconciled.length <= 2, `one or two reconciled events (${reconciled.length})`);
  for (const e of reconciled) {
    assertValidPushEvent(t, e);
    t.equal(e.trigger, 'reconciled');
    t.equal(e.actor.name, 'unknown', 'actor unknown');
  }
  const refs = reconciled.flatMap((e) => e.refs);
  t.equal(refs.length, 2, 'each ref update relayed exactly once');
  const byRef = Object.fromEntries(refs.map((r: any) => [r.ref, r]));
  t.same([byRef['refs/heads/feature'].before, byRef['refs/heads/feature'].after, byRef['refs/heads/feature'].change], [ZERO, feature, 'create']);
  t.same([byRef['refs/heads/main'].before, byRef['refs/heads/main'].after, byRef['refs/heads/main'].change], [base, merge, 'update']);
  // A commit as first relayed (a later event may list it again, no longer distinct).
  const commits = Object.assign({}, ...reconciled.map((e) => e.commits).reverse());
  const ev = { commits };
  t.ok(ev.commits[merge], 'merge commit analyzed');
  t.equal(ev.commits[feature].distinct, true, 'distinct: not on any ref as known before');
  t.ok(ev.commits[feature], 'feature commit analyzed');
  t.same(ev.commits[feature].files.map((f: any) => f.path), ['src/feature.ts'], 'files analyzed');
  t.same(ev.commits[feature].issueKeys, ['PROJ-12']);
  t.ok(byRef['refs/heads/main'].commits.includes(merge));
  const line = await daemon.waitForLog((l) => l.message === 'ref changes no hook reported, relayed as a reconciled event');
  t.match(line.hint, /relay hooks verify/);
});

t.test('the same update from the hook and from reconciliation: one event, whichever comes first', async (t) => {
  const { fx, repos: [repo], archive } = fixture(t, ['svc']);
  repo.commit('a', '1\n', 'one');
  repo.push(['origin', 'main']);
  const daemon = await fx.startDaemon();
  await waitUntil(() => (readJsonLines(archive).length === 1 ? true : null), 'first event');
  await firstSights(daemon, 1);

  // Hook first: a push; sweeps afterwards find nothing new.
  const two = repo.commit('a', '2\n', 'two');
  repo.push(['origin', 'main']);
  await waitUntil(() => (readJsonLines(archive).length === 2 ? true : null), 'pushed event');
  await moreSweeps(daemon, 3);
  t.equal(readJsonLines(archive).length, 2, 'hook first: no reconciled duplicate');

  // Reconciliation first: a hook-less update, relayed after the grace period ...
  const three = repo.commit('a', '3\n', 'three');
  hooklessUpdate(repo, 'refs/heads/main', 'refs/heads/main');
  await waitUntil(() => (readJsonLines(archive).length === 3 ? true : null), 'reconciled event');
  const rec = readJsonLines(archive)[2];
  t.equal(rec.trigger, 'reconciled');
  t.same([rec.refs[0].before, rec.refs[0].after], [two, three]);
  // ... then the hook reports the same update late (a hook script during a switch-over): no second event.
  execFileSync('sh', [HOOK_PATH], { cwd: repo.bare, env: { ...fx.pushEnv, GIT_DIR: repo.bare, BB_HOOK_TRIGGER_ID: 'repo-push' }, input: `${two} ${three} refs/heads/main\n` });
  await daemon.waitForLog((l) => l.message === 'push already relayed (same ref updates reported again); no second event');
  await waitUntil(() => (fx.incoming().length === 0 ? true : null), 'late record consumed');
  t.equal(readJsonLines(archive).length, 3, 'late hook record made no second event');

  // A retried hook (the same record twice) likewise.
  const four = repo.commit('a', '4\n', 'four');
  repo.push(['origin', 'main']);
  await waitUntil(() => (readJsonLines(archive).length === 4 ? true : null), 'fourth event');
  execFileSync('sh', [HOOK_PATH], { cwd: repo.bare, env: { ...fx.pushEnv, GIT_DIR: repo.bare }, input: `${three} ${four} refs/heads/main\n` });
  await waitUntil(() => (daemon.logLines().filter((l) => l.message === 'push already relayed (same ref updates reported again); no second event').length === 2 ? true : null), 'second duplicate noticed');
  t.equal(readJsonLines(archive).length, 4);
});

t.test('daemon down during hook pushes and hook-less changes: every change once, in order per repository', async (t) => {
  const { fx, repos: [a, b], archive } = fixture(t, ['alpha', 'beta']);
  const a0 = a.commit('f', '0\n', 'a0');
  a.push(['origin', 'main']);
  const b0 = b.commit('f', '0\n', 'b0');
  b.push(['origin', 'main']);
  let daemon = await fx.startDaemon();
  await waitUntil(() => (readJsonLines(archive).length === 2 ? true : null), 'two first events');
  await firstSights(daemon, 2);
  daemon.child.kill('SIGTERM');
  await daemon.exited;

  // Down: alpha gets push, hook-less, push on main; beta gets a hook-less change only, plus a hook-less tag.
  const a1 = a.commit('f', '1\n', 'a1');
  a.push(['origin', 'main']);
  const a2 = a.commit('f', '2\n', 'a2 (web edit)');
  hooklessUpdate(a, 'refs/heads/main', 'refs/heads/main');
  const a3 = a.commit('f', '3\n', 'a3');
  a.push(['origin', 'main']);
  const b1 = b.commit('f', '1\n', 'b1 (web merge)');
  hooklessUpdate(b, 'refs/heads/main', 'refs/heads/main');
  bareGit(b, ['update-ref', 'refs/tags/v1', b1]);

  daemon = await fx.startDaemon();
  const events = await waitUntil(() => {
    const e = readJsonLines(archive);
    return e.length >= 6 ? e : null;
  }, 'every change relayed', 30_000);
  await moreSweeps(daemon, 3);
  const all = readJsonLines(archive);
  t.equal(all.length, 6, 'no duplicates');
  const steps = (slug: string): string[] => all.filter((e) => e.repository.slug === slug).slice(1).flatMap((e) => e.refs.map((r: any) => `${e.trigger}:${r.ref}:${r.before.slice(0, 7)}..${r.after.slice(0, 7)}`));
  const s = (x: string): string => x.slice(0, 7);
  t.same(steps('alpha'), [`push:refs/heads/main:${s(a0)}..${s(a1)}`, `reconciled:refs/heads/main:${s(a1)}..${s(a2)}`, `push:refs/heads/main:${s(a2)}..${s(a3)}`], 'alpha: push, the gap, push — in order');
  t.same(steps('beta').sort(), [`reconciled:refs/heads/main:${s(b0)}..${s(b1)}`, `reconciled:refs/tags/v1:${ZERO.slice(0, 7)}..${s(b1)}`].sort(), 'beta: the hook-less changes');
  for (const e of events) assertValidPushEvent(t, e);
  void daemon;
});
