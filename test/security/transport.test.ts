// Transport security through the daemon: TLS verification is on by default
// (a receiver whose certificate the host does not trust gets nothing until
// tls.ca names its CA; tls.verify: false delivers but warns), and with
// followRedirects a redirect to another origin carries no credentials, no
// signature and no URL token, while a same-origin redirect keeps auth.

import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRelayFixture, waitUntil } from '../helpers/relay-fixture.ts';
import { startReceiver } from '../helpers/receiver.ts';
import { makePki } from '../deliver/tls-certs.ts';

const retry = { baseDelay: '50ms', maxDelay: '200ms' };

t.test('TLS verification is on by default: an untrusted certificate gets nothing until tls.ca is set', async (t) => {
  const pkiDir = mkdtempSync(path.join(os.tmpdir(), 'relay-sec-pki-'));
  t.teardown(() => rmSync(pkiDir, { recursive: true, force: true }));
  const pki = makePki(pkiDir);
  const rx = await startReceiver({ tls: { key: pki.serverKey, cert: pki.serverCert } });
  t.teardown(() => rx.close());
  const fx = createRelayFixture({ prefix: 'relay-sec-tls-' });
  t.teardown(() => fx.cleanup());
  const strict = { name: 'strict', type: 'http', url: `${rx.url}/strict`, format: 'cloudevents', retry };
  const insecure = { name: 'insecure', type: 'http', url: `${rx.url}/insecure`, format: 'cloudevents', retry, tls: { verify: false } };
  fx.writeConfig({ destinations: [strict, insecure] });
  const daemon = await fx.startDaemon();
  const warn = daemon.logLines().find((l) => l.level === 'warn' && /TLS verification is off/i.test(String(l.message)) && (l.destination === 'insecure' || String(l.message).includes('insecure')));
  t.ok(warn, 'tls.verify: false is warned about at start');

  const repo = fx.createRepo('app');
  repo.commit('a.txt', 'a\n', 'first');
  repo.push(['origin', 'main']);
  await waitUntil(() => rx.requests.some((r) => r.url === '/insecure'), 'the verify:false destination delivered');
  const failed = await waitUntil(() => {
    const r = fx.relay(['deliveries', '--json', '--dest', 'strict']);
    const rows = r.status === 0 ? (JSON.parse(r.stdout) as { state: string; attempts: number; lastError: string | null }[]) : [];
    return rows.find((d) => d.attempts >= 2) ?? null;
  }, 'the strict destination failing its attempts', 10_000);
  t.ok(['pending', 'in_flight'].includes(failed.state), `still queued (a certificate problem is retried, not dropped): ${failed.state}`);
  t.match(failed.lastError, /certificate|self[- ]signed|unable to verify|issuer/i, `the error names the certificate problem: ${failed.lastError}`);
  t.equal(rx.requests.filter((r) => r.url === '/strict').length, 0, 'not one request reached the untrusted receiver');

  // Trust its CA: the queued delivery goes through.
  fx.writeConfig({ destinations: [{ ...strict, tls: { ca: pki.caPath } }, insecure] });
  daemon.child.kill('SIGHUP');
  await daemon.waitForLog((l) => /config reloaded/.test(String(l.message)));
  await waitUntil(() => rx.requests.some((r) => r.url === '/strict'), 'delivered once tls.ca names the CA', 10_000);
  t.pass('delivered with tls.ca');
});

t.test('followRedirects: another origin gets no Authorization, API key, signature or token; the same origin keeps auth', async (t) => {
  const other = await startReceiver(); // another origin (port)
  t.teardown(() => other.close());
  const rx = await startReceiver({
    respond: (req) => {
      if (req.url.startsWith('/cross')) return { status: 307, headers: { location: `${other.url}/landed` } };
      if (req.url.startsWith('/same')) return { status: 307, headers: { location: '/final?from=same' } };
      return { status: 200 };
    },
  });
  t.teardown(() => rx.close());
  const fx = createRelayFixture({ prefix: 'relay-sec-redirect-' });
  t.teardown(() => fx.cleanup());
  const TOKEN = 'tok-redirect-Hq81';
  const BEARER = 'bearer-redirect-Vd27';
  const API_KEY = 'apikey-redirect-Xs55';
  const HMAC = 'hmac-redirect-Pp93';
  const common = { type: 'http', format: 'github', followRedirects: true, secret: HMAC, auth: { bearer: BEARER }, headers: { 'X-Api-Key': API_KEY }, retry };
  fx.writeConfig({
    destinations: [
      { name: 'cross', url: `${rx.url}/cross?token=${TOKEN}`, ...common },
      { name: 'same', url: `${rx.url}/same`, ...common },
    ],
  });
  await fx.startDaemon();
  const repo = fx.createRepo('app');
  const sha = repo.commit('a.txt', 'a\n', 'first');
  repo.push(['origin', 'main']);

  await waitUntil(() => other.requests.length >= 1 && rx.requests.some((r) => r.url.startsWith('/final')), 'both redirects followed');
  const first = rx.requests.find((r) => r.url.startsWith('/cross'))!;
  t.equal(first.headers.authorization, `Bearer ${BEARER}`, 'the original request carried the credentials');
  t.match(first.headers['x-hub-signature-256'], /^sha256=/, 'and the signature');

  const landed = other.requests[0];
  t.equal(landed.url, '/landed', 'the other origin got the redirected request');
  t.equal(landed.method, 'POST', '307 keeps the method');
  t.equal(JSON.parse(landed.body.toString()).after, sha, 'and the body');
  t.equal(landed.headers.authorization, undefined, 'no Authorization to another origin');
  t.equal(landed.headers['x-api-key'], undefined, 'no API key header to another origin');
  t.equal(landed.headers['x-hub-signature-256'], undefined, 'no signature to another origin');
  t.notOk(JSON.stringify(landed.headers).includes(TOKEN) || landed.url.includes(TOKEN), 'no token to another origin');
  t.notOk(JSON.stringify(landed.headers).match(new RegExp(`${BEARER}|${API_KEY}|${HMAC}`)), 'no secret anywhere in its headers');

  const final = rx.requests.find((r) => r.url.startsWith('/final'))!;
  t.equal(final.headers.authorization, `Bearer ${BEARER}`, 'a same-origin redirect keeps Authorization');
  t.match(final.headers['x-hub-signature-256'], /^sha256=/, 'and the signature');
});
