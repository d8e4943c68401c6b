// signBody produces the `sha256=` HMAC that Bitbucket DC, Bitbucket Cloud
// and GitHub use, checked by an independent implementation
// (@octokit/webhooks-methods verify) over rendered bodies.

import t from 'tap';
import { verify } from '@octokit/webhooks-methods';
import { signBody } from '../../src/formats/sign.ts';
import { renderRequests } from '../../src/formats/index.ts';
import { fixtureEvent } from '../fixtures/events/index.ts';
import type { HttpDestination } from '../../src/destinations/http/config.ts';

const SECRET = 'correct horse battery staple';

function dest(format: HttpDestination['format']): HttpDestination {
  return {
    name: 'd', type: 'http', enabled: true, url: 'https://x.example/hook', method: 'POST', format, formatOptions: {}, headers: {},
    timeout: { connectMs: 1000, responseMs: 1000, totalMs: 60_000 }, concurrency: 1, tls: { verify: true },
    retry: { baseDelayMs: 1000, maxDelayMs: 2000, horizonMs: 3000 }, followRedirects: false,
  };
}

t.test('octokit verify accepts our signature of every format body (non-ASCII content included)', async (t) => {
  for (const format of ['bitbucket-server', 'bitbucket-cloud', 'github', 'cloudevents', 'pushevent'] as const) {
    for (const req of renderRequests(fixtureEvent('unknown-identity'), dest(format), 'seed')) {
      const sig = signBody(SECRET, req.body);
      t.match(sig, /^sha256=[0-9a-f]{64}$/);
      t.ok(await verify(SECRET, req.body.toString('utf8'), sig), `${format}: verified`);
    }
  }
});

t.test('a tampered body or another secret fails verification', async (t) => {
  const [req] = renderRequests(fixtureEvent('branch-update'), dest('bitbucket-server'), 'seed');
  const sig = signBody(SECRET, req.body);
  t.notOk(await verify(SECRET, req.body.toString('utf8').replace('PLAT', 'PLAX'), sig));
  t.notOk(await verify('another secret', req.body.toString('utf8'), sig));
});

t.test('string and Buffer bodies sign alike', async (t) => {
  t.equal(signBody('k', 'Zoë 🚀'), signBody('k', Buffer.from('Zoë 🚀', 'utf8')));
});
