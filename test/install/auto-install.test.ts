// hooks.autoInstall: new repositories get the hook while the watcher runs;
// existing ones lacking it get it at start.
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startHookAutoInstaller } from '../../src/install/auto-install.ts';
import type { InstallResult } from '../../src/install/bitbucket-hooks.ts';
import { repositoryHookPaths } from '../../src/install/bitbucket-layout.ts';
import { createLogger, type Log } from '../../src/log/logger.ts';
import { Writable } from 'node:stream';
import { createRepository, makeFakeBitbucketHome } from './fake-bitbucket.ts';

const dir = mkdtempSync(join(tmpdir(), 'relay-autoinstall-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const hookSource = new URL('../../hooks/post-receive', import.meta.url).pathname;
const hookBytes = readFileSync(hookSource);

/** A logger whose JSON lines land in `lines`. */
function captureLog(): { log: Log; lines: string[] } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      lines.push(...chunk.toString().split('\n').filter(Boolean));
      cb();
    },
  });
  return { log: createLogger({ format: 'json', level: 'debug', stream }), lines };
}

/** Resolves with the first result for repository `id`, or rejects after `ms`. */
function waitForResult(results: InstallResult[], id: string, ms = 10_000): Promise<InstallResult> {
  const deadline = Date.now() + ms;
  return (async () => {
    for (;;) {
      const hit = results.find((r) => r.repository.id === id);
      if (hit) return hit;
      if (Date.now() > deadline) throw new Error(`no install result for repository ${id} within ${ms} ms`);
      await sleep(25);
    }
  })();
}

for (const mode of ['inotify', 'polling'] as const) {
  t.test(`new repositories get the hook (${mode})`, async (t) => {
    const base = join(dir, mode);
    mkdirSync(base);
    const { home, template } = makeFakeBitbucketHome(base, [{ id: '1', projectKey: 'ABC', slug: 'old' }]);
    const results: InstallResult[] = [];
    const { log, lines } = captureLog();
    const installer = await startHookAutoInstaller({
      bitbucketHome: home,
      hookSource,
      log,
      usePolling: mode === 'polling',
      pollIntervalMs: 100,
      onResult: (r) => results.push(r),
    });
    t.teardown(() => installer.stop());
    await installer.swept;
    t.equal((await waitForResult(results, '1')).outcome, 'installed', 'existing repository lacking the hook got it at start');

    createRepository(home, template, { id: '2', projectKey: 'ABC', slug: 'new' });
    const r2 = await waitForResult(results, '2');
    t.equal(r2.outcome, 'installed');
    t.ok(readFileSync(repositoryHookPaths(r2.repository.path).hookFile).equals(hookBytes), 'hook content');

    // Bitbucket may create the directory before its template fills hooks/.
    const late = join(home, 'shared/data/repositories/3');
    mkdirSync(late);
    await sleep(400);
    t.notOk(results.some((r) => r.repository.id === '3'), 'waits for hooks/');
    execFileSync('git', ['init', '--quiet', '--bare', `--template=${template}`, late]);
    t.equal((await waitForResult(results, '3')).outcome, 'installed');
    t.ok(existsSync(join(late, 'hooks/post-receive.d/20_bitbucket_callback')), "Bitbucket's callback is there too");

    mkdirSync(join(home, 'shared/data/repositories/tmp-import'));
    await sleep(300);
    t.notOk(results.some((r) => r.repository.id === 'tmp-import'), 'non-numeric directories are not repositories');
    t.ok(lines.some((l) => l.includes('hook installed in new repository 2')), 'logs each install');
    await installer.stop();
  });
}

t.test('a wrong home fails at start with the reason', async (t) => {
  const { log } = captureLog();
  await t.rejects(startHookAutoInstaller({ bitbucketHome: join(dir, 'nope'), hookSource, log }), /shared\/data\/repositories does not exist/);
});

t.test('a repository that never gets hooks/ is reported, not installed', async (t) => {
  const base = join(dir, 'stuck');
  mkdirSync(base);
  const { home } = makeFakeBitbucketHome(base, []);
  const results: InstallResult[] = [];
  const { log, lines } = captureLog();
  const installer = await startHookAutoInstaller({ bitbucketHome: home, hookSource, log, settleTimeoutMs: 300, onResult: (r) => results.push(r) });
  // A new repository, not one the start-up sweep finds (it reports those as skipped).
  await installer.swept;
  mkdirSync(join(home, 'shared/data/repositories/7'));
  const deadline = Date.now() + 5000;
  while (!lines.some((l) => l.includes('repository 7 got no hooks/')) && Date.now() < deadline) await sleep(25);
  t.ok(lines.some((l) => l.includes('relay hooks install --repo 7')), 'warning says how to fix it');
  t.same(results, []);
  await installer.stop();
});
