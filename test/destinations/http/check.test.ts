// `relay test <dest>` against real local receivers: 200 (signed, authed
// ping), 401, 404, a hang (short timeout), nothing listening, HTTPS with a
// self-signed certificate (untrusted → "add tls.ca"; with tls.ca → ok), a
// CA-signed one, a connect nobody answers (a firewall dropping SYNs), and
// through a forward proxy.

import t from 'tap';
import { execFileSync } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startReceiver } from '../../helpers/receiver.ts';
import { startHttpProxy } from '../../helpers/tcp-proxy.ts';
import { startUnansweredPort } from '../../helpers/unanswered-port.ts';
import { makePki } from '../../deliver/tls-certs.ts';
import { freePort, makeRelayHome, relay } from '../../cli/cli-helpers.ts';

function selfSigned(dir: string): { key: Buffer; cert: Buffer; certPath: string } {
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', 'self.key', '-out', 'self.crt',
    '-days', '30', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { cwd: dir, stdio: 'pipe' });
  return { key: readFileSync(join(dir, 'self.key')), cert: readFileSync(join(dir, 'self.crt')), certPath: join(dir, 'self.crt') };
}

t.test('plain http: ok, 401, 404, hang, refused', async (t) => {
  const rx = await startReceiver({
    respond: (r) => {
      if (r.url.startsWith('/auth')) return { status: 401, body: 'bad token' };
      if (r.url.startsWith('/missing')) return { status: 404, body: 'no such hook' };
      if (r.url.startsWith('/hang')) return { hang: true };
      return { status: 200, body: 'pong' };
    },
  });
  t.teardown(() => rx.close());
  const closed = await freePort();
  const home = makeRelayHome(t);
  home.writeConfig(`destinations:
  - { name: ok, type: http, url: "${rx.url}/hook?token=test-SECRET-1", secret: test-SECRET-2, auth: { bearer: test-SECRET-3 } }
  - { name: auth, type: http, url: ${rx.url}/auth }
  - { name: missing, type: http, url: ${rx.url}/missing, format: github }
  - { name: hang, type: http, url: ${rx.url}/hang }
  - { name: refused, type: http, url: http://127.0.0.1:${closed}/hook }
  - { name: archive, type: file, path: events.jsonl }
`);
  const C = ['--config', home.configFile];

  const ok = await relay(['test', 'ok', ...C]);
  t.equal(ok.code, 0, ok.stdout);
  t.match(ok.stdout, /^relay test ok: POST http:\/\/127\.0\.0\.1:\d+\/hook\?token=\*\*\* \(format cloudevents\)$/m);
  t.match(ok.stdout, /^  dns +ok +\d+ms +127\.0\.0\.1 is an address/m);
  t.match(ok.stdout, /^  tcp +ok +\d+ms +connected to 127\.0\.0\.1:\d+$/m);
  t.match(ok.stdout, /^  http +ok +\d+ms +POST → HTTP 200: "pong"$/m);
  t.match(ok.stdout, /- OK: the receiver accepted the ping \(HTTP 200\)/);
  for (const s of ['test-SECRET-1', 'test-SECRET-2', 'test-SECRET-3']) t.notOk(ok.stdout.includes(s), `${s} not printed`);
  const ping = rx.requests.find((r) => r.url.startsWith('/hook'))!;
  t.equal(ping.headers.authorization, 'Bearer test-SECRET-3', 'the ping carries the configured auth');
  t.equal(ping.headers['x-hub-signature'], 'sha256=' + createHmac('sha256', 'test-SECRET-2').update(ping.body).digest('hex'), 'and is signed like deliveries');
  t.equal(JSON.parse(ping.body.toString()).type.endsWith('ping'), true, 'a ping in the destination format');

  const auth = await relay(['test', 'auth', ...C]);
  t.equal(auth.code, 1);
  t.match(auth.stdout, /http +FAILED .* HTTP 401: "bad token"/);
  t.match(auth.stdout, /the receiver refuses us \(HTTP 401\): check secret \/ auth/);

  const missing = await relay(['test', 'missing', ...C]);
  t.equal(missing.code, 1);
  t.match(missing.stdout, /not found \(HTTP 404\): check the path in url/);

  const started = Date.now();
  const hang = await relay(['test', 'hang', ...C, '--timeout', '500ms']);
  t.equal(hang.code, 1);
  t.ok(Date.now() - started < 15_000, `--timeout applies, not the 30 s response default (${Date.now() - started} ms)`);
  t.match(hang.stdout, /connected, but no HTTP response \(timeout waiting for response .*\): the receiver hangs, or a firewall\/VPN\/proxy holds the request; check the receiver, or try a proxy/);

  const refused = await relay(['test', 'refused', ...C]);
  t.equal(refused.code, 1);
  t.match(refused.stdout, /tcp +FAILED .*ECONNREFUSED/);
  t.match(refused.stdout, /http +skipped +an earlier step failed/);
  t.match(refused.stdout, new RegExp(`nothing is listening on 127\\.0\\.0\\.1:${closed} \\(connection refused\\): is the receiver running, and is the port right\\?`));

  const json = JSON.parse((await relay(['test', 'auth', ...C, '--json'])).stdout);
  t.match(json, { destination: 'auth', ok: false, status: 401, responseExcerpt: 'bad token' });
  t.same(json.steps.map((s: { step: string; result: string }) => `${s.step}:${s.result}`), ['dns:ok', 'tcp:ok', 'http:failed']);

  t.equal((await relay(['test', 'nope', ...C])).code, 2);
  // Every kind has its own pre-flight check: a file destination checks its directory is writable.
  const file = await relay(['test', 'archive', ...C, '--json']);
  t.equal(file.code, 0, file.stderr);
  t.match(JSON.parse(file.stdout), { destination: 'archive', type: 'file', ok: true, steps: [{ step: 'write', result: 'ok' }] });
});

