// The HTTP sender against real servers on 127.0.0.1: headers, signing, auth,
// timeouts, network errors, redirects, TLS (CA, client cert), proxies.

import t from 'tap';
import { verify } from '@octokit/webhooks-methods';
import { createHttpSender, EXCERPT_BYTES, type OutgoingDelivery } from '../../../src/destinations/http/sender.ts';
import type { HttpDestination } from '../../../src/destinations/http/config.ts';
import { RELAY_VERSION } from '../../../src/version.ts';
import { startReceiver } from '../../helpers/receiver.ts';
import { startHttpProxy, startTcpProxy } from '../../helpers/tcp-proxy.ts';
import { httpDest, tempDir } from '../../deliver/fixtures.ts';
import { makePki } from '../../deliver/tls-certs.ts';
import { startUnansweredPort } from '../../helpers/unanswered-port.ts';

const body = Buffer.from('{"hello":"wörld"}');
const delivery: OutgoingDelivery = {
  id: '11111111-2222-8333-9444-555555555555',
  headers: { 'Content-Type': 'application/json', 'X-Event-Key': 'repo:refs_changed' },
  body,
  signatureHeader: 'X-Hub-Signature',
  projectKey: 'PRJ',
  repoSlug: 'my repo',
  repoId: 42,
};

async function sendOnce(dest: HttpDestination, d: OutgoingDelivery = delivery) {
  const sender = createHttpSender(dest, { env: {} });
  try {
    return await sender.exchange(d);
  } finally {
    sender.close();
  }
}

t.test('headers, signature (verified independently), placeholders, bearer auth', async (t) => {
  const rx = await startReceiver();
  t.teardown(() => rx.close());
  const secret = 'It\'s a Secret to Everybody';
  const dest = httpDest('ci', `${rx.url}/hook/{projectKey}/{repoSlug}/{repoId}?token=abc123`, {
    secret,
    auth: { bearer: 'tok-XYZ-123' },
    headers: { 'X-Team': 'infra' },
  });
  const res = await sendOnce(dest);
  t.match(res, { status: 200, error: null, responseExcerpt: 'ok' });
  t.equal(res.url, `${rx.url}/hook/PRJ/my%20repo/42?token=***`, 'recorded URL is redacted');
  t.match(res.timings, { reused: false, dnsMs: Number, tcpMs: Number, tlsMs: null, firstByteMs: Number, totalMs: Number }, "got's timings of a new plain-http connection (no TLS phase)");
  const [req] = rx.requests;
  t.equal(req.method, 'POST');
  t.equal(req.url, '/hook/PRJ/my%20repo/42?token=abc123', 'placeholders filled and encoded; query kept');
  t.same(req.body, body, 'exact body bytes');
  t.equal(req.headers['x-relay-delivery'], delivery.id);
  t.equal(req.headers['user-agent'], `bitbucket-relay/${RELAY_VERSION}`);
  t.equal(req.headers['x-event-key'], 'repo:refs_changed');
  t.equal(req.headers['x-team'], 'infra');
  t.equal(req.headers['content-type'], 'application/json');
  t.equal(req.headers.authorization, 'Bearer tok-XYZ-123');
  const sig = String(req.headers['x-hub-signature']);
  t.match(sig, /^sha256=[0-9a-f]{64}$/);
  t.ok(await verify(secret, req.body.toString('utf8'), sig), '@octokit/webhooks-methods verifies the signature');
  t.notOk(await verify('wrong secret', req.body.toString('utf8'), sig), 'and rejects a wrong secret');
});

t.test('basic auth; no signature without a secret or without a signature header', async (t) => {
  const rx = await startReceiver();
  t.teardown(() => rx.close());
  await sendOnce(httpDest('ci', rx.url, { auth: { username: 'relay', password: 'p@ss:word' } }));
  await sendOnce(httpDest('ci', rx.url, { secret: 'sekrit' }), { ...delivery, signatureHeader: null });
  await sendOnce(httpDest('ci', rx.url, { secret: 'sekrit' }), { ...delivery, signatureHeader: 'X-Hub-Signature-256' });
  t.equal(rx.requests[0].headers.authorization, 'Basic ' + Buffer.from('relay:p@ss:word').toString('base64'));
  t.equal(rx.requests[0].headers['x-hub-signature'], undefined, 'no secret: unsigned');
  t.equal(rx.requests[1].headers['x-hub-signature'], undefined, 'format without signature header: unsigned');
  t.ok(await verify('sekrit', body.toString(), String(rx.requests[2].headers['x-hub-signature-256'])), 'header named by the format');
});

