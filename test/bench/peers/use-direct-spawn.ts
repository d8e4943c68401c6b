// `node --import ./test/bench/peers/use-direct-spawn.ts …`: every import of
// src/git/run-git.ts resolves to the direct-spawn runner from before
// simple-git, so a benchmark can measure the same code with the old runner
// as its same-run peer (analyze-large does).
import { registerHooks } from 'node:module';

const PEER = new URL('./direct-spawn-run-git.ts', import.meta.url).href;

registerHooks({
  resolve(specifier, context, nextResolve) {
    const resolved = nextResolve(specifier, context);
    return resolved.url.endsWith('/src/git/run-git.ts') ? { ...resolved, url: PEER } : resolved;
  },
});
