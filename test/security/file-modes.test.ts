// Nobody but the service user (and its group) can read what the relay keeps:
// with the most permissive umask (000), everything the daemon and the hook
// create — spool directories and records, quarantine reasons, the store and
// its WAL/SHM/lock files, the control socket, a file destination — has no
// permission bits for "other". And a config file readable by every user that
// holds a secret draws a warning at daemon start.

import t from 'tap';
import { existsSync, readdirSync, rmSync, statSync, chmodSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createRelayFixture, quarantinedReasons, waitUntil } from '../helpers/relay-fixture.ts';

/** `path (mode 0640)` for every path whose mode grants anything to other users. */
function exposed(paths: string[]): string[] {
  return paths.filter((p) => (statSync(p).mode & 0o007) !== 0).map((p) => `${p} (mode ${(statSync(p).mode & 0o777).toString(8)})`);
}

/** Run fn with the process umask set (children inherit it). */
async function withUmask<T>(mask: number, fn: () => Promise<T> | T): Promise<T> {
  const old = process.umask(mask);
  try {
    return await fn();
  } finally {
    process.umask(old);
  }
}

t.test('umask 000: spool, records, quarantine, store, lock, socket and archive are closed to other users', async (t) => {
  const fx = createRelayFixture({ prefix: 'relay-sec-modes-' });
  t.teardown(() => fx.cleanup());
  rmSync(fx.spoolDir, { recursive: true }); // the daemon creates it (install.sh would too)
  const socket = path.join(fx.root, 'run', 'relay.sock');
  const archive = path.join(fx.root, 'archive', 'events.jsonl');
  fx.writeConfig({ admin: { socket }, destinations: [{ name: 'archive', type: 'file', path: archive }] });

  const daemon = await withUmask(0, () => fx.startDaemon());
  const incoming = path.join(fx.spoolDir, 'incoming');
  const quarantine = path.join(fx.spoolDir, 'quarantine');
  const repo = fx.createRepo('app');
  repo.commit('a.txt', 'a\n', 'first');
  await withUmask(0, () => repo.push(['origin', 'main']));
  await waitUntil(() => existsSync(archive) && statSync(archive).size > 0, 'the event archived');
  await withUmask(0, () => writeFileSync(path.join(incoming, 'junk.push'), 'not a record\n'));
  await waitUntil(() => quarantinedReasons(quarantine).length > 0, 'the junk quarantined');

  // A record as the hook leaves it, while the daemon is down.
  daemon.child.kill('SIGTERM');
  await daemon.exited;
  repo.commit('a.txt', 'b\n', 'second');
  await withUmask(0, () => repo.push(['origin', 'main']));
  const [record] = fx.incoming();
  t.ok(record, 'a record waits in incoming/');

  const storeDir = path.dirname(fx.storePath);
  const checked = [
    fx.spoolDir, incoming, quarantine,
    path.join(incoming, record),
    ...readdirSync(quarantine).filter((n) => n.endsWith('.reason.txt')).map((n) => path.join(quarantine, n)),
    storeDir, ...readdirSync(storeDir).map((n) => path.join(storeDir, n)),
    path.dirname(archive), archive,
  ];
  t.ok(existsSync(fx.storePath), 'the store file is among them');
  t.same(exposed(checked), [], `no other-user permission on ${checked.length} paths`);

  // The socket exists only while the daemon runs.
  const again = await withUmask(0, () => fx.startDaemon());
  t.ok(statSync(socket).isSocket(), 'control socket is there');
  t.same(exposed([path.dirname(socket), socket]), [], 'control socket and its directory closed to other users');
  const lock = fx.storePath + '.lock';
  t.ok(existsSync(lock) && existsSync(fx.storePath + '-wal') && existsSync(fx.storePath + '-shm'), 'lock, WAL and SHM exist while running');
  t.same(exposed([lock, ...readdirSync(storeDir).map((n) => path.join(storeDir, n))]), [], 'store, WAL, SHM and lock closed to other users while running');
  again.child.kill('SIGTERM');
  await again.exited;
});

t.test('a world-readable config holding a secret draws a warning at start (never quoting it); 0640 or ${ENV} does not', async (t) => {
  const fx = createRelayFixture({ prefix: 'relay-sec-config-' });
  t.teardown(() => fx.cleanup());
  const SECRET = 'hmac-Lk29-config-secret';
  const dest = (secret: string) => [{ name: 'ci', type: 'http', url: 'http://127.0.0.1:9/hook', secret, retry: { baseDelay: '1s', maxDelay: '5s' } }];
  const warning = (lines: Record<string, any>[]) => lines.find((l) => l.level === 'warn' && /readable by every user/.test(String(l.message)));

  fx.writeConfig({ destinations: dest(SECRET) });
  chmodSync(fx.configFile, 0o644);
  const loose = await fx.startDaemon();
  const w = warning(loose.logLines());
  t.ok(w, 'warned at start');
  t.match(w?.message, fx.configFile, 'names the file');
  t.match(w?.message, /chmod o-rwx/, 'says what to do');
  t.notOk(loose.output().includes(SECRET), 'the warning does not quote the secret');
  loose.child.kill('SIGTERM');
  await loose.exited;

  chmodSync(fx.configFile, 0o640);
  const tight = await fx.startDaemon();
  t.notOk(warning(tight.logLines()), 'mode 0640: no warning');
  tight.child.kill('SIGTERM');
  await tight.exited;

  fx.writeConfig({ destinations: dest('${RELAY_TEST_SECRET}') });
  chmodSync(fx.configFile, 0o644);
  const fromEnv = await fx.startDaemon([], { RELAY_TEST_SECRET: SECRET });
  t.notOk(warning(fromEnv.logLines()), 'secret from the environment, not in the file: no warning');
  fromEnv.child.kill('SIGTERM');
  await fromEnv.exited;
});
