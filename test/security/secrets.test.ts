// No configured secret ever shows: every daemon log line (debug level),
// `relay status`, `relay deliveries`, `relay show`, `relay dlq list`,
// `relay test`, `relay config check` — with the daemon running and stopped —
// and the store file itself are searched for every secret and token in the
// config (signing secret, bearer token, basic-auth password, ?token= in the
// URL, user:password@ in the URL, an API-key header, proxy credentials), and
// for their Base64 forms as they travel in Authorization headers. The
// receivers are hostile: their error responses echo the request headers back,
// so the response excerpts the relay keeps are tested too.

import t from 'tap';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRelayFixture, RELAY_BIN, waitUntil } from '../helpers/relay-fixture.ts';
import { startReceiver, type ReceivedRequest } from '../helpers/receiver.ts';
import { startHttpProxy } from '../helpers/tcp-proxy.ts';
import { relay as relayInProcess } from '../cli/cli-helpers.ts';

const S = {
  token: 'tok-Q7x9-url-token',
  hmac: 'hmac-K3v8-signing-secret',
  bearer: 'bearer-Z2m4-auth-token',
  password: 'pw-R5t1-basic-password',
  apiKey: 'apikey-W8n6-header-value',
  proxyPass: 'proxypw-J4h2-credential',
  urlPass: 'urlpw-T6c3-userinfo',
};
const b64 = (s: string): string => Buffer.from(s).toString('base64');
/** Every secret and every encoding of it that a leak could take. */
const NEEDLES: Record<string, string> = {
  ...S,
  'basic auth (base64)': b64(`relayuser:${S.password}`),
  'proxy auth (base64)': b64(`puser:${S.proxyPass}`),
  'url userinfo (base64)': b64(`urluser:${S.urlPass}`),
  'url-encoded token': encodeURIComponent(S.token),
};

/** Names of the secrets found in `text`. */
function leaks(text: string): string[] {
  return Object.entries(NEEDLES).filter(([, v]) => text.includes(v)).map(([k]) => k);
}

