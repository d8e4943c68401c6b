#!/usr/bin/env node
// The `relay` command. Runs the compiled tree that install.sh built (it
// writes dist/RELEASE last, so a half-written or stray dist/ is never used),
// else the TypeScript sources directly (Node 24 strips types).
import { existsSync } from 'node:fs';
const built = new URL('../dist/src/cli/main.js', import.meta.url);
const entry = existsSync(new URL('../dist/RELEASE', import.meta.url)) ? built : new URL('../src/cli/main.ts', import.meta.url);
const { main } = await import(entry.href);
process.exitCode = await main(process.argv.slice(2));