t.test('bitbucket-server: one HMAC in X-Hub-Signature and X-Hub-Signature-256 (CDS verifies the latter)', async (t) => {
  const rx = await startReceiver();
  t.teardown(() => rx.close());
  await sendOnce(httpDest('cds', rx.url, { secret: 'cds-secret' }), { ...delivery, signatureHeader: 'X-Hub-Signature, X-Hub-Signature-256' });
  const [req] = rx.requests;
  const legacy = String(req.headers['x-hub-signature']);
  const sha256 = String(req.headers['x-hub-signature-256']);
  t.ok(await verify('cds-secret', req.body.toString('utf8'), sha256), 'X-Hub-Signature-256 verifies');
  t.equal(legacy, sha256, 'the same signature in both');
  t.equal(req.headers['x-hub-signature, x-hub-signature-256'], undefined, 'the list is not sent as a header name');
});

t.test('status, Retry-After, bounded and redacted response excerpt', async (t) => {
  const rx = await startReceiver({
    respond: [
      { status: 429, headers: { 'Retry-After': '3' }, body: 'slow down' },
      { status: 404, body: 'x'.repeat(5000) },
      { status: 500, body: 'bad token tok-XYZ-123 here' },
    ],
  });
  t.teardown(() => rx.close());
  const dest = httpDest('ci', rx.url, { auth: { bearer: 'tok-XYZ-123' } });
  const a = await sendOnce(dest);
  t.match(a, { status: 429, retryAfter: '3', responseExcerpt: 'slow down' });
  const b = await sendOnce(dest);
  t.equal(b.status, 404);
  t.equal(b.responseExcerpt!.length, EXCERPT_BYTES + 1, '2 KiB + ellipsis');
  const c = await sendOnce(dest);
  t.equal(c.responseExcerpt, 'bad token *** here', 'secrets masked in the excerpt');
  t.ok(a.latencyMs >= 0);
});

t.test('slow response within timeout; hanging → response timeout; reset; refused', async (t) => {
  const rx = await startReceiver({ respond: [{ delayMs: 300 }, { hang: true }, { destroy: true }] });
  t.teardown(() => rx.close());
  const dest = httpDest('ci', rx.url, { timeout: { connectMs: 500, responseMs: 600, totalMs: 60_000 } });
  const slow = await sendOnce(dest);
  t.equal(slow.status, 200, 'slow but within timeout');
  t.ok(slow.latencyMs >= 290, `latency recorded (${slow.latencyMs} ms)`);
  const hung = await sendOnce(dest);
  t.equal(hung.status, null);
  t.match(hung.error, /timeout waiting for response \(timeout\.response 600ms\)/);
  t.ok(hung.latencyMs >= 590 && hung.latencyMs < 3000, `gave up after the response timeout (${hung.latencyMs} ms)`);
  const reset = await sendOnce(dest);
  t.equal(reset.status, null);
  t.match(reset.error, /socket hang up|ECONNRESET/);
  const proxy = await startTcpProxy({ port: rx.port }, 'refuse');
  t.teardown(() => proxy.close());
  const refused = await sendOnce(httpDest('ci', `http://127.0.0.1:${proxy.port}/`));
  t.match(refused.error, /ECONNREFUSED/);
});

t.test('a 200 whose body stops half-way ends at timeout.response (the longest silence), not timeout.total', async (t) => {
  const rx = await startReceiver({ respond: [{ stallBody: true }] });
  t.teardown(() => rx.close());
  const dest = httpDest('ci', rx.url, { timeout: { connectMs: 500, responseMs: 600, totalMs: 20_000 } });
  const res = await sendOnce(dest);
  t.equal(res.status, null, 'not counted as delivered');
  t.match(res.error, /timeout waiting for response \(timeout\.response 600ms\)/);
  t.ok(res.latencyMs >= 590 && res.latencyMs < 10_000, `gave up after the response timeout, not the total (${res.latencyMs} ms)`);
  t.not(res.timings?.firstByteMs ?? null, null, 'the status line had come: first byte measured');
});

