// install.sh edge cases on staged hosts (--root): operator mistakes, --dry-run,
// install/uninstall round trips, --purge, ownership from the staged
// /etc/passwd (Node.js and git checks: install-sh-runtime.test.ts).
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/load-config.ts';
import { asRoot, BB_HOME, changes, makeHost, makeRelease, mode, PREFIX, runInstaller, snapshot } from './staged-host.ts';

const dir = mkdtempSync(join(tmpdir(), 'relay-install-edges-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const release = makeRelease(dir);
const installSh = join(release, 'install.sh');

t.test('operator mistakes are refused before anything is written', async (t) => {
  const root = makeHost(dir, 'mistakes');
  const before = snapshot(root);
  t.match(runInstaller(release, root, '--purge').stderr, '--purge only goes with --uninstall');
  t.match(runInstaller(release, root, '--prefix', 'opt/relay').stderr, '--prefix must be an absolute path');
  t.match(runInstaller(release, root, '--bitbucket-home', '/srv/bitbucket').stderr, '/srv/bitbucket/shared/data/repositories does not exist');
  t.match(runInstaller(release, root, '--user', 'bad user').stderr, 'is not a user name');
  t.match(runInstaller(release, root, '--frobnicate').stderr, 'unknown option: --frobnicate');
  t.same(changes(before, snapshot(root)), []);
});

t.test('--dry-run prints every action and changes nothing', async (t) => {
  const root = makeHost(dir, 'dry');
  const before = snapshot(root);
  const r = runInstaller(release, root, '--dry-run', '--bitbucket-home', BB_HOME);
  t.equal(r.status, 0, r.stderr);
  t.match(r.stdout, `would: install bitbucket-relay`);
  t.match(r.stdout, `would: mkdir -p ${root}/var/spool/bitbucket-relay`);
  t.match(r.stdout, `would: chmod 2770 ${root}/var/spool/bitbucket-relay/incoming`);
  t.match(r.stdout, `would: ln -s ${PREFIX}/bin/relay ${root}/usr/local/bin/relay`);
  t.match(r.stdout, 'repository 2: would be installed', 'asks the hook installer what it would do');
  t.match(r.stdout, 'would install 3, would update 0; 0 unchanged');
  t.match(r.stdout, `would: write ${root}/etc/bitbucket-relay/relay.yaml (mode 640)`);
  t.match(r.stdout, 'dry run: nothing was changed');
  t.same(changes(before, snapshot(root)), [], 'tree unchanged');
});

t.test('with the Bitbucket user in the staged /etc/passwd, spool and state belong to it', { skip: !asRoot && 'chown needs root' }, async (t) => {
  const root = makeHost(dir, 'owned');
  writeFileSync(join(root, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\natlbitbucket:x:4242:4343:Bitbucket:/var/atlassian/application-data/bitbucket:/bin/bash\n');
  const r = runInstaller(release, root, '--bitbucket-home', BB_HOME);
  t.equal(r.status, 0, r.stderr);
  t.match(r.stdout, `user: atlbitbucket (4242:4343 from ${root}/etc/passwd)`);
  const owner = (p: string): string => {
    const st = statSync(join(root, p));
    return `${st.uid}:${st.gid}`;
  };
  for (const p of ['var/spool/bitbucket-relay', 'var/spool/bitbucket-relay/incoming', 'var/spool/bitbucket-relay/quarantine', 'var/lib/bitbucket-relay']) {
    t.equal(owner(p), '4242:4343', p);
  }
  t.equal(owner('etc/bitbucket-relay'), '0:4343', 'config dir: root, readable by the Bitbucket group');
  t.equal(owner('etc/bitbucket-relay/relay.yaml'), '0:4343');
  t.equal(owner(`${PREFIX}/bin/relay.js`), '0:0', 'the app is not writable by the service user');
  const before = snapshot(root);
  t.equal(runInstaller(release, root, '--bitbucket-home', BB_HOME).status, 0);
  t.same(changes(before, snapshot(root)), [], 'idempotent with owners too');
  chmodSync(join(root, 'var/spool/bitbucket-relay/incoming'), 0o755);
  const repair = runInstaller(release, root, '--bitbucket-home', BB_HOME);
  t.match(repair.stdout, `+ chmod 2770 ${root}/var/spool/bitbucket-relay/incoming`, 'drift is repaired');
  t.equal(mode(join(root, 'var/spool/bitbucket-relay/incoming')), '2770');
});


t.test('--no-hooks leaves the repositories alone; a Bitbucket home under /home gets ProtectHome=read-only', async (t) => {
  const root = makeHost(dir, 'no-hooks');
  mkdirSync(join(root, 'home'));
  renameSync(join(root, BB_HOME), join(root, 'home/bitbucket'));
  const r = runInstaller(release, root, '--no-hooks', '--bitbucket-home', '/home/bitbucket');
  t.equal(r.status, 0, r.stderr);
  t.match(r.stdout, '--no-hooks: the hook is not put into the repositories');
  t.match(r.stdout, 'ProtectHome=read-only, because the Bitbucket home');
  for (const id of ['1', '2', '3']) {
    t.notOk(existsSync(join(root, 'home/bitbucket/shared/data/repositories', id, 'hooks/post-receive.d/90_bitbucket_relay')), `repository ${id} untouched`);
  }
  const config = loadConfig(join(root, 'etc/bitbucket-relay/relay.yaml'), {});
  t.equal(config.bitbucket.home, '/home/bitbucket');
  t.equal(config.hooks.autoInstall, false);
  const unit = readFileSync(join(root, 'etc/systemd/system/bitbucket-relay.service'), 'utf8');
  t.match(unit, /^ProtectHome=read-only$/m);
  t.match(unit, /^#ReadWritePaths=-/m, 'no write access to the repositories without autoInstall');
});
