// "Send now" once the receiver is fixed (issue 15 item 5): with the circuit
// open and retries minutes away, `relay test` offers `relay retry --dest D`,
// which sends every pending delivery at once and closes the circuit; bulk
// redeliver says what it selects (--pending / --delivered / --failed) and
// counts right, never resending delivered ones unasked.

import t from 'tap';
import { createGitFixture, type GitFixture } from '../helpers/git-fixture.ts';
import { startReceiver } from '../helpers/receiver.ts';
import { eventually, makeRelayHome, pushChange, relay, startDaemon } from './cli-helpers.ts';

t.test('circuit open, receiver fixed: relay test offers retry; retry sends the queue now and closes the circuit', async (t) => {
  let healthy = false;
  const rx = await startReceiver({ respond: () => (healthy ? { status: 200, body: 'ok' } : { status: 503, body: 'down for maintenance' }) });
  t.teardown(() => rx.close());
  const home = makeRelayHome(t, 'relay-retry-');
  home.writeConfig(`destinations:
  - name: ci
    type: http
    url: ${rx.url}/hook
    format: github
    retry: { baseDelay: 10m, maxDelay: 1h }
`);
  const C = ['--config', home.configFile];
  await startDaemon(t, home);
  // Five repositories: five lanes whose first attempts fail one after another → the circuit opens.
  const repos: GitFixture[] = [];
  for (let i = 0; i < 5; i++) {
    const git = createGitFixture(`relay-retry-git${i}-`);
    t.teardown(() => git.cleanup());
    repos.push(git);
    pushChange(git, home, `change ${i}`, { file: 'f.txt', env: { BB_PROJECT_KEY: 'PRJ', BB_REPO_SLUG: `repo${i}` } });
  }
  const ciState = async (): Promise<{ state: string; queued: number }> => {
    const r = await relay(['status', ...C, '--json']);
    return JSON.parse(r.stdout).destinations.find((d: { name: string }) => d.name === 'ci');
  };
  await eventually(async () => (await ciState())?.state === 'circuit-open', 'the circuit opened', 40_000);
  t.equal((await ciState()).queued, 5);

  // Nothing pending is selected by --delivered: no duplicates, and the count says so.
  const none = await relay(['redeliver', ...C, '--dest', 'ci', '--delivered', '--since', '1h', '--no-wait']);
  t.equal(none.code, 0, none.stderr);
  t.match(none.stdout, /^ci created since .*: 0 delivered sent again$/m);
  const usage = await relay(['redeliver', ...C, '--dest', 'ci', '--since', '1h']);
  t.equal(usage.code, 2);
  t.match(usage.stderr, '--pending (send queued ones now)');
  const unknown = await relay(['retry', ...C, '--dest', 'nope']);
  t.equal(unknown.code, 2);
  t.match(unknown.stderr, 'no destination named "nope"; configured: ci');

  healthy = true;
  const test = await relay(['test', 'ci', ...C]);
  t.equal(test.code, 0, test.stdout);
  t.match(test.stdout, '5 deliveries are queued for ci: send them now with `relay retry --dest ci`');
  const before = rx.requests.filter((r) => r.url === '/hook').length;

  const started = Date.now();
  const retry = await relay(['retry', ...C, '--dest', 'ci', '--wait']);
  t.equal(retry.code, 0, retry.stderr);
  t.match(retry.stdout, /^ci: 5 pending sent now$/m);
  t.match(retry.stdout, /^sent: 5 delivered, 0 dead$/m);
  t.ok(Date.now() - started < 60_000, 'not the 10 minutes the retry policy would have waited');
  const state = await ciState();
  t.equal(state.state, 'ok', 'the first success closed the circuit');
  t.equal(state.queued, 0);
  const sent = rx.requests.filter((r) => r.url === '/hook').slice(before);
  t.equal(new Set(sent.map((r) => r.headers['x-relay-delivery'])).size, 5, 'each pending delivery sent again, now accepted');

  const again = await relay(['redeliver', ...C, '--dest', 'ci', '--pending', '--failed', '--no-wait']);
  t.match(again.stdout, /^ci: 0 dead sent again, 0 pending sent now$/m, 'delivered ones are not resent by --pending/--failed');
});