t.test('a 200 whose body trickles forever ends at timeout.total, a retryable failure; the next attempt goes through', async (t) => {
  const rx = await startReceiver({ respond: [{ trickleMs: 100 }] });
  t.teardown(() => rx.close());
  // The body never goes silent for timeout.response: only the overall deadline can end it.
  const dest = httpDest('ci', rx.url, { timeout: { connectMs: 500, responseMs: 600, totalMs: 1500 } });
  const sender = createHttpSender(dest, { env: {} });
  t.teardown(() => sender.close());
  const bound = new Promise<'still in flight after 15 s'>((resolve) => setTimeout(() => resolve('still in flight after 15 s'), 15_000).unref());
  const res = await Promise.race([sender.exchange(delivery), bound]);
  if (typeof res === 'string') {
    t.fail(res);
    return;
  }
  t.equal(res.status, null, 'not counted as delivered');
  t.equal(res.error, 'timeout: the attempt took longer than timeout.total 1500ms');
  t.ok(res.latencyMs >= 1450 && res.latencyMs < 10_000, `ended at the deadline (${res.latencyMs} ms)`);
  const next = await sender.send(delivery);
  t.match(next, { outcome: 'delivered', status: 200 }, 'the destination keeps working');
});

t.test('a connect nobody answers (a firewall dropping SYNs) ends at timeout.connect', async (t) => {
  const blackhole = await startUnansweredPort();
  t.teardown(() => blackhole.close());
  const res = await sendOnce(httpDest('ci', `http://127.0.0.1:${blackhole.port}/hook`, { timeout: { connectMs: 400, responseMs: 5000, totalMs: 60_000 } }));
  t.equal(res.status, null);
  t.match(res.error, /timeout waiting for connect/);
  t.match(res.timings, { tcpMs: null, firstByteMs: null }, 'a connect that never finished has no TCP phase');
  t.ok(res.latencyMs >= 390 && res.latencyMs < 3000, `gave up after the connect timeout, not the response timeout (${res.latencyMs} ms)`);
});

t.test('3xx not followed by default: failure with Location', async (t) => {
  const rx = await startReceiver({ respond: [{ status: 302, headers: { Location: '/moved?token=s3cr3t' } }] });
  t.teardown(() => rx.close());
  const res = await sendOnce(httpDest('ci', rx.url));
  t.equal(res.status, 302);
  t.equal(res.location, `${rx.url}/moved?token=***`, 'Location recorded, absolute and redacted');
  t.equal(rx.requests.length, 1, 'not followed');
});

t.test('followRedirects: same origin keeps auth; another origin never gets auth or signature; 303 → GET', async (t) => {
  const other = await startReceiver();
  const rx = await startReceiver({
    respond: (r) => {
      if (r.url === '/start') return { status: 307, headers: { Location: '/same' } };
      if (r.url === '/same') return { status: 308, headers: { Location: `${other.url}/elsewhere` } };
      if (r.url === '/see-other') return { status: 303, headers: { Location: '/result' } };
      return undefined;
    },
  });
  t.teardown(() => Promise.all([rx.close(), other.close()]));
  const dest = httpDest('ci', `${rx.url}/start`, { followRedirects: true, secret: 's', auth: { bearer: 'tok-XYZ-123' }, headers: { 'X-Api-Key': 'k-1' } });
  const res = await sendOnce(dest);
  t.match(res, { status: 200, location: null, url: `${other.url}/elsewhere` });
  const same = rx.requests.find((r) => r.url === '/same')!;
  t.equal(same.headers.authorization, 'Bearer tok-XYZ-123', 'same origin: auth kept');
  t.equal(same.method, 'POST', '307 keeps the method');
  t.same(same.body, body, 'and the body');
  const cross = other.requests[0];
  t.equal(cross.url, '/elsewhere');
  t.equal(cross.headers.authorization, undefined, 'no Authorization to another origin');
  t.equal(cross.headers['x-hub-signature'], undefined, 'no signature to another origin');
  t.equal(cross.headers['x-api-key'], undefined, 'no secret-looking config header either');
  t.equal(cross.headers['x-relay-delivery'], delivery.id, 'delivery id still sent');
  t.same(cross.body, body);

  await sendOnce(httpDest('ci', `${rx.url}/see-other`, { followRedirects: true }));
  const result = rx.requests.find((r) => r.url === '/result')!;
  t.equal(result.method, 'GET', '303 → GET');
  t.equal(result.body.length, 0, 'without body');
});

