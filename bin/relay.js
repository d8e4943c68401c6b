#!/usr/bin/env node
// The `relay` command. Runs the compiled tree when one was built (packaged
// installs), else the TypeScript sources directly (Node 24 strips types).
import { existsSync } from 'node:fs';
const built = new URL('../dist/src/cli/main.js', import.meta.url);
const entry = existsSync(built) ? built : new URL('../src/cli/main.ts', import.meta.url);
const { main } = await import(entry.href);
process.exitCode = await main(process.argv.slice(2));
