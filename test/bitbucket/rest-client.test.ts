// The shared Bitbucket REST client against the fake Bitbucket server (real
// HTTP on 127.0.0.1): bearer token from the file, JSON and multipart bodies,
// paged GETs to the last page, Bitbucket's error bodies as readable errors,
// timeouts, and the token never in any message. Plus the bitbucket.api config
// block's validation.

import t from 'tap';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:http';
import { createRestClient, describeRequest, RestError } from '../../src/bitbucket/rest-client.ts';
import { parseConfigText, ConfigError } from '../../src/config/load-config.ts';
import { startFakeBitbucket, page } from '../helpers/fake-bitbucket.ts';

const noFailure = (): never => {
  throw new Error('expected the request to fail');
};
const asRestError = (e: unknown): RestError => {
  if (!(e instanceof RestError)) throw e;
  return e;
};

const dir = mkdtempSync(join(tmpdir(), 'relay-rest-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const TOKEN = 'NjM4MTk0OTk3ODc2OkSecretToken';
const tokenFile = join(dir, 'token');
writeFileSync(tokenFile, `${TOKEN}\n`, { mode: 0o600 });

t.test('config: bitbucket.api defaults, validation with file:line', async (t) => {
  const file = join(dir, 'relay.yaml');
  const c = parseConfigText(`bitbucket:\n  api: { tokenFile: ${tokenFile} }\n`, file, {});
  t.same(c.bitbucket.api, { url: 'http://localhost:7990', tokenFile, timeoutMs: 5000 });
  t.equal(parseConfigText('node: x\n', file, {}).bitbucket.api, null, 'absent block: null');
  const c2 = parseConfigText(`bitbucket:\n  api: { url: "http://127.0.0.1:7990/bitbucket/", timeout: 2s }\n`, file, {});
  t.same(c2.bitbucket.api, { url: 'http://127.0.0.1:7990/bitbucket', tokenFile: null, timeoutMs: 2000 });
  try {
    parseConfigText(`bitbucket:\n  api:\n    url: "ftp://x"\n    tokenFile: ${join(dir, 'missing')}\n    timeout: soon\n`, file, {});
    t.fail('should throw');
  } catch (err) {
    t.ok(err instanceof ConfigError);
    const text = (err as Error).message;
    t.match(text, /relay\.yaml:3:\d+: bitbucket\.api\.url: "ftp:\/\/x" is not an http\(s\) URL/);
    t.match(text, /bitbucket\.api\.tokenFile: .*missing: cannot read it \(ENOENT\)/);
    t.match(text, /bitbucket\.api\.timeout: "soon" is not a duration/);
  }
});

t.test('JSON, multipart, paging, errors, token', async (t) => {
  const fake = await startFakeBitbucket({ tokens: { [TOKEN]: 'sysadmin' }, projects: Array.from({ length: 7 }, (_, i) => `P${i}`), maxLimit: 3 });
  t.teardown(() => fake.close());
  const client = createRestClient({ url: fake.url, tokenFile, timeoutMs: 2000 });

  const all = await client.getAll<{ key: string }>('/rest/api/latest/projects', { limit: 3 });
  t.same(all.map((p) => p.key), ['P0', 'P1', 'P2', 'P3', 'P4', 'P5', 'P6'], 'all pages followed');
  t.same(fake.requests.map((r) => r.url), ['/rest/api/latest/projects?start=0&limit=3', '/rest/api/latest/projects?start=3&limit=3', '/rest/api/latest/projects?start=6&limit=3']);
  t.equal(fake.requests[0].headers.authorization, `Bearer ${TOKEN}`, 'bearer token from the file');

  const created = (await client.multipart('POST', '/rest/api/latest/hook-scripts', {
    content: { content: '#!/bin/sh\necho hi\n', filename: 'post-receive' },
    name: 'bitbucket-relay',
    type: 'POST',
  })) as { id: number; name: string };
  t.equal(created.name, 'bitbucket-relay');
  t.equal(fake.scripts.get(created.id)?.content, '#!/bin/sh\necho hi\n', 'file field carried byte for byte');
  t.equal(await client.getText(`/rest/api/latest/hook-scripts/${created.id}/content`), '#!/bin/sh\necho hi\n');
  const cfg = (await client.put(`/rest/api/latest/projects/P1/hook-scripts/${created.id}`, { triggerIds: ['repo-push'] })) as { triggerIds: string[] };
  t.same(cfg.triggerIds, ['repo-push'], 'JSON body sent and answer parsed');
  t.equal(await client.delete(`/rest/api/latest/projects/P1/hook-scripts/${created.id}`), null, '204: null');

  // Errors: Bitbucket's messages, operator hints, no token.
  const e404 = await client.get('/rest/api/latest/hook-scripts/999').then(noFailure, asRestError);
  t.ok(e404 instanceof RestError);
  t.equal(e404.status, 404);
  t.match(e404.message, /^GET \/rest\/api\/latest\/hook-scripts\/999: not found: Bitbucket says: No hook script with ID 999 exists\./);
  const anon = createRestClient({ url: fake.url, tokenFile: null, timeoutMs: 2000 });
  const e401 = await anon.get('/rest/api/latest/hook-scripts/1').then(noFailure, asRestError);
  t.equal(e401.status, 401);
  t.match(e401.message, /token in bitbucket\.api\.tokenFile is missing, wrong or expired/);
  fake.route('GET', /^\/echo$/, (req) => ({ status: 500, body: { errors: [{ message: `bad token ${req.headers.authorization}` }] } }));
  const echoed = await client.get('/echo').then(noFailure, asRestError);
  t.notMatch(echoed.message, TOKEN, 'a token echoed by the server is masked');
  t.match(echoed.message, /HTTP 500: Bitbucket says: bad token Bearer \*\*\*/);
  fake.route('GET', /^\/html$/, () => ({ status: 200, text: '<html>login</html>' }));
  t.match((await client.get('/html').then(noFailure, asRestError)).message, /not JSON .*is bitbucket\.api\.url Bitbucket's base URL/);
  fake.route('GET', /^\/stuck$/, (req) => ({ status: 200, body: { values: [1], isLastPage: false, nextPageStart: Number(req.query.get('start')) } }));
  t.match((await client.getAll('/stuck').then(noFailure, asRestError)).message, /paging does not advance/);

  const badFile = createRestClient({ url: fake.url, tokenFile: join(dir, 'nope'), timeoutMs: 2000 });
  t.match((await badFile.get('/x').then(noFailure, asRestError)).message, /tokenFile .*nope: cannot read it \(ENOENT\)/);

  t.equal(
    describeRequest(fake.url, { method: 'POST', path: '/rest/api/latest/hook-scripts', form: { content: { content: 'abc', filename: 'post-receive' }, name: 'n' } }, true),
    `POST ${fake.url}/rest/api/latest/hook-scripts (Authorization: Bearer ***) multipart{content=<post-receive, 3 bytes>, name="n"}`,
  );
});

t.test('no answer within the timeout; connection refused', async (t) => {
  // Routes of the fake answer synchronously; a server that never answers is a raw one.
  const hang = createServer(() => {
    /* never answers */
  });
  await new Promise<void>((r) => hang.listen(0, '127.0.0.1', r));
  t.teardown(() => {
    hang.closeAllConnections();
    hang.close();
  });
  const port = (hang.address() as { port: number }).port;
  const client = createRestClient({ url: `http://127.0.0.1:${port}`, tokenFile: null, timeoutMs: 300 });
  const started = Date.now();
  const err = await client.get('/x').then(noFailure, asRestError);
  t.match(err.message, /no answer within 300 ms \(bitbucket\.api\.timeout\)/);
  t.ok(Date.now() - started < 5000, 'bounded');

  hang.closeAllConnections();
  await new Promise<void>((r) => hang.close(() => r()));
  const refused = await client.get('/x').then(noFailure, asRestError);
  t.match(refused.message, /connection refused at http:\/\/127\.0\.0\.1:\d+: is Bitbucket running/);
});

t.test('page() helper shapes pages as Bitbucket does', async (t) => {
  const p = page([1, 2, 3], new URLSearchParams('start=0&limit=2')) as Record<string, unknown>;
  t.same(p, { size: 2, limit: 2, start: 0, isLastPage: false, values: [1, 2], nextPageStart: 2 });
  t.same(page([1, 2, 3], new URLSearchParams('start=2&limit=2')), { size: 1, limit: 2, start: 2, isLastPage: true, values: [3] });
});