t.test('TLS: private CA via tls.ca, verify on by default, verify:false, client certificate', async (t) => {
  const pki = makePki(tempDir(t));
  const rx = await startReceiver({ tls: { key: pki.serverKey, cert: pki.serverCert } });
  t.teardown(() => rx.close());
  const untrusted = await sendOnce(httpDest('ci', rx.url));
  t.equal(untrusted.status, null);
  t.match(untrusted.error, /self-signed|unable to (get|verify)|SELF_SIGNED|UNABLE_TO/i, 'unknown CA refused by default');
  t.equal((await sendOnce(httpDest('ci', rx.url, { tls: { verify: true, ca: pki.caPath } }))).status, 200, 'extra CA bundle trusted');
  t.equal((await sendOnce(httpDest('ci', rx.url, { tls: { verify: false } }))).status, 200, 'verify: false accepts it');

  const mtls = await startReceiver({ tls: { key: pki.serverKey, cert: pki.serverCert, ca: pki.ca, requestCert: true } });
  t.teardown(() => mtls.close());
  const without = await sendOnce(httpDest('ci', mtls.url, { tls: { verify: true, ca: pki.caPath } }));
  t.equal(without.status, null, 'server demanding a client cert refuses us without one');
  const withCert = await sendOnce(httpDest('ci', mtls.url, { tls: { verify: true, ca: pki.caPath, cert: pki.clientCertPath, key: pki.clientKeyPath } }));
  t.equal(withCert.status, 200);
  t.equal(mtls.requests.at(-1)!.clientCertCN, 'relay-client', 'client certificate presented');
  t.throws(() => createHttpSender(httpDest('ci', mtls.url, { tls: { verify: true, ca: '/nonexistent/ca.pem' } })), /destination ci: cannot read tls\.ca \/nonexistent\/ca\.pem \(ENOENT\)/);
});

t.test('proxy: per-destination (http absolute-form, https CONNECT, credentials) and HTTPS_PROXY/NO_PROXY', async (t) => {
  const pki = makePki(tempDir(t));
  const plain = await startReceiver();
  const secure = await startReceiver({ tls: { key: pki.serverKey, cert: pki.serverCert } });
  const proxy = await startHttpProxy({ auth: 'px:pw' });
  t.teardown(() => Promise.all([plain.close(), secure.close(), proxy.close()]));
  const viaProxy = `http://px:pw@127.0.0.1:${proxy.port}`;

  const a = await sendOnce(httpDest('ci', `${plain.url}/p`, { proxy: viaProxy }));
  t.equal(a.status, 200);
  t.match(proxy.requests[0], { method: 'POST', target: `${plain.url}/p`, proxyAuthorization: 'Basic ' + Buffer.from('px:pw').toString('base64') });
  const b = await sendOnce(httpDest('ci', `${secure.url}/s`, { proxy: viaProxy, tls: { verify: true, ca: pki.caPath } }));
  t.equal(b.status, 200, 'https through a CONNECT tunnel, TLS verified end to end');
  t.match(proxy.requests[1], { method: 'CONNECT', target: `127.0.0.1:${secure.port}` });
  t.equal(secure.requests.length, 1);

  const denied = await sendOnce(httpDest('ci', `${plain.url}/p`, { proxy: `http://127.0.0.1:${proxy.port}` }));
  t.equal(denied.status, 407, 'proxy without credentials answers 407');

  // From the environment: HTTPS_PROXY used, unless NO_PROXY matches.
  const envSender = (env: NodeJS.ProcessEnv) => createHttpSender(httpDest('ci', `${secure.url}/env`, { tls: { verify: true, ca: pki.caPath } }), { env });
  const s1 = envSender({ HTTPS_PROXY: viaProxy });
  t.equal((await s1.send(delivery)).status, 200);
  s1.close();
  t.equal(proxy.requests.length, 4, 'env proxy used');
  const s2 = envSender({ HTTPS_PROXY: viaProxy, NO_PROXY: 'localhost,127.0.0.1' });
  t.equal((await s2.send(delivery)).status, 200);
  s2.close();
  t.equal(proxy.requests.length, 4, 'NO_PROXY bypasses the proxy');
  t.equal(secure.requests.length, 3);
});

t.test('a {repoId} URL for a repository without a known id: an attempt error naming the fix, nothing sent', async (t) => {
  const rx = await startReceiver();
  t.teardown(() => rx.close());
  const res = await sendOnce(httpDest('cds', `${rx.url}/hook/{repoId}`), { ...delivery, repoId: null });
  t.equal(res.status, null);
  t.match(res.error, /numeric id of .* is unknown.*use \{projectKey\}\/\{repoSlug\}/);
  t.match(res.url, /\/hook\/\{repoId\}$/, 'printed URL keeps the placeholder');
  t.equal(rx.requests.length, 0, 'nothing sent');
});
