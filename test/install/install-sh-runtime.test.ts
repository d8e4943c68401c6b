// install.sh and the runtimes it needs, on staged hosts (--root): old,
// missing or temporary Node.js (copied into the prefix), no git, a source
// tree without the TypeScript compiler. Split from install-sh-edges.test.ts
// so that no file runs for minutes on a loaded machine.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/load-config.ts';
import { asRoot, BB_HOME, changes, makeHost, makeRelease, mode, PREFIX, runInstaller, snapshot } from './staged-host.ts';

const dir = mkdtempSync(join(tmpdir(), 'relay-install-runtime-'));
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
