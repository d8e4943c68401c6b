// Hostile receivers that echo credentials back the way a login redirect
// does: in the Location of a 302 (path, encoded query, base64), in the body,
// in response headers, and so in the error message of a redirect not
// followed. Every configured secret (bearer, password, Basic base64, signing
// secret, a ${ENV} value in the URL) must be masked in every form it can take
// (raw, URL-encoded, form-encoded, base64, base64url) in the store file, the
// daemon log and every operator output, daemon running and stopped.
// (Split from secrets.test.ts: each file stays well under its time limit.)

import t from 'tap';
import { existsSync, readFileSync } from 'node:fs';
import { createRelayFixture, waitUntil } from '../helpers/relay-fixture.ts';
import { startReceiver, type ReceivedRequest } from '../helpers/receiver.ts';
import { relay as relayInProcess } from '../cli/cli-helpers.ts';

const b64 = (s: string): string => Buffer.from(s).toString('base64');

t.test('receivers echoing credentials in Location, body, response headers and error messages: masked in every form, in the store and in every output', async (t) => {
  // Secrets with characters that change under URL encoding, so each form is distinct.
  const E = {
    bearer: 'bearer/Q8z+echo=token',
    password: 'pw R7:echo&basic',
    hmac: 'hmac-echo-secret/+9',
    envToken: 'env-Tok/9=echo-value',
  };
  const basic = b64(`echouser:${E.password}`);
  const forms = (s: string): Record<string, string> => ({
    raw: s,
    'url-encoded': encodeURIComponent(s),
    'form-encoded': new URLSearchParams({ x: s }).toString().slice(2),
    base64: b64(s),
    base64url: Buffer.from(s).toString('base64url'),
  });
  const needles: Record<string, string> = {};
  for (const [name, value] of Object.entries({ ...E, 'basic credentials': basic })) {
    for (const [form, v] of Object.entries(forms(value))) needles[`${name} (${form})`] = v;
  }
  const found = (text: string): string[] => Object.entries(needles).filter(([, v]) => text.includes(v)).map(([k]) => k);

  // The receiver answers like a login redirect that echoes what it was sent, everywhere it can.
  const echoAll = (req: ReceivedRequest): string => {
    const auth = String(req.headers.authorization ?? '').replace(/^(Bearer|Basic) /, '');
    const secret = auth.startsWith('bearer') ? auth : req.url.includes('/env/') ? E.envToken : Buffer.from(auth, 'base64').toString().split(':').slice(1).join(':') || auth;
    return secret;
  };
  const rx = await startReceiver({
    respond: (req) => {
      const s = echoAll(req);
      const all = Object.values(forms(s)).join(' ');
      if (req.url.startsWith('/login')) return { status: 500, body: `login page for ${all}` };
      // Login redirect: the credential in the path, the query (encoded) and base64; the body and headers echo it too.
      return {
        status: 302,
        headers: {
          location: `${rx.url}/login/${encodeURIComponent(s)}?next=${encodeURIComponent(s)}&b=${b64(s)}&u=${Buffer.from(s).toString('base64url')}`,
          'x-echo': b64(s),
        },
        body: `redirecting ${all}`,
      };
    },
  });
  t.teardown(() => rx.close());
  const fx = createRelayFixture({ prefix: 'relay-sec-echo-' });
  t.teardown(() => fx.cleanup());
  const retry = { baseDelay: '20ms', maxDelay: '100ms' };
  fx.writeConfig({
    log: { format: 'json', level: 'debug' },
    destinations: [
      { name: 'bearer', type: 'http', url: `${rx.url}/hook`, auth: { bearer: E.bearer }, secret: E.hmac, retry },
      { name: 'basic', type: 'http', url: `${rx.url}/hook`, auth: { username: 'echouser', password: E.password }, retry },
      // Not followed: the 302 is a failure whose error message names the Location.
      { name: 'env', type: 'http', url: `${rx.url}/env/\${RELAY_ECHO_TOKEN}`, retry },
      // Followed: the login page's 500 body echoes the credential.
      { name: 'follow', type: 'http', url: `${rx.url}/hook`, auth: { bearer: E.bearer }, followRedirects: true, retry },
    ],
  });
  const env = { RELAY_ECHO_TOKEN: E.envToken };
  const daemon = await fx.startDaemon([], env);
  const repo = fx.createRepo('app');
  repo.commit('a.txt', '1\n', 'change');
  repo.push(['origin', 'main']);
  await waitUntil(() => rx.requests.filter((r) => r.url.startsWith('/login')).length >= 2 && rx.requests.filter((r) => r.url.startsWith('/env/')).length >= 2, 'redirects answered and followed', 20_000);
  t.ok(rx.requests.some((r) => r.url === `/env/${encodeURIComponent(E.envToken)}` || r.url === `/env/${E.envToken}`), 'the ${ENV} value was in the URL sent');

  const outputs: [string, string][] = [];
  const run = async (state: string): Promise<void> => {
    // In this process (main() with captured output): a process per command made this file slow on a loaded machine.
    const cli = (args: string[]) => relayInProcess(args, { env: { RELAY_CONFIG: fx.configFile, ...env } });
    const ids = (JSON.parse((await cli(['deliveries', '--json', '--limit', '100'])).stdout) as { id: string }[]).map((d) => d.id);
    t.ok(ids.length >= 4, `deliveries listed (${state})`);
    for (const args of [['status'], ['status', '--json'], ['deliveries', '--wide'], ['deliveries', '--json'], ['dlq', 'list'], ...ids.flatMap((id) => [['show', id, '--full'], ['show', id, '--json']])]) {
      const r = await cli(args);
      outputs.push([`relay ${args.join(' ')} (daemon ${state})`, r.stdout + r.stderr]);
    }
  };
  await run('running');
  t.ok(outputs.some(([what, out]) => what.includes('show') && /302/.test(out) && /login/.test(out)), 'the redirects were recorded and shown');
  daemon.child.kill('SIGTERM');
  await daemon.exited;
  await run('stopped');

  const leaks: string[] = [];
  for (const [what, text] of outputs) for (const k of found(text)) leaks.push(`${what}: ${k} in …${text.slice(Math.max(0, text.indexOf(needles[k]) - 80), text.indexOf(needles[k]) + 40)}…`);
  t.same(leaks, [], `no secret form in ${outputs.length} command outputs`);
  t.same(found(daemon.output()), [], 'none in the daemon log');
  const storeBytes = [fx.storePath, fx.storePath + '-wal'].filter(existsSync).map((f) => readFileSync(f).toString('latin1')).join('');
  t.same(found(storeBytes), [], 'none in the store file (attempts: location, error, excerpt; destination state)');
});
