// A relay tree laid out as install.sh leaves it: bin/, src/ and node_modules/
// (linked from this checkout) and dist/ compiled by the same tsc call, with
// dist/RELEASE, so bin/relay.js runs the compiled JS.
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Build the tree at `dir` (must not exist); returns the path of its bin/relay.js. */
export function compiledRelayTree(dir: string): string {
  mkdirSync(dir);
  cpSync(path.join(ROOT, 'bin'), path.join(dir, 'bin'), { recursive: true });
  cpSync(path.join(ROOT, 'package.json'), path.join(dir, 'package.json'));
  symlinkSync(path.join(ROOT, 'src'), path.join(dir, 'src'));
  symlinkSync(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'));
  execFileSync(process.execPath, [path.join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', path.join(ROOT, 'tsconfig.json'), '--outDir', path.join(dir, 'dist')], { env: { ...process.env, NODE_OPTIONS: '' } });
  writeFileSync(path.join(dir, 'dist/RELEASE'), 'bench\n');
  return path.join(dir, 'bin/relay.js');
}
