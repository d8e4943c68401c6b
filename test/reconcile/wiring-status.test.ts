// Operators see the wiring: a real daemon with reconciliation and bitbucket.api
// (fake Bitbucket REST server): `relay status` shows a line per wiring and
// raises attention for a repository whose change arrived only through
// reconciliation; /metrics carries the reconciled count and sweep duration;
// the daemon enables the registered hook script on a project created later.

import t from 'tap';
import { execFile, execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { createRelayFixture, readJsonLines, waitUntil, RELAY_BIN } from '../helpers/relay-fixture.ts';
import { startFakeBitbucket } from '../helpers/fake-bitbucket.ts';
import { POST_TRIGGERS } from '../../src/bitbucket/hook-scripts.ts';

/** A port nothing listens on right now. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

const TOKEN = 'BBDC-wiring-admin-token-1234';

t.test('status wiring lines, reconciled-only attention, metrics, hook script enabled on a new project', async (t) => {
  const fake = await startFakeBitbucket({ tokens: { [TOKEN]: 'sysadmin' }, projects: ['PROJ'] });
  t.teardown(() => fake.close());
  const fx = createRelayFixture({ prefix: 'relay-wiring-' });
  t.teardown(() => fx.cleanup());
  const tokenFile = path.join(fx.root, 'token');
  writeFileSync(tokenFile, TOKEN + '\n', { mode: 0o600 });
  const repo = fx.createRepo('api');
  fx.writeConfig({
    bitbucket: { repositories: [{ path: repo.bare, projectKey: 'PROJ', slug: 'api' }], api: { url: fake.url, tokenFile } },
    reconcile: { interval: '300ms', grace: '500ms' },
    hooks: { autoInstall: true, scriptsInterval: '300ms' },
    metrics: { listen: `127.0.0.1:${await freePort()}` },
  });
  // `relay` runs asynchronously: the fake Bitbucket answers from this process (the daemon's checks too).
  const relay = (...args: string[]): Promise<{ code: number; stdout: string; out: string }> =>
    new Promise((resolve) => {
      execFile(process.execPath, [RELAY_BIN, ...args, '--config', fx.configFile], (err, stdout, stderr) => resolve({ code: err ? Number(err.code) : 0, stdout, out: stdout + stderr }));
    });
  const installed = await relay('hooks', 'install', '--scripts', '--keep-file-hooks');
  t.equal(installed.code, 0, installed.out);
  const [script] = [...fake.scripts.values()];

  repo.commit('a', '1\n', 'one');
  repo.push(['origin', 'main']);
  const daemon = await fx.startDaemon();
  const archive = path.join(fx.root, 'events.jsonl');
  await waitUntil(() => (readJsonLines(archive).length === 1 ? true : null), 'pushed event');
  await waitUntil(() => (daemon.logLines().some((l) => l.message === 'reconciliation sweep' && l.firstSight === 1) ? true : null), 'first sight');

  // A project created later gets the script from the daemon.
  fake.addProject('LATER');
  await waitUntil(() => (fake.configs.get('LATER')?.get(script.id) ? true : null), 'script enabled on LATER');
  t.same(fake.configs.get('LATER')!.get(script.id), [...POST_TRIGGERS]);

  // A hook-less change: reconciled, then status says where it came from.
  repo.commit('a', '2\n', 'two (web edit)');
  execFileSync('git', [`--git-dir=${repo.bare}`, 'fetch', '--quiet', repo.work, '+refs/heads/main:refs/heads/main']);
  await waitUntil(() => (readJsonLines(archive).length === 2 ? true : null), 'reconciled event');

  // The daemon's record of its check follows its PUT by a moment: wait for the fact.
  const status = await waitUntil(async () => {
    const r = await relay('status');
    return /hook script: enabled in 2 of 2 projects/.test(r.stdout) ? r : null;
  }, 'status showing both projects');
  t.equal(status.code, 1, 'attention');
  t.match(status.stdout, /wiring   file hooks: not counted \(bitbucket\.home not set\)/);
  t.match(status.stdout, /hook script: enabled in 2 of 2 projects/);
  t.match(status.stdout, /reconciliation: on, last sweep \S+ \(1 repositories, \d+ ms\), 1 ref changes relayed since start, file-system notices on 1 of 1 repositories\n/);
  t.match(status.stdout, /PROJ\/api: 1 ref change arrived only through reconciliation in the last 24 h: its hook wiring is missing; run `relay hooks verify`/);
  const json = JSON.parse((await relay('status', '--json')).stdout);
  t.same(json.wiring.reconciledOnly, [{ repo: 'PROJ/api', count: 1 }]);
  t.equal(json.wiring.reconcile.watched, 1, 'the repository is on file-system notices');

  const listening = await daemon.waitForLog((l) => l.message === 'metrics listening');
  const text = await (await fetch(listening.url)).text();
  t.match(text, /relay_reconciled_ref_changes_total 1/);
  t.match(text, /relay_reconcile_sweep_duration_seconds \d/);
});
