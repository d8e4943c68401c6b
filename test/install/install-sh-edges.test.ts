// install.sh edge cases on staged hosts (--root): old or missing Node.js and
// git, operator mistakes, --dry-run, install/uninstall round trips, --purge,
// ownership from the staged /etc/passwd.
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

t.test('a Node.js older than 24 stops the installer with a message saying how to get one', async (t) => {
  const root = makeHost(dir, 'old-node');
  const before = snapshot(root);
  const fakeNode = join(dir, 'node20');
  writeFileSync(fakeNode, '#!/bin/sh\necho v20.11.1\n', { mode: 0o755 });
  const r = spawnSync('sh', [installSh, '--root', root, '--offline', '--node', fakeNode], { encoding: 'utf8' });
  t.equal(r.status, 1);
  t.match(r.stderr, `Node.js 24 or newer is required; ${fakeNode} is v20.11.1`);
  t.match(r.stderr, 'https://nodejs.org/dist/latest-v24.x/');
  t.match(r.stderr, '--node /opt/node-v24/bin/node');
  const missing = spawnSync('sh', [installSh, '--root', root, '--node', join(dir, 'no-such-node')], { encoding: 'utf8' });
  t.equal(missing.status, 1);
  t.match(missing.stderr, 'is not an executable file');
  t.same(changes(before, snapshot(root)), [], 'nothing written');
});

t.test('a Node.js in a checkout or under /tmp is copied into the prefix: the service still runs after the checkout is gone', async (t) => {
  // The README's route: `npm ci` in a clone puts Node 24 at node_modules/node/bin/node.
  // The unit runs with PrivateTmp=yes, and a clone may be deleted: the service must not depend on it.
  t.match(readFileSync(join(release, 'config/bitbucket-relay.service'), 'utf8'), /^PrivateTmp=yes$/m);
  const clone = join(dir, 'clone');
  mkdirSync(join(clone, '.git'), { recursive: true });
  mkdirSync(join(clone, 'node_modules/node/bin'), { recursive: true });
  const cloneNode = join(clone, 'node_modules/node/bin/node');
  cpSync(process.execPath, cloneNode);
  chmodSync(cloneNode, 0o755);
  const root = makeHost(dir, 'node-in-clone');
  const r = spawnSync('sh', [installSh, '--root', root, '--offline', '--node', cloneNode, '--no-hooks'], { encoding: 'utf8' });
  t.equal(r.status, 0, r.stderr);
  t.match(r.stdout, `node: ${cloneNode} is inside an npm tree (node_modules): the service may not see it`);
  t.match(r.stdout, `copying it into ${PREFIX}/node/bin/node`);
  const app = join(root, PREFIX);
  const wrapper = readFileSync(join(app, 'bin/relay'), 'utf8');
  t.notMatch(wrapper, cloneNode.replace(/.*\/clone\//, '/clone/') + "'", 'the wrapper does not run the clone\'s node');
  t.match(wrapper, 'NODE="$APP/node/bin/node"');
  rmSync(clone, { recursive: true, force: true });
  const version = spawnSync(join(app, 'bin/relay'), ['--version'], { encoding: 'utf8' });
  t.equal(version.status, 0, version.stderr);
  t.match(version.stdout, /^bitbucket-relay .*\(node 24\./m, 'runs on the copied Node.js after the clone was deleted');
});

t.test('the Node.js error says every way to get Node 24, the npm package included', async (t) => {
  const fakeNode = join(dir, 'node18');
  writeFileSync(fakeNode, '#!/bin/sh\necho v18.19.0\n', { mode: 0o755 });
  const r = spawnSync('sh', [installSh, '--root', makeHost(dir, 'node18-host'), '--offline', '--node', fakeNode], { encoding: 'utf8' });
  t.equal(r.status, 1);
  t.match(r.stderr, "npm install --prefix /opt/node24 node@24");
  t.match(r.stderr, '--node /opt/node24/node_modules/node/bin/node');
  t.match(r.stderr, 'nodesource');
});

t.test('without git the installer says how to get it', async (t) => {
  // A PATH with every tool of /usr/bin and /bin except git.
  const bin = join(dir, 'no-git-bin');
  mkdirSync(bin);
  for (const d of ['/usr/bin', '/bin']) {
    for (const name of readdirSync(d)) {
      if (name.startsWith('git') || existsSync(join(bin, name))) continue;
      symlinkSync(join(d, name), join(bin, name));
    }
  }
  const root = makeHost(dir, 'no-git');
  const r = spawnSync('sh', [installSh, '--root', root, '--offline', '--node', process.execPath], { encoding: 'utf8', env: { ...process.env, PATH: bin } });
  t.equal(r.status, 1);
  t.match(r.stderr, /git is required.*not on PATH.*apt-get install git/);
});

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

t.test('a source tree without the TypeScript compiler installs the sources, and they run', async (t) => {
  // A release whose node_modules holds the production packages only (as
  // after `npm ci --omit=dev`): nothing to compile with.
  const bare = join(dir, 'release-no-tsc');
  mkdirSync(bare);
  for (const f of ['install.sh', 'package.json', 'package-lock.json', 'tsconfig.json', 'bin', 'src', 'hooks', 'config', 'docs']) {
    symlinkSync(join(release, f), join(bare, f));
  }
  const lock = JSON.parse(readFileSync(join(release, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean }> };
  for (const [key, meta] of Object.entries(lock.packages)) {
    if (!key.startsWith('node_modules/') || meta.dev || key.slice('node_modules/'.length).includes('node_modules/')) continue;
    cpSync(join(release, key), join(bare, key), { recursive: true, dereference: true });
  }
  t.notOk(existsSync(join(bare, 'node_modules/typescript')), 'no typescript in this release');
  const root = makeHost(dir, 'no-tsc');
  const r = runInstaller(bare, root);
  t.equal(r.status, 0, r.stderr);
  t.match(r.stdout, /no TypeScript compiler in .*; the relay will run its TypeScript sources \(about 30 MB more memory/);
  t.notOk(existsSync(join(root, PREFIX, 'dist')), 'no dist/');
  const version = spawnSync(join(root, PREFIX, 'bin/relay'), ['--version'], { encoding: 'utf8' });
  t.match(version.stdout, /^bitbucket-relay \d+\.\d+\.\d+ \(node \S+, TypeScript sources\)$/m);
});
