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