t.test('a connect nobody answers: tcp times out, diagnosis points at the firewall / VPN and a proxy', async (t) => {
  const blackhole = await startUnansweredPort();
  t.teardown(() => blackhole.close());
  const home = makeRelayHome(t);
  home.writeConfig(`destinations:
  - { name: dropped, type: http, url: http://127.0.0.1:${blackhole.port}/hook }
`);
  const started = Date.now();
  const r = await relay(['test', 'dropped', '--config', home.configFile, '--timeout', '500ms']);
  t.equal(r.code, 1, r.stdout);
  t.ok(Date.now() - started < 8000, `--timeout applies, not the 10 s connect default (${Date.now() - started} ms)`);
  t.match(r.stdout, /tcp +FAILED .*no answer within 500 ?ms/);
  t.match(r.stdout, /http +skipped +an earlier step failed/);
  t.match(r.stdout, new RegExp(`no answer from 127\\.0\\.0\\.1:${blackhole.port} within 500 ?ms: a firewall or VPN is probably dropping the traffic; check the route, or try a proxy \\(destination proxy: or HTTPS_PROXY\\)`));
});

t.test('https: self-signed untrusted → add tls.ca; trusted with tls.ca; CA-signed', async (t) => {
  const home = makeRelayHome(t);
  const self = selfSigned(home.dir);
  const rxSelf = await startReceiver({ tls: { key: self.key, cert: self.cert } });
  t.teardown(() => rxSelf.close());
  const pki = makePki(home.dir);
  const rxCa = await startReceiver({ tls: { key: pki.serverKey, cert: pki.serverCert } });
  t.teardown(() => rxCa.close());
  home.writeConfig(`destinations:
  - { name: self, type: http, url: ${rxSelf.url}/hook }
  - { name: self-ca, type: http, url: ${rxSelf.url}/hook, tls: { ca: ${self.certPath} } }
  - { name: corp, type: http, url: ${rxCa.url}/hook }
  - { name: corp-ca, type: http, url: ${rxCa.url}/hook, tls: { ca: ${pki.caPath} } }
  - { name: noverify, type: http, url: ${rxSelf.url}/hook, tls: { verify: false } }
`);
  const C = ['--config', home.configFile];

  const untrusted = await relay(['test', 'self', ...C]);
  t.equal(untrusted.code, 1);
  t.match(untrusted.stdout, /tls +FAILED .*subject CN=127\.0\.0\.1; issuer CN=127\.0\.0\.1; expires \d{4}-\d\d-\d\d \(in 29 days\); NOT trusted: DEPTH_ZERO_SELF_SIGNED_CERT/);
  t.match(untrusted.stdout, /untrusted: the certificate of 127\.0\.0\.1 is signed by a CA this host does not trust \(DEPTH_ZERO_SELF_SIGNED_CERT\); add tls\.ca: /);
  t.match(untrusted.stdout, /http +skipped/);
  t.equal(rxSelf.requests.length, 0, 'no request sent over an untrusted connection');

  const trusted = await relay(['test', 'self-ca', ...C]);
  t.equal(trusted.code, 0, trusted.stdout);
  t.match(trusted.stdout, /tls +ok .*TLSv1\.3; subject CN=127\.0\.0\.1/);
  t.match(trusted.stdout, /http +ok .*HTTP 200/);

  const corp = await relay(['test', 'corp', ...C]);
  t.equal(corp.code, 1);
  t.match(corp.stdout, /issuer CN=Relay Test CA/);
  t.match(corp.stdout, /UNABLE_TO_VERIFY_LEAF_SIGNATURE\); add tls\.ca/);
  const corpCa = await relay(['test', 'corp-ca', ...C, '--json']);
  const j = JSON.parse(corpCa.stdout);
  t.equal(j.ok, true);
  t.match(j.certificate, { subject: 'CN=127.0.0.1', issuer: 'CN=Relay Test CA', trusted: true, trustError: null });
  t.ok(j.certificate.altNames.includes('IP Address:127.0.0.1'));
  t.equal(j.timings.reused, false, 'the ping went over a new connection');
  t.type(j.timings.tlsMs, 'number', "got's timings of the ping are kept");
  t.same(j.steps.map((s: { step: string; ms: number }) => [s.step, s.ms]), [['dns', j.timings.dnsMs], ['tcp', j.timings.tcpMs], ['tls', j.timings.tlsMs], ['http', j.steps[3].ms]], "the dns / tcp / tls steps are got's phases of the ping");
  t.match(j.diagnosis.join('\n'), /expires in 0 days; the receiver must renew it/, 'a certificate about to expire is called out');

  const off = await relay(['test', 'noverify', ...C]);
  t.equal(off.code, 0);
  t.match(off.stdout, /tls +warning .*not trusted \(DEPTH_ZERO_SELF_SIGNED_CERT\), tls\.verify is off/);
  t.match(off.stdout, /tls\.verify: false hides an untrusted certificate/);
});

