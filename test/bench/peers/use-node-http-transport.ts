// `node --import ./test/bench/peers/use-node-http-transport.ts …`: HTTP
// delivery's sender imports the plain node:http transport
// (test/bench/peers/node-http-transport.ts, delivery's transport before got)
// instead of src/destinations/http/transport.ts, so the drain benchmark
// measures the same daemon code on node:http as its same-run peer.
// Works from the sources and from a compiled tree (.js).
import { registerHooks } from 'node:module';

const ext = import.meta.url.endsWith('.js') ? '.js' : '.ts';
const peer = new URL(`./node-http-transport${ext}`, import.meta.url).href;

registerHooks({
  resolve(specifier, context, nextResolve) {
    const resolved = nextResolve(specifier, context);
    const fromSender = context.parentURL?.endsWith(`/src/destinations/http/sender${ext}`);
    return fromSender && resolved.url.endsWith(`/src/destinations/http/transport${ext}`) ? { ...resolved, url: peer } : resolved;
  },
});
