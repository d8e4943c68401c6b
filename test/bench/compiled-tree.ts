// A relay tree laid out as install.sh leaves it: bin/, src/ and node_modules/
// (linked from this checkout) and dist/ compiled by tsc with the project's
// tsconfig, with dist/RELEASE, so bin/relay.js runs the compiled JS.
// Benchmarks may compile themselves into it too (`alsoCompile`), to measure
// in-process work as installed.
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Build the tree at `dir` (must not exist); returns the path of its bin/relay.js. `alsoCompile`: checkout-relative .ts files. */
export function compiledRelayTree(dir: string, alsoCompile: string[] = []): string {
  mkdirSync(dir);
  cpSync(path.join(ROOT, 'bin'), path.join(dir, 'bin'), { recursive: true });
  cpSync(path.join(ROOT, 'package.json'), path.join(dir, 'package.json'));
  symlinkSync(path.join(ROOT, 'src'), path.join(dir, 'src'));
  symlinkSync(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'));
  const tsconfig = path.join(dir, 'tsconfig.json');
  writeFileSync(tsconfig, JSON.stringify({
    extends: path.join(ROOT, 'tsconfig.json'),
    compilerOptions: { rootDir: ROOT, outDir: path.join(dir, 'dist') },
    include: [path.join(ROOT, 'src/**/*.ts'), ...alsoCompile.map((f) => path.join(ROOT, f))],
  }));
  execFileSync(process.execPath, [path.join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', tsconfig], { env: { ...process.env, NODE_OPTIONS: '' } });
  writeFileSync(path.join(dir, 'dist/RELEASE'), 'bench\n');
  return path.join(dir, 'bin/relay.js');
}

/** Where `compiledRelayTree(dir, …)` put the compiled form of a checkout-relative .ts file. */
export function compiledPath(dir: string, tsFile: string): string {
  return path.join(dir, 'dist', tsFile.replace(/\.ts$/, '.js'));
}
