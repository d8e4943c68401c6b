// Reconciliation on file-system notices (reconcile.watch): a real daemon
// process, real bare repositories, reconcile.interval one hour (so only a
// notice can find a change during the test), events at a real HTTP receiver.
//   - a ref moved with `git update-ref` (no hook) arrives as one reconciled
//     event, with no sweep in between;
//   - a hook record for the same change that arrives within the grace
//     period wins: one event, the hook's;
//   - with reconcile.watch off, the interval sweep finds it (no notices).

import t from 'tap';
import type { Test } from 'tap';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { createRelayFixture, waitUntil, HOOK_PATH, type RelayFixture, type TestRepo } from '../helpers/relay-fixture.ts';
import { startReceiver, type Receiver, type ReceivedRequest } from '../helpers/receiver.ts';

const GIT_ENV = { GIT_AUTHOR_NAME: 'W', GIT_AUTHOR_EMAIL: 'w@example.com', GIT_COMMITTER_NAME: 'W', GIT_COMMITTER_EMAIL: 'w@example.com', GIT_CONFIG_NOSYSTEM: '1' };

function bareGit(repo: TestRepo, args: string[], input?: string): string {
  return execFileSync('git', [`--git-dir=${repo.bare}`, ...args], { env: { ...process.env, ...GIT_ENV, HOME: path.dirname(repo.bare) }, input, stdio: ['pipe', 'pipe', 'pipe'] }).toString().trim();
}

/** A commit made inside the bare repository (a web edit): one file, parent `parent` (or none). */
function bareCommit(repo: TestRepo, file: string, content: string, message: string, parent?: string): string {
  const blob = bareGit(repo, ['hash-object', '-w', '--stdin'], content);
  const tree = bareGit(repo, ['mktree'], `100644 blob ${blob}\t${file}\n`);
  return bareGit(repo, ['commit-tree', tree, ...(parent ? ['-p', parent] : []), '-m', message]);
}

const body = (r: ReceivedRequest): any => JSON.parse(r.body.toString('utf8'));
const sweeps = (lines: Record<string, any>[]): Record<string, any>[] => lines.filter((l) => l.message === 'reconciliation sweep');

async function setup(t: Test, reconcile: Record<string, unknown>): Promise<{ fx: RelayFixture; repo: TestRepo; receiver: Receiver; base: string }> {
  const receiver = await startReceiver();
  t.teardown(() => receiver.close());
  const fx = createRelayFixture({ prefix: 'relay-reconcile-watch-' });
  t.teardown(() => fx.cleanup());
  const repo = fx.createRepo('api');
  // The repository already has history when the daemon first sees it (first sight: recorded, not relayed).
  const base = bareCommit(repo, 'README', 'hello\n', 'initial');
  bareGit(repo, ['update-ref', 'refs/heads/main', base]);
  fx.writeConfig({
    bitbucket: { repositories: [{ path: repo.bare, projectKey: 'PROJ', slug: 'api' }] },
    reconcile: { interval: '1h', ...reconcile },
    destinations: [{ name: 'portal', type: 'http', url: `${receiver.url}/events`, format: 'pushevent', retry: { baseDelay: '50ms', maxDelay: '200ms' } }],
  });
  return { fx, repo, receiver, base };
}

t.test('a ref moved with git update-ref (no hook) reaches the receiver on a file-system notice, not at the interval', async (t) => {
  const { fx, repo, receiver, base } = await setup(t, { grace: '300ms' });
  const daemon = await fx.startDaemon();
  await waitUntil(() => (sweeps(daemon.logLines()).some((l) => l.firstSight === 1) ? true : null), 'first sight at the start sweep');
  t.equal(sweeps(daemon.logLines()).at(-1)!.watched, 1, 'the repository is watched');

  const edit = bareCommit(repo, 'README', 'hello web\n', 'PROJ-7 edited in the web UI', base);
  bareGit(repo, ['update-ref', 'refs/heads/main', edit, base]);
  await receiver.waitFor(1, 20_000);
  const e = body(receiver.requests[0]);
  t.equal(e.trigger, 'reconciled');
  t.same(e.refs.map((r: any) => [r.ref, r.before, r.after]), [['refs/heads/main', base, edit]]);
  t.same(e.commits[edit].issueKeys, ['PROJ-7'], 'commits analyzed as usual');
  t.equal(sweeps(daemon.logLines()).length, 1, 'no sweep ran since the start sweep: the notice found it');
  const look = daemon.logLines().find((l) => l.message === 'reconciliation looked at a repository' && l.reason === 'notice');
  t.ok(look, 'looked after a notice');

  // A new branch in a new directory under refs/heads (a directory the watch did not know yet), then a tag.
  bareGit(repo, ['update-ref', 'refs/heads/feature/web', edit]);
  await receiver.waitFor(2, 20_000);
  t.same(body(receiver.requests[1]).refs.map((r: any) => [r.ref, r.change]), [['refs/heads/feature/web', 'create']]);
  const fix = bareCommit(repo, 'README', 'hello web, fixed\n', 'fix', edit);
  bareGit(repo, ['update-ref', 'refs/heads/feature/web', fix, edit]);
  await receiver.waitFor(3, 20_000);
  t.same(body(receiver.requests[2]).refs.map((r: any) => [r.ref, r.before, r.after]), [['refs/heads/feature/web', edit, fix]], 'a change inside the new directory is noticed too');
  t.equal(sweeps(daemon.logLines()).length, 1, 'still no second sweep');
});

