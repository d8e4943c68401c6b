// bin/relay.js runs the compiled dist/ only when install.sh finished building
// it (dist/RELEASE); a stray or stale dist/ from a developer's `npm run build`
// must never shadow the sources.

import t from 'tap';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

const relayVersion = (tree: string): string => {
  const r = spawnSync(process.execPath, [path.join(tree, 'bin/relay.js'), '--version'], { encoding: 'utf8' });
  return r.stdout + r.stderr;
};

t.test('the checkout runs its TypeScript sources and says so', async (t) => {
  t.match(relayVersion(ROOT), new RegExp(`^bitbucket-relay \\d+\\.\\d+\\.\\d+ \\(node ${process.versions.node.replaceAll('.', '\\.')}, TypeScript sources\\)\\n$`));
});

t.test('dist/ is used only once dist/RELEASE marks a finished build', async (t) => {
  const tree = mkdtempSync(path.join(os.tmpdir(), 'relay-runtime-'));
  t.teardown(() => rmSync(tree, { recursive: true, force: true }));
  cpSync(path.join(ROOT, 'bin'), path.join(tree, 'bin'), { recursive: true });
  cpSync(path.join(ROOT, 'package.json'), path.join(tree, 'package.json'));
  symlinkSync(path.join(ROOT, 'src'), path.join(tree, 'src'));
  symlinkSync(path.join(ROOT, 'node_modules'), path.join(tree, 'node_modules'));
  // A stand-in compiled entry point that cannot be mistaken for the real one.
  mkdirSync(path.join(tree, 'dist/src/cli'), { recursive: true });
  writeFileSync(path.join(tree, 'dist/src/cli/main.js'), "export async function main() { process.stdout.write('compiled entry\\n'); return 0; }\n");
  t.match(relayVersion(tree), /TypeScript sources/, 'a dist/ without RELEASE (a dev build, or one cut short) is ignored');
  writeFileSync(path.join(tree, 'dist/RELEASE'), '0.0.0\n');
  t.equal(relayVersion(tree), 'compiled entry\n', 'with RELEASE, the compiled entry point runs');
});

// Issue 15 item 11: with the machine's own (older) node running npm, `npx relay`
// printed two EBADENGINE warning blocks; .npmrc (loglevel=error) quiets
// warnings while npm's errors still show.
const systemNode = spawnSync('/usr/bin/node', ['--version'], { encoding: 'utf8' }).stdout?.trim() ?? '';
const oldSystemNode = /^v(\d+)\./.test(systemNode) && Number(/^v(\d+)\./.exec(systemNode)![1]) < 24 && spawnSync('/usr/bin/npx', ['--version']).status === 0;
t.test('npx relay with an older system node: no EBADENGINE blocks, npm errors still shown', { skip: !oldSystemNode && 'needs /usr/bin/node older than 24 with npx' }, async (t) => {
  const env = { ...process.env, PATH: '/usr/bin:/bin', npm_config_loglevel: undefined } as NodeJS.ProcessEnv;
  const r = spawnSync('/usr/bin/npx', ['relay', '--version'], { cwd: ROOT, encoding: 'utf8', env });
  t.equal(r.status, 0, r.stderr);
  t.match(r.stdout, /^bitbucket-relay .*\(node 24\./m, 'runs on the node@24 dev dependency');
  t.notMatch(r.stderr, 'EBADENGINE');
  const missing = spawnSync('/usr/bin/npm', ['run', 'no-such-script'], { cwd: ROOT, encoding: 'utf8', env });
  t.match(missing.stderr, 'npm error Missing script: "no-such-script"', 'errors are not hidden');
});
