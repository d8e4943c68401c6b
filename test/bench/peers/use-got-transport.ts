// `node --import ./test/bench/peers/use-got-transport.ts …`: HTTP delivery's
// sender imports the got transport (src/destinations/http/got-transport.ts,
// what `relay test` uses) instead of the node:http one, so the drain
// benchmark measures the same daemon code on got as its same-run peer.
// Works from the sources and from a compiled tree (.js).
import { registerHooks } from 'node:module';

const ext = import.meta.url.endsWith('.js') ? '.js' : '.ts';

registerHooks({
  resolve(specifier, context, nextResolve) {
    const resolved = nextResolve(specifier, context);
    const fromSender = context.parentURL?.endsWith(`/src/destinations/http/sender${ext}`);
    return fromSender && resolved.url.endsWith(`/src/destinations/http/transport${ext}`)
      ? { ...resolved, url: resolved.url.replace(/transport\.(ts|js)$/, `got-transport.${ext.slice(1)}`) }
      : resolved;
  },
});
