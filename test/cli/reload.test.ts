// Reload with a broken file keeps the old config: the daemon child logs the
// rejection with file:line:column (file watch and SIGHUP alike), deliveries
// continue, `relay status` (which finds the socket even in the broken file)
// says a restart would fail; a fixed file then applies.

import t from 'tap';
import { readFileSync, writeFileSync } from 'node:fs';
import { createGitFixture } from '../helpers/git-fixture.ts';
import { startReceiver } from '../helpers/receiver.ts';
import { eventually, makeRelayHome, pushChange, relay, startDaemon } from './cli-helpers.ts';

t.test('a broken config on reload is rejected and the old one keeps delivering', async (t) => {
  const rx = await startReceiver();
  t.teardown(() => rx.close());
  const git = createGitFixture('relay-reload-git-');
  t.teardown(() => git.cleanup());
  const home = makeRelayHome(t);
  const good = `destinations:\n  - name: ci\n    type: http\n    url: ${rx.url}/ci\n    secret: reload-SECRET-1\n`;
  home.writeConfig(good);
  const goodText = readFileSync(home.configFile, 'utf8');
  const push = (message: string): void => pushChange(git, home, message);
  const daemon = await startDaemon(t, home);
  push('one');
  await rx.waitFor(1);

  // Broken: an unknown key on line 11 (the helper writes 5 lines of paths first).
  writeFileSync(home.configFile, goodText + 'destinationz: []\n');
  const rejected = await daemon.waitForLog((l) => String(l.message).startsWith('config reload rejected'), 'the rejection of the changed file');
  t.equal(rejected.reason, 'config file changed', 'the file watch noticed');
  t.match(String(rejected.message), `config: ${home.configFile}:11:1: destinationz: unknown key "destinationz" (did you mean "destinations"?)`);
  const before = daemon.logs.filter((l) => String(l.message).startsWith('config reload rejected')).length;
  daemon.signal('SIGHUP');
  const hup = await daemon.waitForLog((l) => String(l.message).startsWith('config reload rejected') && l.reason === 'SIGHUP', 'the rejection on SIGHUP');
  t.match(String(hup.message), 'the running config stays');
  t.ok(daemon.logs.filter((l) => String(l.message).startsWith('config reload rejected')).length > before);

  push('two');
  await rx.waitFor(2);
  t.equal(rx.requests[1].url, '/ci', 'deliveries continue on the old config');

  const st = await relay(['status', '--config', home.configFile]);
  t.equal(st.code, 1, 'a config a restart would refuse needs attention');
  t.match(st.stdout, /daemon +running/, 'the socket path was recovered from the broken file');
  t.match(st.stdout, `${home.configFile} has 1 problem (the daemon keeps its running config; a restart would fail): run \`relay config check\``);
  const j = JSON.parse((await relay(['status', '--config', home.configFile, '--json'])).stdout);
  t.equal(j.config.valid, false);
  t.equal(j.daemon.counters.reloadFailures >= 2, true, 'both rejections counted');
  t.notOk(st.stdout.includes('reload-SECRET-1'));

  // Fixed, with a second destination: applies on the next reload.
  writeFileSync(home.configFile, goodText + `  - name: ci2\n    type: http\n    url: ${rx.url}/ci2\n`);
  await daemon.waitForLog((l) => l.message === 'config reloaded', 'the fixed config applied');
  push('three');
  await eventually(() => rx.requests.some((r) => r.url === '/ci2'), 'a delivery to the added destination');
  const after = JSON.parse((await relay(['status', '--config', home.configFile, '--json'])).stdout);
  t.same(after.destinations.map((d: { name: string }) => d.name), ['ci', 'ci2']);
  t.equal(after.config.valid, true);
  t.equal(await daemon.stop(), 0);
});
