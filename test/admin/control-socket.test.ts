// The control socket and the store lock on their own: protocol, refusals,
// ordering, socket file handling (mode, stale, live, not a socket), client
// failure codes; the lock against live, dead and own holders, and a daemon
// refusing a store a `relay` command holds.

import t from 'tap';
import net from 'node:net';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startControlServer, ControlSocketError } from '../../src/admin/control-socket.ts';
import { connectControl } from '../../src/admin/control-client.ts';
import { ControlError, LineSplitter } from '../../src/admin/control-protocol.ts';
import { holdStoreLock } from '../helpers/lock-holder.ts';
import { claimStoreLock, lockPathFor, processAlive, storeLockHolder, StoreLockedError } from '../../src/store/store-lock.ts';
import { StoreError } from '../../src/store/store.ts';
import { silentLog } from '../../src/log/logger.ts';
import { makeRelayHome, relayProcess } from '../cli/cli-helpers.ts';

function tempDir(t: { teardown(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'relay-ctl-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Send raw lines, collect `count` response lines. */
function raw(path: string, text: string, count: number): Promise<unknown[]> {
  return new Promise((resolve, reject) => {
    const s = net.connect(path);
    let buf = '';
    s.on('data', (c) => {
      buf += c.toString();
      const lines = buf.split('\n').filter(Boolean);
      if (lines.length >= count) {
        s.destroy();
        resolve(lines.map((l) => JSON.parse(l)));
      }
    });
    s.on('error', reject);
    s.write(text);
  });
}

t.test('requests, refusals and order', async (t) => {
  const path = join(tempDir(t), 'run', 'relay.sock');
  const server = await startControlServer({
    path,
    log: silentLog,
    handle: async (op, args) => {
      const a = args as { delay?: number; n?: number };
      if (op === 'hello') return { hello: 'there' };
      if (op === 'pause') throw new ControlError('not-found', 'no destination named "x"');
      if (op === 'resume') throw new StoreError('store is read-only');
      if (op === 'dlq-drop') throw new Error('kaboom');
      if (a.delay) await new Promise((r) => setTimeout(r, a.delay));
      return { n: a.n };
    },
  });
  t.teardown(() => server.close());
  t.equal(statSync(path).mode & 0o777, 0o660, 'socket mode 0660');
  t.equal(statSync(join(path, '..')).mode & 0o777, 0o750, 'its directory is created 0750');

  const conn = await connectControl(path);
  if (!conn.ok) throw new Error(conn.reason);
  const c = conn.client;
  t.same(await c.request('hello'), { hello: 'there' });
  await t.rejects(c.request('pause', { destination: 'x' }), { name: 'ControlError', code: 'not-found', message: 'no destination named "x"' });
  await t.rejects(c.request('resume'), { code: 'refused', message: 'store is read-only' }, 'store errors are operator-facing refusals');
  await t.rejects(c.request('dlq-drop'), { code: 'internal', message: 'dlq-drop failed in the daemon: kaboom' });
  const answers = await Promise.all([c.request('status', { delay: 80, n: 1 }), c.request('status', { n: 2 }), c.request('status', { delay: 10, n: 3 })]);
  t.same(answers, [{ n: 1 }, { n: 2 }, { n: 3 }]);
  c.close();

  const lines = await raw(path, '{"id":7,"op":"frobnicate"}\nnot json\n{"id":9,"op":"hello"}\n', 3);
  t.match(lines[0], { id: 7, ok: false, code: 'unknown-op', error: /unknown operation "frobnicate"; known: hello, status/ });
  t.match(lines[1], { ok: false, code: 'bad-request', error: /request is not JSON/ });
  t.match(lines[2], { id: 9, ok: true, result: { hello: 'there' } });

  await server.close();
  t.notOk(existsSync(path), 'the socket file goes with the server');
});

t.test('socket files: stale replaced, live refused, non-socket refused; client failure codes', async (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'relay.sock');
  const absent = await connectControl(path);
  t.match(absent, { ok: false, code: 'absent', reason: `daemon is not running (no answer on ${path})` });

  // A daemon killed with SIGKILL leaves its socket file behind.
  spawnSync(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(path)}, () => process.kill(process.pid, 'SIGKILL'))`]);
  t.ok(statSync(path).isSocket(), 'a stale socket file exists');
  const stale = await connectControl(path);
  t.match(stale, { ok: false, code: 'refused', reason: /daemon is not running \(no answer on .*; the socket file is left from an earlier run\)/ });
  const server = await startControlServer({ path, log: silentLog, handle: () => 'pong' });
  t.teardown(() => server.close());
  const conn = await connectControl(path);
  t.ok(conn.ok, 'the stale file was replaced');
  if (conn.ok) conn.client.close();

  await t.rejects(startControlServer({ path, log: silentLog, handle: () => null }), { name: 'ControlSocketError', message: /another process \(a second relay daemon\?\) answers on/ });
  const file = join(dir, 'plain');
  writeFileSync(file, 'x');
  await t.rejects(startControlServer({ path: file, log: silentLog, handle: () => null }), ControlSocketError);
  await t.rejects(startControlServer({ path: join(dir, 'x'.repeat(120)), log: silentLog, handle: () => null }), { message: /is longer than a unix socket path may be/ });
});

t.test('line splitting is bounded', async (t) => {
  const s = new LineSplitter(10);
  t.same(s.push(Buffer.from('ab\ncd')), ['ab']);
  t.same(s.push(Buffer.from('e\n\n')), ['cde', '']);
  t.throws(() => s.push(Buffer.from('x'.repeat(11))), /longer than 10 bytes/);
});

t.test('store lock: live holders refuse, dead ones are taken over, only the owner releases', async (t) => {
  const dir = tempDir(t);
  const store = join(dir, 'state', 'relay.db');
  const lock = claimStoreLock(store, 'relay pause');
  t.same(JSON.parse(readFileSync(lockPathFor(store), 'utf8')).pid, process.pid);
  t.match(storeLockHolder(store), { pid: process.pid, role: 'relay pause' });
  lock.release();
  t.notOk(existsSync(lockPathFor(store)));

  // A real process holding the lock (the kernel lock, not the holder file, decides).
  const sleeper = await holdStoreLock(store, 'daemon');
  t.teardown(() => sleeper.kill());
  let refused: unknown = null;
  try {
    claimStoreLock(store, 'relay resume');
  } catch (err) {
    refused = err;
  }
  t.ok(refused instanceof StoreLockedError, 'a live holder refuses');
  t.equal((refused as StoreLockedError).holder.pid, sleeper.pid);
  t.match((refused as Error).message, `is in use by the relay daemon (pid ${sleeper.pid}, since `);
  t.match((refused as Error).message, 'wait for it to finish');
  await sleeper.kill();
  t.notOk(processAlive(sleeper.pid), 'the holder is gone');
  t.equal(storeLockHolder(store), null, 'a dead holder does not count');
  const taken = claimStoreLock(store, 'relay resume');
  t.equal(JSON.parse(readFileSync(lockPathFor(store), 'utf8')).role, 'relay resume', 'stale lock taken over');
  writeFileSync(lockPathFor(store), JSON.stringify({ pid: 1, role: 'daemon', since: 'x' }));
  taken.release();
  t.ok(existsSync(lockPathFor(store)), 'release leaves a lock that is no longer ours');
});

t.test('the daemon refuses a store a relay command is writing', async (t) => {
  const home = makeRelayHome(t);
  home.writeConfig('destinations: []\n');
  const { mkdirSync } = await import('node:fs');
  mkdirSync(join(home.dir, 'state'));
  const sleeper = await holdStoreLock(home.storePath, 'relay backfill');
  t.teardown(() => sleeper.kill());
  const r = await relayProcess(['daemon', '--config', home.configFile]);
  t.equal(r.code, 4);
  t.match(r.stderr, `relay daemon: not started: store ${home.storePath} is in use by \`relay backfill\` (pid ${sleeper.pid}`);
});