t.test('a hook record arriving within the grace period wins over the notice: one event, the hook\'s', async (t) => {
  const { fx, repo, receiver, base } = await setup(t, { grace: '4s' });
  const daemon = await fx.startDaemon();
  await waitUntil(() => (sweeps(daemon.logLines()).some((l) => l.firstSight === 1) ? true : null), 'first sight at the start sweep');

  const next = bareCommit(repo, 'README', 'hello again\n', 'pushed late', base);
  bareGit(repo, ['update-ref', 'refs/heads/main', next, base]);
  // The notice saw the difference and holds it for the grace period ...
  await daemon.waitForLog((l) => l.message === 'reconciliation looked at a repository' && l.reason === 'notice' && l.pending === 1);
  // ... during which the hook reports the same update (a hook slow to run, a hook script), listing it twice.
  execFileSync('sh', [HOOK_PATH], { cwd: repo.bare, env: { ...fx.pushEnv, GIT_DIR: repo.bare }, input: `${base} ${next} refs/heads/main\n${base} ${next} refs/heads/main\n` });
  await receiver.waitFor(1, 20_000);
  // The look at grace end finds nothing left to relay.
  await daemon.waitForLog((l) => l.message === 'reconciliation looked at a repository' && l.reason === 'grace' && l.pending === 0 && l.relaying === false);
  t.equal(receiver.requests.length, 1, 'one change, one event');
  const e = body(receiver.requests[0]);
  t.equal(e.trigger, 'push', 'the hook\'s event');
  t.same(e.refs.map((r: any) => [r.before, r.after]), [[base, next]], 'the update once, though the record listed it twice');
  t.notOk(daemon.logLines().some((l) => l.message === 'reconciliation relayed ref changes no hook reported'), 'no reconciled event');
});

t.test('reconcile.watch: false — no watch; the interval sweep still finds a hook-less change', async (t) => {
  const { fx, repo, receiver, base } = await setup(t, { grace: '0s', watch: false, interval: '500ms' });
  const daemon = await fx.startDaemon();
  await waitUntil(() => (sweeps(daemon.logLines()).some((l) => l.firstSight === 1) ? true : null), 'first sight at the start sweep');
  t.equal(sweeps(daemon.logLines()).at(-1)!.watched, 0, 'nothing watched');
  const sweepsBefore = sweeps(daemon.logLines()).length;
  const next = bareCommit(repo, 'README', 'x\n', 'web edit', base);
  bareGit(repo, ['update-ref', 'refs/heads/main', next, base]);
  await receiver.waitFor(1, 20_000);
  t.same(body(receiver.requests[0]).refs.map((r: any) => [r.before, r.after]), [[base, next]]);
  t.ok(sweeps(daemon.logLines()).length > sweepsBefore, 'found by a sweep');
  t.notOk(daemon.logLines().some((l) => l.message === 'reconciliation looked at a repository' && l.reason === 'notice'), 'no notice look');

  // Turning the watch on in the running daemon's config is not silently ignored: it applies at restart, and says so.
  fx.writeConfig({
    bitbucket: { repositories: [{ path: repo.bare, projectKey: 'PROJ', slug: 'api' }] },
    reconcile: { interval: '500ms', grace: '0s', watch: true },
    destinations: [{ name: 'portal', type: 'http', url: `${receiver.url}/events`, format: 'pushevent', retry: { baseDelay: '50ms', maxDelay: '200ms' } }],
  });
  const warned = await daemon.waitForLog((l) => l.message === 'reconcile changed in the config; it takes effect at the next restart');
  t.match(warned.configured, /"watch":true/);
});
