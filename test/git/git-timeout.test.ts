// A git that hangs (a stalled NFS mount): a `git` wrapper that sleeps stands
// in for it. GitRunner stops it after analysis.gitTimeout of silence — also
// when it ignores the interrupt — with an error naming the repository, the
// command and the setting; in the daemon the push fails with that error, other
// repositories go on, and the push is retried and relayed once git answers.

import t from 'tap';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { GitCommandError, GitRunner } from '../../src/git/run-git.ts';
import { createRelayFixture, readJsonLines, waitUntil } from '../helpers/relay-fixture.ts';

const REAL_GIT = execFileSync('sh', ['-c', 'command -v git']).toString().trim();

/** A directory holding a `git` that sleeps while `flag` exists for repositories matching `match`, else runs the real git. */
function hangingGit(dir: string, flag: string, match: string, options: { ignoreInterrupt?: boolean; pidFile?: string } = {}): string {
  const bin = path.join(dir, 'bin');
  mkdirSync(bin, { recursive: true });
  const hang = [
    options.pidFile ? `echo $$ > '${options.pidFile}'` : '',
    options.ignoreInterrupt ? "trap '' INT" : '',
    // exec: the sleep is the process simple-git interrupts (ignored signals stay ignored across exec).
    'exec sleep 300',
  ].filter(Boolean).join('; ');
  writeFileSync(path.join(bin, 'git'), `#!/bin/sh\ncase "$1" in *${match}*) if [ -e '${flag}' ]; then ${hang}; fi;; esac\nexec '${REAL_GIT}' "$@"\n`);
  chmodSync(path.join(bin, 'git'), 0o755);
  return bin;
}

t.test('GitRunner stops a silent git after the timeout, interrupted or not', async (t) => {
  const fx = createRelayFixture({ prefix: 'relay-gittimeout-' });
  t.teardown(() => fx.cleanup());
  const repo = fx.createRepo('stuck');
  repo.commit('a.txt', 'a\n', 'first');
  repo.push(['origin', 'main']);
  const flag = path.join(fx.root, 'hang');
  writeFileSync(flag, '');

  const bin = hangingGit(path.join(fx.root, 'a'), flag, 'stuck');
  const runner = new GitRunner(repo.bare, { gitBinary: path.join(bin, 'git'), timeoutMs: 300 });
  const error = await runner.run(['rev-list', '--stdin'], { input: 'main\n' }).then(() => null, (e: unknown) => e);
  t.ok(error instanceof GitCommandError, 'rejects with GitCommandError');
  t.equal((error as GitCommandError).timedOut, true);
  t.equal((error as GitCommandError).message, `git rev-list in ${repo.bare} produced no output for 300ms (analysis.gitTimeout) and was stopped`);
  t.equal(runner.stats.spawns, 1);

  // A git that ignores SIGINT (as one blocked in the kernel ignores everything): given up on after the grace.
  const pidFile = path.join(fx.root, 'stubborn.pid');
  const stubborn = hangingGit(path.join(fx.root, 'b'), flag, 'stuck', { ignoreInterrupt: true, pidFile });
  t.teardown(() => {
    if (existsSync(pidFile)) {
      try {
        process.kill(Number(readFileSync(pidFile, 'utf8')), 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
  });
  const runner2 = new GitRunner(repo.bare, { gitBinary: path.join(stubborn, 'git'), timeoutMs: 300 });
  await t.rejects(runner2.run(['log', '--oneline']), { name: 'GitCommandError', timedOut: true, message: /git log in .* produced no output for 300ms/ });
  const pid = Number(readFileSync(pidFile, 'utf8'));
  t.doesNotThrow(() => process.kill(pid, 0), 'the stubborn git still runs: the runner did not wait for it');

  // An empty input still closes stdin: a `--stdin` git gets EOF at once instead of waiting out the timeout.
  rmSync(flag);
  const empty = await new GitRunner(repo.bare, { timeoutMs: 60_000 }).run(['rev-list', '--stdin'], { input: '' });
  t.equal(empty.stdout.length, 0, 'rev-list --stdin with no revisions lists nothing and exits');

  // Output keeps a slow git alive: no timeout while it writes.
  const slow = path.join(fx.root, 'slow');
  mkdirSync(slow);
  writeFileSync(path.join(slow, 'git'), `#!/bin/sh\nfor i in 1 2 3 4 5 6; do echo tick; sleep 0.1; done\nexec '${REAL_GIT}' "$@"\n`);
  chmodSync(path.join(slow, 'git'), 0o755);
  const ticking = await new GitRunner(repo.bare, { gitBinary: path.join(slow, 'git'), timeoutMs: 300 }).run(['rev-parse', 'main']);
  t.match(ticking.stdout.toString(), /^(tick\n){6}[0-9a-f]{40}\n$/, 'six ticks 100 ms apart, then the answer: 600 ms in all, never 300 ms silent');
  // The same streamed (onStdout, as the log walk reads): the timeout still sees the output, and stdout is not also kept.
  const streamed: Buffer[] = [];
  const viaHandler = await new GitRunner(repo.bare, { gitBinary: path.join(slow, 'git'), timeoutMs: 300 }).run(['rev-parse', 'main'], { onStdout: (c) => streamed.push(c) });
  t.match(Buffer.concat(streamed).toString(), /^(tick\n){6}[0-9a-f]{40}\n$/, 'streamed without a timeout');
  t.equal(viaHandler.stdout.length, 0, 'a streamed stdout is not returned again');
});

t.test('daemon: a hung git fails that push with the timeout error, other repositories go on, the push is retried and relayed', async (t) => {
  const fx = createRelayFixture({ prefix: 'relay-gittimeout-', config: { analysis: { gitTimeout: '1s' } } });
  t.teardown(() => fx.cleanup());
  const stuck = fx.createRepo('stuck');
  const other = fx.createRepo('other');
  const flag = path.join(fx.root, 'hang');
  writeFileSync(flag, '');
  const bin = hangingGit(fx.root, flag, 'stuck');
  const daemon = await fx.startDaemon([], { PATH: `${bin}:${process.env.PATH}` });

  const first = stuck.commit('a.txt', 'a\n', 'stuck first');
  stuck.push(['origin', 'main']);
  const failed = await daemon.waitForLog((l) => /spool record not processed/.test(l.message));
  t.match(failed.error, new RegExp(`git \\S+ in ${stuck.bare.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} produced no output for 1s \\(analysis\\.gitTimeout\\) and was stopped`));
  t.ok(failed.retryInMs > 0, 'kept in the spool, retried later');

  const second = stuck.commit('a.txt', 'b\n', 'stuck second');
  stuck.push(['origin', 'main']);
  const elsewhere = other.commit('o.txt', 'o\n', 'other repository');
  other.push(['origin', 'main']);
  const archive = path.join(fx.root, 'events.jsonl');
  await waitUntil(() => readJsonLines(archive).some((e) => e.refs[0].after === elsewhere), 'the other repository relayed while stuck hangs');
  t.notOk(readJsonLines(archive).some((e) => e.repository.slug === 'stuck'), 'nothing from the hung repository yet');

  rmSync(flag);
  const events = await waitUntil(() => {
    const mine = readJsonLines(archive).filter((e) => e.repository.slug === 'stuck');
    return mine.length === 2 ? mine : null;
  }, 'both pushes to the hung repository relayed once git answers', 40_000);
  t.same(events.map((e) => e.refs[0].after), [first, second], 'in push order, none lost');
  t.same(events.flatMap((e) => e.errors ?? []), [], 'complete events');
  await waitUntil(() => fx.incoming().length === 0, 'spool drained');
});
