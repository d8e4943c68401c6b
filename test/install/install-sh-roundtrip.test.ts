// install.sh round trip on a staged host (--root): install, uninstall (kept
// data), --purge (the tree as it was). Its own file: each install compiles
// the app, and together with install-sh-edges.test.ts it ran for minutes.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/load-config.ts';
import { asRoot, BB_HOME, changes, makeHost, makeRelease, mode, PREFIX, runInstaller, snapshot } from './staged-host.ts';

const dir = mkdtempSync(join(tmpdir(), 'relay-install-roundtrip-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const release = makeRelease(dir);
const installSh = join(release, 'install.sh');

t.test('install then uninstall restores the tree except kept data; --purge restores it exactly', async (t) => {
  const root = makeHost(dir, 'roundtrip');
  const pristine = snapshot(root);
  t.equal(runInstaller(release, root, '--bitbucket-home', BB_HOME).status, 0);
  t.ok(changes(pristine, snapshot(root)).length > 100, 'the install wrote things');
  const un = runInstaller(release, root, '--uninstall', '--bitbucket-home', BB_HOME);
  t.equal(un.status, 0, un.stderr);
  const kept = /^(etc\/bitbucket-relay|var\/spool\/bitbucket-relay|var\/lib\/bitbucket-relay)(\/|$)/;
  const diff = changes(pristine, snapshot(root));
  t.same(diff.filter((p) => !kept.test(p)), [], 'only kept data differs');
  t.ok(diff.includes('etc/bitbucket-relay/relay.yaml') && diff.includes('var/spool/bitbucket-relay/incoming'), 'config and spool are kept');

  t.equal(runInstaller(release, root, '--bitbucket-home', BB_HOME).status, 0, 'reinstall over kept data');
  const purge = runInstaller(release, root, '--uninstall', '--purge');
  t.equal(purge.status, 0, purge.stderr);
  t.same(changes(pristine, snapshot(root)), [], '--purge leaves the host as it was');
});
