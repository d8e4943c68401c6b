// web.auth against the real daemon: on loopback with auth the pages answer
// 401 without the token and 200 with it, and the token is never logged; a
// non-loopback web.listen without auth is refused at start (nothing listens,
// the log and `relay status` say why).

import t from 'tap';
import net from 'node:net';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { createRelayFixture } from '../helpers/relay-fixture.ts';

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

t.test('auth: loopback with web.auth asks for it; non-loopback without it is refused at start', async (t) => {
  const port = await freePort();
  const fx = createRelayFixture({ prefix: 'relay-webauth-' });
  t.teardown(() => fx.cleanup());
  const tokenFile = path.join(fx.root, 'web-token');
  writeFileSync(tokenFile, 'page-token-SECRET-42\n', { mode: 0o600 });
  fx.writeConfig({ web: { listen: `127.0.0.1:${port}`, auth: { type: 'bearer', file: tokenFile } } });
  const d1 = await fx.startDaemon();
  await d1.waitForLog((l) => l.message === 'web pages listening' && l.auth === 'bearer');
  const none = await fetch(`http://127.0.0.1:${port}/`);
  t.equal(none.status, 401);
  t.equal(none.headers.get('www-authenticate'), 'Bearer realm="bitbucket-relay"');
  t.equal((await fetch(`http://127.0.0.1:${port}/`, { headers: { authorization: 'Bearer wrong' } })).status, 401);
  const yes = await fetch(`http://127.0.0.1:${port}/deliveries`, { headers: { authorization: 'Bearer page-token-SECRET-42' } });
  t.equal(yes.status, 200);
  t.notMatch(d1.output(), /page-token-SECRET-42/, 'the token is never logged');
  d1.child.kill('SIGTERM');
  await d1.exited;

  fx.writeConfig({ web: { listen: `0.0.0.0:${port}` } });
  const d2 = await fx.startDaemon();
  const line = await d2.waitForLog((l) => /web pages are off/.test(l.message));
  t.match(line.message, /0\.0\.0\.0:\d+ is not a loopback address and web\.auth is not set: refusing/);
  await t.rejects(fetch(`http://127.0.0.1:${port}/`), 'nothing listens');
  const status = fx.relay(['status']);
  t.match(status.stdout, /web\s+off: /, '`relay status` says the pages are off');
});