t.test('through a forward proxy: CONNECT for https, absolute-form for http', async (t) => {
  const home = makeRelayHome(t);
  const pki = makePki(home.dir);
  const rxs = await startReceiver({ tls: { key: pki.serverKey, cert: pki.serverCert } });
  t.teardown(() => rxs.close());
  const rx = await startReceiver();
  t.teardown(() => rx.close());
  const proxy = await startHttpProxy({ auth: 'relay:proxy-SECRET-1' });
  t.teardown(() => proxy.close());
  const proxyUrl = `http://relay:proxy-SECRET-1@127.0.0.1:${proxy.port}`;
  home.writeConfig(`destinations:
  - { name: tunnel, type: http, url: ${rxs.url}/hook, proxy: "${proxyUrl}", tls: { ca: ${pki.caPath} } }
  - { name: plain, type: http, url: ${rx.url}/hook, proxy: "${proxyUrl}" }
  - { name: noauth, type: http, url: ${rxs.url}/hook, proxy: "http://127.0.0.1:${proxy.port}", tls: { ca: ${pki.caPath} } }
`);
  const C = ['--config', home.configFile];
  const tunnel = await relay(['test', 'tunnel', ...C]);
  t.equal(tunnel.code, 0, tunnel.stdout);
  t.match(tunnel.stdout, /via proxy http:\/\/\*\*\*:\*\*\*@127\.0\.0\.1:\d+/);
  t.match(tunnel.stdout, new RegExp(`tcp +ok .*connected to proxy 127\\.0\\.0\\.1:${proxy.port}`));
  t.match(tunnel.stdout, /proxy +ok .*tunnel to 127\.0\.0\.1:\d+ open/);
  t.match(tunnel.stdout, /tls +(ok|warning) .*issuer CN=Relay Test CA/, "TLS checked inside the tunnel (warning: the test CA expires in a day)");
  t.notOk(tunnel.stdout.includes('proxy-SECRET-1'));
  t.ok(proxy.requests.filter((r) => r.method === 'CONNECT').length >= 2, 'the check and the ping both tunnelled');
  const plain = await relay(['test', 'plain', ...C]);
  t.equal(plain.code, 0, plain.stdout);
  t.ok(proxy.requests.some((r) => r.method === 'POST' && r.target.startsWith(rx.url)), 'http goes to the proxy in absolute form');
  const noauth = await relay(['test', 'noauth', ...C]);
  t.equal(noauth.code, 1);
  t.match(noauth.stdout, /proxy +FAILED .*HTTP 407/);
  t.match(noauth.stdout, /the proxy wants credentials \(HTTP 407\): put them in the proxy URL/);
});
