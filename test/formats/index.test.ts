// The format registry and the purity contract: same (event, destination,
// seed) → same bytes; ids differ by seed; unknown names are errors an
// operator can act on; pings carry no URL credentials.

import t from 'tap';
import { formatFor, renderRequests, renderPingRequest, FORMAT_NAMES } from '../../src/formats/index.ts';
import { fixtureEvent, FIXTURE_NAMES } from '../fixtures/events/index.ts';
import type { FormatName } from '../../src/config/config-types.ts';
import type { HttpDestination } from '../../src/destinations/http/config.ts';
import { redactHttpUrl } from '../../src/destinations/http/secrets.ts';

function dest(format: FormatName, url = 'https://x.example/hook'): HttpDestination {
  return {
    name: 'dest-1', type: 'http', enabled: true, url, method: 'POST', format, formatOptions: {}, headers: {},
    timeout: { connectMs: 1000, responseMs: 1000, totalMs: 60_000 }, concurrency: 1, tls: { verify: true },
    retry: { baseDelayMs: 1000, maxDelayMs: 2000, horizonMs: 3000 }, followRedirects: false,
  };
}

t.test('every format is registered under its own name', async (t) => {
  t.same([...FORMAT_NAMES].sort(), ['bitbucket-cloud', 'bitbucket-server', 'cloudevents', 'github', 'pushevent']);
  for (const n of FORMAT_NAMES) t.equal(formatFor(n).name, n);
  t.throws(() => formatFor('gitlab'), /unknown format "gitlab".*one of cloudevents, bitbucket-server/);
});

t.test('rendering is pure: equal inputs, equal bytes; the input event is not modified', async (t) => {
  for (const format of FORMAT_NAMES) {
    for (const name of FIXTURE_NAMES) {
      const event = fixtureEvent(name);
      const before = JSON.stringify(event);
      const a = renderRequests(event, dest(format), 'seed-1');
      const b = renderRequests(fixtureEvent(name), dest(format), 'seed-1');
      t.equal(JSON.stringify(event), before, `${format}/${name}: event untouched`);
      t.equal(a.length, b.length);
      a.forEach((r, i) => {
        t.ok(r.body.equals(b[i].body), `${format}/${name}[${i}]: same bytes`);
        t.same(r.headers, b[i].headers);
      });
    }
  }
});

t.test('per-request ids derive from the seed', async (t) => {
  const idHeaders = ['X-Request-Id', 'X-Request-UUID', 'X-GitHub-Delivery'];
  for (const format of ['bitbucket-server', 'bitbucket-cloud', 'github'] as const) {
    const a = renderRequests(fixtureEvent('branch-update'), dest(format), 'seed-1')[0];
    const b = renderRequests(fixtureEvent('branch-update'), dest(format), 'seed-2')[0];
    const h = idHeaders.find((k) => k in a.headers)!;
    t.ok(h, `${format} has a request id header`);
    t.not(a.headers[h], b.headers[h], `${format}: ${h} changes with the seed`);
  }
});

t.test('formatOptions reach the format', async (t) => {
  const d = { ...dest('bitbucket-server'), formatOptions: { extended: true } };
  const body = JSON.parse(renderRequests(fixtureEvent('branch-update'), d, 's')[0].body.toString('utf8'));
  t.ok(body.relay, 'extended: true → relay key');
});

t.test('pings: one per format, signature header named, URL credentials redacted', async (t) => {
  for (const format of FORMAT_NAMES) {
    const d = dest(format, 'https://user:pw@hooks.example/in?token=s3cr3t-value');
    const ping = renderPingRequest(d, 'seed', 'bb-node-1', '2024-05-20T06:15:42.008Z', redactHttpUrl(d));
    t.ok(ping.signatureHeader, `${format}: signature header`);
    const text = ping.body.toString('utf8');
    t.notMatch(text, /s3cr3t-value|:pw@/, `${format}: no credentials in the ping body`);
    JSON.parse(text);
  }
});