t.test('secrets appear in no log line, CLI output or store byte — daemon running and stopped', async (t) => {
  // Hostile receiver: the first two answers to /a and /b are 500s echoing the request back.
  const seen = new Map<string, number>();
  const echo = (req: ReceivedRequest): string => JSON.stringify({ url: req.url, headers: req.headers });
  const rx = await startReceiver({
    respond: (req) => {
      const lane = req.url.slice(0, 2);
      const n = (seen.get(lane) ?? 0) + 1;
      seen.set(lane, n);
      if (lane === '/c') return { status: 401, body: echo(req) }; // dead letter at once, response kept
      if (n <= 2) return { status: 500, body: echo(req), headers: { 'x-echo-auth': String(req.headers.authorization ?? '') } };
      return { status: 200, body: echo(req) };
    },
  });
  t.teardown(() => rx.close());
  const proxy = await startHttpProxy({ auth: `puser:${S.proxyPass}` });
  t.teardown(() => proxy.close());

  const fx = createRelayFixture({ prefix: 'relay-sec-secrets-' });
  t.teardown(() => fx.cleanup());
  const retry = { baseDelay: '20ms', maxDelay: '100ms' };
  fx.writeConfig({
    log: { format: 'json', level: 'debug' },
    destinations: [
      { name: 'bearer', type: 'http', url: `${rx.url}/a?token=${S.token}`, secret: S.hmac, auth: { bearer: S.bearer }, headers: { 'X-Api-Key': S.apiKey }, format: 'bitbucket-server', retry },
      { name: 'basic', type: 'http', url: `${rx.url}/b`, auth: { username: 'relayuser', password: S.password }, proxy: `http://puser:${S.proxyPass}@127.0.0.1:${proxy.port}`, format: 'github', secret: S.hmac, retry },
      { name: 'userinfo', type: 'http', url: `http://urluser:${S.urlPass}@127.0.0.1:${rx.port}/c`, format: 'cloudevents', retry },
    ],
  });
  const daemon = await fx.startDaemon();
  const repo = fx.createRepo('app');
  for (let i = 1; i <= 2; i++) {
    repo.commit('a.txt', `${i}\n`, `PROJ-${i} change ${i}`);
    repo.push(['origin', 'main']);
  }
  const ok = (p: string) => rx.requests.filter((r) => r.url.startsWith(p));
  await waitUntil(() => ok('/a').length >= 4 && ok('/b').length >= 4 && ok('/c').length >= 2, 'every destination tried, retried and answered', 20_000);

  // The secrets were really in play (so finding none below means something).
  const a = ok('/a')[0];
  t.equal(a.headers.authorization, `Bearer ${S.bearer}`, 'bearer sent');
  t.match(a.url, S.token, 'URL token sent');
  t.equal(a.headers['x-api-key'], S.apiKey, 'API key header sent');
  t.equal(ok('/b')[0].headers.authorization, `Basic ${NEEDLES['basic auth (base64)']}`, 'basic auth sent');
  t.ok(proxy.requests.some((r) => r.proxyAuthorization === `Basic ${NEEDLES['proxy auth (base64)']}`), 'proxy credentials sent');
  t.equal(ok('/c')[0].headers.authorization, `Basic ${NEEDLES['url userinfo (base64)']}`, 'URL userinfo sent as basic auth');

  // Everything an operator can print. The commands run in this process
  // (main() with captured output, as bin/relay.js runs it): some forty
  // `node bin/relay.js` processes, each loading the CLI anew, made this file
  // take minutes on a loaded 2-core machine. One real process below covers
  // the binary's own path.
  const outputs: [string, string][] = [];
  const relayIo = (args: string[]): Promise<{ stdout: string; stderr: string }> => relayInProcess(args, { env: { RELAY_CONFIG: fx.configFile } });
  const relay = async (args: string[]): Promise<string> => {
    const r = await relayIo(args);
    return r.stdout + r.stderr;
  };
  const runAll = async (commands: string[][], state: string): Promise<void> => {
    for (const args of commands) outputs.push([`relay ${args.join(' ')} (daemon ${state})`, await relay(args)]);
  };
  const binary = await new Promise<string>((resolve) => {
    execFile(process.execPath, [RELAY_BIN, 'status'], { env: { ...process.env, RELAY_CONFIG: fx.configFile } }, (_err, stdout, stderr) => resolve(stdout + stderr));
  });
  outputs.push(['bin/relay.js status (daemon running)', binary]);
  const deliveryIds = async (): Promise<string[]> => (JSON.parse((await relayIo(['deliveries', '--json', '--limit', '100'])).stdout) as { id: string }[]).map((d) => d.id);
  await waitUntil(async () => (await deliveryIds()).length >= 6, 'six deliveries listed');
  const everyCommand = async (): Promise<string[][]> => [
    ['status'], ['status', '--json'], ['deliveries', '--wide'], ['deliveries', '--json', '--limit', '100'], ['deliveries', '--failed', '--wide'], ['dlq', 'list'],
    ...(await deliveryIds()).flatMap((id) => [['show', id, '--full'], ['show', id, '--json']]),
    ['config', 'check', fx.configFile],
  ];
  await runAll([...(await everyCommand()), ['test', 'bearer'], ['test', 'basic'], ['test', 'userinfo']], 'running');
  t.ok(outputs.some(([what, out]) => what.startsWith('relay show') && out.includes('500')), 'show output includes the 500 attempts (the echoed responses were printed)');
  t.ok(outputs.some(([what, out]) => what.startsWith('relay test basic') && /HTTP 200|HTTP 500/.test(out)), 'relay test reached the receiver');
  daemon.child.kill('SIGTERM');
  await daemon.exited;
  await runAll(await everyCommand(), 'stopped');

  const found: string[] = [];
  for (const [what, text] of outputs) for (const leak of leaks(text)) found.push(`${what}: ${leak} in …${text.slice(Math.max(0, text.indexOf(NEEDLES[leak]) - 120), text.indexOf(NEEDLES[leak]) + 60)}…`);
  t.same(found, [], `no secret in ${outputs.length} command outputs`);
  t.same(leaks(daemon.output()), [], `no secret in ${daemon.logLines().length} daemon log lines (debug level)`);
  const store = [fx.storePath, fx.storePath + '-wal'].filter(existsSync).map((f) => readFileSync(f).toString('latin1')).join('');
  t.same(leaks(store), [], 'no secret in the store file');
});
