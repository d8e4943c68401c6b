// A config using ${VAR} that only the service's environment sets (the
// README's own example): from an admin shell without the variable, status
// must not raise a false alarm, and every message names the variable, says it
// is unset *in this shell* and whether the unit's EnvironmentFile sets it.
// Issue 15 item 2.

import t from 'tap';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startReceiver } from '../helpers/receiver.ts';
import { readUnitEnvironment } from '../../src/config/unit-environment.ts';
import { makeRelayHome, relay, startDaemon } from './cli-helpers.ts';

t.test('unit environment: Environment=, EnvironmentFile= (optional, quoted, drop-ins), unreadable files', async (t) => {
  const home = makeRelayHome(t, 'relay-unitenv-parse-');
  const unit = join(home.dir, 'relay.service');
  writeFileSync(unit, `[Service]\nEnvironment=A=1 "B=two words"\nEnvironmentFile=-${home.dir}/missing.env\nEnvironmentFile=${home.dir}/relay.env\n`);
  writeFileSync(join(home.dir, 'relay.env'), '# comment\nC="three"\nA=overridden\n');
  const env = readUnitEnvironment(unit);
  t.ok(env.found);
  t.same(Object.fromEntries([...env.vars].map(([k, v]) => [k, v.value])), { A: 'overridden', B: 'two words', C: 'three' });
  t.equal(env.vars.get('C')?.source, `EnvironmentFile ${home.dir}/relay.env`);
  t.same(env.unreadable, [{ path: `${home.dir}/missing.env`, reason: 'ENOENT' }]);
  t.notOk(readUnitEnvironment(join(home.dir, 'nope.service')).found);
});

t.test('${CI_SECRET} set only for the service: status and test from a shell without it', async (t) => {
  const rx = await startReceiver({ respond: () => ({ status: 200, body: 'ok' }) });
  t.teardown(() => rx.close());
  const home = makeRelayHome(t, 'relay-unitenv-');
  home.writeConfig(`destinations:
  - name: ci
    type: http
    url: ${rx.url}/hook
    format: github
    secret: \${CI_SECRET}
`);
  const unit = join(home.dir, 'bitbucket-relay.service');
  const envFile = join(home.dir, 'relay.env');
  writeFileSync(envFile, 'CI_SECRET=s3cr3t-from-env-file\n', { mode: 0o600 });
  const C = ['--config', home.configFile];
  const noUnit = { RELAY_UNIT_FILE: join(home.dir, 'absent.service') };

  await t.test('no daemon, nothing sets it: the problem names the variable and says "unset in this shell"', async (t) => {
    writeFileSync(unit, '[Service]\nUser=atlbitbucket\n');
    const r = await relay(['status', ...C], { env: { RELAY_UNIT_FILE: unit } });
    t.equal(r.code, 1);
    t.match(r.stdout, '${CI_SECRET} is unset in this shell');
    t.match(r.stdout, `no Environment= or EnvironmentFile= of ${unit}`);
    const check = await relay(['config', 'check', ...C], { env: { RELAY_UNIT_FILE: unit } });
    t.not(check.code, 0, 'config check still judges the file with this shell');
  });

  await t.test('the unit\'s EnvironmentFile sets it: status is healthy and relay test signs with it', async (t) => {
    writeFileSync(unit, `[Service]\nEnvironmentFile=${envFile}\n`);
    const r = await relay(['status', ...C, '--json'], { env: { RELAY_UNIT_FILE: unit } });
    const report = JSON.parse(r.stdout);
    t.equal(report.config.valid, true, r.stdout);
    t.match(report.notes.join('\n'), `\${CI_SECRET} is unset in this shell; the unit's EnvironmentFile ${envFile} sets it`);
    t.notMatch(r.stdout, 's3cr3t-from-env-file', 'the value is never printed');
    const test = await relay(['test', 'ci', ...C], { env: { RELAY_UNIT_FILE: unit } });
    t.equal(test.code, 0, test.stdout + test.stderr);
    t.ok(rx.requests.at(-1)?.headers['x-hub-signature-256'], 'the test request was signed with the secret from the EnvironmentFile');
  });

  await t.test('the daemon runs with the variable: status from a shell without it (and no readable unit) is not an alarm', async (t) => {
    const daemon = await startDaemon(t, home, { CI_SECRET: 's3cr3t-from-env-file' });
    const r = await relay(['status', ...C], { env: noUnit });
    t.equal(r.code, 0, r.stdout);
    t.match(r.stdout, 'all good');
    t.notMatch(r.stdout, 'invalid');
    t.match(r.stdout, '${CI_SECRET} is unset in this shell');
    t.match(r.stdout, "judged by the running daemon's config");
    await daemon.stop();
  });
});

t.test('a missing config file is "not found", not "invalid: 1 problem"; no "no destinations configured" for an unreadable config (issue 15 items 6, 11)', async (t) => {
  const home = makeRelayHome(t, 'relay-noconfig-');
  const r = await relay(['status', '--config', join(home.dir, 'nope.yaml')]);
  t.equal(r.code, 4, 'nothing readable: no daemon, store or spool');
  t.match(r.stdout, `config   ${join(home.dir, 'nope.yaml')} (not found)`);
  t.notMatch(r.stdout, 'invalid');
  t.match(r.stdout, `${join(home.dir, 'nope.yaml')} not found: create it from config/relay.example.yaml`);
  t.match(r.stdout, 'destinations unknown: the config file does not validate');
  t.notMatch(r.stdout, 'no destinations configured');
});
