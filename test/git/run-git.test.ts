// GitRunner on simple-git: a git that writes nothing (rev-list of a branch
// created on known commits, of a deleted ref) finishes when it exits.
// simple-git's completion step waits 50 ms more for a silent command; the
// runner tells it the output is complete. Compared with calls that do write,
// by their fastest of several runs (robust on a loaded machine).

import t from 'tap';
import { createRelayFixture } from '../helpers/relay-fixture.ts';
import { GitRunner } from '../../src/git/run-git.ts';

async function fastest(runs: number, call: () => Promise<unknown>): Promise<number> {
  let best = Infinity;
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    await call();
    best = Math.min(best, performance.now() - started);
  }
  return best;
}

t.test('a git that writes nothing completes as soon as it exits, with empty output', async (t) => {
  const fx = createRelayFixture({ prefix: 'relay-rungit-' });
  t.teardown(() => fx.cleanup());
  const repo = fx.createRepo('quiet');
  repo.commit('a.txt', 'a\n', 'first');
  repo.push(['origin', 'main']);
  const git = new GitRunner(repo.bare);

  const quiet = await git.run(['rev-list', '--stdin', '--max-count=0'], { input: 'main\n' });
  t.equal(quiet.stdout.length, 0, 'nothing written, nothing returned');
  const streamed: Buffer[] = [];
  await git.run(['rev-list', '--stdin', '--max-count=0'], { input: 'main\n', onStdout: (c) => streamed.push(c) });
  t.equal(Buffer.concat(streamed).length, 0, 'a streaming caller gets no bytes either');
  const loud = await git.run(['rev-list', '--stdin', '--max-count=1'], { input: 'main\n' });
  t.match(loud.stdout.toString(), /^[0-9a-f]{40}\n$/, 'a call that writes still returns its output');

  const silentMs = await fastest(5, () => git.run(['rev-list', '--stdin', '--max-count=0'], { input: 'main\n' }));
  const writingMs = await fastest(5, () => git.run(['rev-list', '--stdin', '--max-count=1'], { input: 'main\n' }));
  t.ok(silentMs < writingMs + 40, `a silent git is not held 50 ms longer (fastest silent ${silentMs.toFixed(1)} ms, writing ${writingMs.toFixed(1)} ms)`);
});
