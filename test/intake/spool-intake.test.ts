// SpoolIntake against a real spool directory: ordering, watching, rescans,
// quarantine, grace period, pause/resume, stop, retries.

import t from 'tap';
import type { Test } from 'tap';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync, appendFileSync, chmodSync } from 'node:fs';
import path from 'node:path';
import { SpoolIntake, SpoolIntakeError, type SpoolIntakeOptions } from '../../src/intake/spool-intake.ts';
import type { SpoolRecord } from '../../src/intake/spool-record.ts';
import { spoolStats } from '../../src/intake/spool-stats.ts';
import { baseEnv, canMount, fillUp, makeSpool, mountTmpfs, runHook, SHELLS, tempDir } from '../hook/hook-helpers.ts';
import { recordBytes, recordingLog, refLine, sleep, waitFor, writeRecord } from './intake-helpers.ts';
import { quarantinedReasons } from '../helpers/relay-fixture.ts';

/** Starts an intake that is stopped when the test ends. */
async function startIntake(t: Test, opts: Partial<SpoolIntakeOptions> & Pick<SpoolIntakeOptions, 'dir' | 'onRecord'>): Promise<SpoolIntake> {
  const intake = new SpoolIntake({ rescanMs: 0, ...opts });
  t.teardown(() => intake.stop());
  await intake.start();
  return intake;
}

const incoming = (spool: string) => readdirSync(path.join(spool, 'incoming')).sort();
const quarantine = (spool: string) => readdirSync(path.join(spool, 'quarantine')).sort();

t.test('start-up scan hands records over oldest first (mtime, then name)', async (t) => {
  const spool = makeSpool(tempDir(t));
  const base = Date.now() - 60_000;
  // Written in scrambled order; mtimes decide, equal mtimes fall back to the name.
  writeRecord(spool, 'c.push', recordBytes({ repo: '/r/1' }), base + 3000);
  writeRecord(spool, 'a.push', recordBytes({ repo: '/r/2' }), base + 1000);
  writeRecord(spool, 'b2.push', recordBytes({ repo: '/r/3' }), base + 2000);
  writeRecord(spool, 'b1.push', recordBytes({ repo: '/r/4' }), base + 2000);
  writeRecord(spool, 'd.push', recordBytes({ repo: '/r/5' }), base + 500);
  const seen: string[] = [];
  await startIntake(t, { dir: spool, concurrency: 1, onRecord: async (r) => { seen.push(r.id); } });
  await waitFor(() => seen.length === 5, 'five records');
  t.same(seen, ['d', 'a', 'b1', 'b2', 'c']);
  await waitFor(() => incoming(spool).length === 0, 'files removed after onRecord');
});

t.test('the watcher picks up a record the real hook writes (no rescan)', async (t) => {
  const root = tempDir(t);
  const spool = makeSpool(root);
  const got: SpoolRecord[] = [];
  let fileExistedDuringOnRecord = false;
  await startIntake(t, {
    dir: spool,
    rescanMs: 0,
    onRecord: async (r) => {
      fileExistedDuringOnRecord = existsSync(path.join(spool, 'incoming', `${r.id}.push`));
      got.push(r);
    },
  });
  const r = runHook(SHELLS.dash, { env: baseEnv(root, { RELAY_SPOOL_DIR: spool, BB_USER_NAME: 'alice\nsmith' }), stdin: `${refLine('main')}\n`, cwd: root });
  t.equal(r.status, 0);
  await waitFor(() => got.length === 1, 'record via watcher', 5000);
  t.equal(got[0].env.BB_USER_NAME, 'alice\nsmith');
  t.same(got[0].refLines.map((l) => l.ref), ['refs/heads/main']);
  t.ok(fileExistedDuringOnRecord, 'file kept until onRecord resolved');
  await waitFor(() => incoming(spool).length === 0, 'file removed afterwards');
});

t.test('without the watcher, the periodic rescan finds new records', async (t) => {
  const spool = makeSpool(tempDir(t));
  const seen: string[] = [];
  await startIntake(t, { dir: spool, watch: false, rescanMs: 50, onRecord: async (r) => { seen.push(r.id); } });
  await sleep(30);
  writeRecord(spool, 'late.push', recordBytes({ repo: '/r/x' }));
  await waitFor(() => seen.length === 1, 'rescan picks the record');
  t.same(seen, ['late']);
});

t.test('same repository: strictly sequential and in order; others concurrent up to the limit', async (t) => {
  const spool = makeSpool(tempDir(t));
  const base = Date.now() - 60_000;
  const repos = ['/r/a', '/r/b', '/r/c', '/r/d', '/r/e'];
  let n = 0;
  for (let i = 0; i < 6; i++) {
    for (const repo of repos) {
      n++;
      writeRecord(spool, `${String(n).padStart(3, '0')}.push`, recordBytes({ repo, refs: [refLine('x', n)] }), base + n * 10);
    }
  }
  const inFlightByRepo = new Map<string, number>();
  const orderByRepo = new Map<string, number[]>();
  let inFlight = 0;
  let maxInFlight = 0;
  let overlap = false;
  await startIntake(t, {
    dir: spool,
    concurrency: 3,
    onRecord: async (r) => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      if (inFlightByRepo.get(r.repoPath)) overlap = true;
      inFlightByRepo.set(r.repoPath, 1);
      orderByRepo.set(r.repoPath, [...(orderByRepo.get(r.repoPath) ?? []), Number(r.id)]);
      await sleep(Math.random() * 15);
      inFlightByRepo.set(r.repoPath, 0);
      inFlight--;
    },
  });
  await waitFor(() => [...orderByRepo.values()].reduce((s, v) => s + v.length, 0) === 30, 'all 30 records', 10000);
  t.notOk(overlap, 'never two records of one repository at once');
  for (const [repo, ids] of orderByRepo) t.same(ids, [...ids].sort((a, b) => a - b), `${repo} in order`);
  t.ok(maxInFlight > 1, `repositories ran concurrently (max ${maxInFlight})`);
  t.ok(maxInFlight <= 3, 'never above the concurrency limit');
});

t.test('a corrupt record is quarantined with its reason; intake carries on', async (t) => {
  const spool = makeSpool(tempDir(t));
  const base = Date.now() - 60_000;
  writeRecord(spool, '1.push', Buffer.from('\x00\xffgarbage\nmore garbage\n', 'latin1'), base);
  writeRecord(spool, '2.push', recordBytes({ repo: '/r/a', env: { API_TOKEN: 'secret-123' }, refs: ['not a ref line'] }), base + 1);
  writeRecord(spool, '3.push', recordBytes({ repo: '/r/a' }), base + 2);
  const log = recordingLog();
  const seen: string[] = [];
  const intake = await startIntake(t, { dir: spool, log, onRecord: async (r) => { seen.push(r.id); } });
  await waitFor(() => seen.length === 1 && incoming(spool).length === 0, 'good record processed, bad ones moved');
  t.same(seen, ['3']);
  t.same(quarantine(spool), ['1.push', '1.push.reason.txt', '2.push', '2.push.reason.txt']);
  t.match(readFileSync(path.join(spool, 'quarantine', '1.push.reason.txt'), 'utf8'), /not a spool record/);
  t.match(readFileSync(path.join(spool, 'quarantine', '2.push.reason.txt'), 'utf8'), /ref line 1/);
  t.equal(intake.stats().quarantined, 2);
  const logged = JSON.stringify(log.lines);
  t.notMatch(logged, /secret-123/, 'env values never logged');
  t.equal(log.lines.filter((l) => l.message === 'spool record quarantined').length, 2);
});

t.test('quarantine/ removed by hand while running is recreated by the next quarantine', async (t) => {
  const spool = makeSpool(tempDir(t));
  const seen: string[] = [];
  await startIntake(t, { dir: spool, onRecord: async (r) => { seen.push(r.id); } });
  rmSync(path.join(spool, 'quarantine'), { recursive: true });
  writeRecord(spool, '1.push', 'garbage\n');
  writeRecord(spool, '2.push', recordBytes({ repo: '/r/a' }));
  await waitFor(() => seen.length === 1 && incoming(spool).length === 0, 'good record processed, bad one moved');
  t.same(quarantine(spool), ['1.push', '1.push.reason.txt'], 'quarantine/ is back with the entry and its reason');
});

t.test('symlinks are never followed; FIFOs and directories are quarantined without blocking', async (t) => {
  const root = tempDir(t);
  const spool = makeSpool(root);
  const outside = path.join(root, 'outside.push');
  writeFileSync(outside, recordBytes({ repo: '/r/outside' }));
  symlinkSync(outside, path.join(spool, 'incoming', 'link.push'));
  symlinkSync('/nonexistent/target', path.join(spool, 'incoming', 'dangling.push'));
  execFileSync('mkfifo', [path.join(spool, 'incoming', 'fifo.push')]);
  mkdirSync(path.join(spool, 'incoming', 'dir.push'));
  writeRecord(spool, 'good.push', recordBytes({ repo: '/r/good' }));
  const seen: string[] = [];
  await startIntake(t, { dir: spool, onRecord: async (r) => { seen.push(r.repoPath); } });
  await waitFor(() => incoming(spool).length === 0, 'everything handled', 5000);
  t.same(seen, ['/r/good'], 'the symlinked record was not processed');
  t.same(readFileSync(outside), recordBytes({ repo: '/r/outside' }), 'link target untouched');
  t.ok(existsSync(outside), 'link target still there');
  for (const name of ['link.push', 'dangling.push', 'fifo.push', 'dir.push']) {
    t.ok(existsSync(path.join(spool, 'quarantine', `${name}.reason.txt`)), `${name} quarantined with a reason`);
  }
  t.match(readFileSync(path.join(spool, 'quarantine', 'link.push.reason.txt'), 'utf8'), /symbolic link/);
  t.match(readFileSync(path.join(spool, 'quarantine', 'fifo.push.reason.txt'), 'utf8'), /regular file|FIFO/);
});

t.test('a record without end marker waits; completed in time it is processed', async (t) => {
  const spool = makeSpool(tempDir(t));
  const full = recordBytes({ repo: '/r/a', refs: [refLine('main')] });
  const file = writeRecord(spool, 'slow.push', full.subarray(0, 60));
  const seen: string[] = [];
  const intake = await startIntake(t, { dir: spool, graceMs: 5000, onRecord: async (r) => { seen.push(r.id); } });
  await sleep(200);
  t.same(seen, [], 'not processed while incomplete');
  t.equal(intake.stats().beingWritten, 1);
  appendFileSync(file, full.subarray(60));
  await waitFor(() => seen.length === 1, 'processed once complete');
  t.same(quarantine(spool), []);
});

t.test('a record still without end marker after the grace period is quarantined', async (t) => {
  const spool = makeSpool(tempDir(t));
  const full = recordBytes({ repo: '/r/a' });
  writeRecord(spool, 'stale.push', full.subarray(0, full.length - 10), Date.now() - 10 * 60_000); // old at start-up
  writeRecord(spool, 'young.push', full.subarray(0, full.length - 10));
  const seen: string[] = [];
  await startIntake(t, { dir: spool, graceMs: 400, onRecord: async (r) => { seen.push(r.id); } });
  await waitFor(() => quarantine(spool).includes('stale.push'), 'old partial quarantined at once', 1000);
  t.ok(incoming(spool).includes('young.push'), 'young partial still waiting');
  await waitFor(() => quarantine(spool).includes('young.push'), 'young partial quarantined after grace', 3000);
  t.match(readFileSync(path.join(spool, 'quarantine', 'young.push.reason.txt'), 'utf8'), /end marker.*grace period 400 ms/s);
  t.same(seen, []);
});

t.test('foreign names are quarantined; dot-files wait for the grace period', async (t) => {
  const spool = makeSpool(tempDir(t));
  writeRecord(spool, 'notes.txt', 'hello');
  writeRecord(spool, '.x.push.tmp', 'partial');
  await startIntake(t, { dir: spool, graceMs: 300, onRecord: async () => {} });
  await waitFor(() => quarantine(spool).includes('notes.txt'), 'foreign file quarantined');
  t.ok(incoming(spool).includes('.x.push.tmp'), 'temp file left alone at first');
  await waitFor(() => quarantine(spool).includes('.x.push.tmp'), 'temp file quarantined after grace', 3000);
});

t.test('pause keeps records waiting in the spool; resume hands them out', async (t) => {
  const spool = makeSpool(tempDir(t));
  const seen: string[] = [];
  const intake = await startIntake(t, { dir: spool, onRecord: async (r) => { seen.push(r.id); } });
  intake.pause();
  writeRecord(spool, '1.push', recordBytes({ repo: '/r/a' }));
  writeRecord(spool, '2.push', recordBytes({ repo: '/r/b' }));
  await waitFor(() => intake.stats().backlog === 2, 'both seen');
  await sleep(200);
  t.same(seen, [], 'nothing handed out while paused');
  t.same(incoming(spool), ['1.push', '2.push'], 'nothing dropped');
  t.ok(intake.stats().paused);
  intake.resume();
  await waitFor(() => seen.length === 2, 'handed out after resume');
  await waitFor(() => intake.stats().backlog === 0 && incoming(spool).length === 0, 'spool drained');
});

t.test('stop() waits for the record in hand and takes no new ones', async (t) => {
  const spool = makeSpool(tempDir(t));
  const base = Date.now() - 60_000;
  writeRecord(spool, '1.push', recordBytes({ repo: '/r/a' }), base);
  writeRecord(spool, '2.push', recordBytes({ repo: '/r/a' }), base + 1);
  let release!: () => void;
  const started: string[] = [];
  let finished = false;
  const intake = await startIntake(t, {
    dir: spool,
    onRecord: async (r) => {
      started.push(r.id);
      await new Promise<void>((res) => { release = res; });
      finished = true;
    },
  });
  await waitFor(() => started.length === 1, 'first record in hand');
  let stopped = false;
  const stopping = intake.stop().then(() => { stopped = true; });
  await sleep(100);
  t.notOk(stopped, 'stop waits while the record is in hand');
  release();
  await stopping;
  t.ok(finished, 'onRecord finished before stop resolved');
  t.same(started, ['1'], 'no new record taken after stop');
  t.same(incoming(spool), ['2.push'], 'finished record removed, the next one kept');
});

t.test('a rejected record stays, is retried with backoff, logged once; its repository waits', async (t) => {
  const spool = makeSpool(tempDir(t));
  const base = Date.now() - 60_000;
  writeRecord(spool, '1.push', recordBytes({ repo: '/r/a' }), base);
  writeRecord(spool, '2.push', recordBytes({ repo: '/r/a' }), base + 1);
  writeRecord(spool, '3.push', recordBytes({ repo: '/r/b' }), base + 2);
  const log = recordingLog();
  const calls: { id: string; at: number }[] = [];
  let failures = 3;
  await startIntake(t, {
    dir: spool,
    log,
    retryBaseMs: 40,
    retryMaxMs: 200,
    onRecord: async (r) => {
      calls.push({ id: r.id, at: Date.now() });
      if (r.id === '1' && failures-- > 0) throw new Error('store is down');
    },
  });
  await waitFor(() => incoming(spool).length === 0, 'all processed eventually', 5000);
  const ids = calls.map((c) => c.id);
  t.same(ids.filter((i) => i !== '3'), ['1', '1', '1', '1', '2'], 'record 2 of the same repository waited for 1');
  t.ok(ids.indexOf('3') < ids.lastIndexOf('1'), 'another repository was not held up');
  const tries = calls.filter((c) => c.id === '1').map((c) => c.at);
  t.ok(tries[2] - tries[1] >= tries[1] - tries[0] - 10, 'backoff grows (no spinning)');
  t.equal(log.lines.filter((l) => l.level === 'warn' && /will retry/.test(l.message)).length, 1, 'warned once');
  t.ok(log.lines.some((l) => l.message === 'spool record processed after retries'));
});

t.test('spoolStats reads the spool without an intake', async (t) => {
  const spool = makeSpool(tempDir(t));
  const now = Date.now();
  writeRecord(spool, 'a.push', recordBytes({ repo: '/r/a' }), now - 90_000);
  writeRecord(spool, 'b.push', recordBytes({ repo: '/r/a' }), now - 10_000);
  writeRecord(spool, '.tmp', 'x');
  writeFileSync(path.join(spool, 'quarantine', 'q.push'), 'x');
  writeFileSync(path.join(spool, 'quarantine', 'q.push.reason.txt'), 'why');
  const r = await spoolStats(spool, now);
  if (!r.ok) throw new Error(r.error);
  t.equal(r.stats.backlog, 2);
  t.equal(r.stats.temporary, 1);
  t.equal(r.stats.quarantined, 1);
  t.ok(Math.abs(r.stats.oldestAgeMs! - 90_000) < 1500, `oldest ~90 s (${r.stats.oldestAgeMs})`);
  const missing = await spoolStats(path.join(spool, 'nope'));
  t.notOk(missing.ok);
  if (!missing.ok) t.match(missing.error, /cannot read .*nope\/incoming \(ENOENT\)/);
});

t.test('an unusable spool is a clear start-up error', async (t) => {
  const root = tempDir(t);
  const missing = new SpoolIntake({ dir: path.join(root, 'missing'), createDirs: false, onRecord: async () => {} });
  await t.rejects(missing.start(), { name: 'SpoolIntakeError', message: /missing\/? ?does not exist|missing does not exist/ });
  const fileSpool = path.join(root, 'spool');
  mkdirSync(fileSpool);
  writeFileSync(path.join(fileSpool, 'incoming'), 'oops');
  const notDir = new SpoolIntake({ dir: fileSpool, onRecord: async () => {} });
  const err = await notDir.start().catch((e) => e);
  t.ok(err instanceof SpoolIntakeError);
  t.match(err.message, /incoming is not a directory/);
  // Created when missing (default), with restrictive modes.
  const fresh = path.join(root, 'fresh');
  const created = await startIntake(t, { dir: fresh, onRecord: async () => {} });
  t.ok(existsSync(path.join(fresh, 'incoming')) && existsSync(path.join(fresh, 'quarantine')));
  t.equal(created.stats().backlog, 0);
});

t.test('an unreadable record is left in place and logged once (non-root only)', { skip: process.getuid?.() === 0 ? 'root reads everything' : false }, async (t) => {
  const spool = makeSpool(tempDir(t));
  const file = writeRecord(spool, 'locked.push', recordBytes({ repo: '/r/a' }));
  chmodSync(file, 0o000);
  const log = recordingLog();
  const intake = await startIntake(t, { dir: spool, log, rescanMs: 50, onRecord: async () => {} });
  await sleep(300);
  t.same(incoming(spool), ['locked.push']);
  t.equal(log.lines.filter((l) => l.level === 'error').length, 1);
  t.equal(intake.stats().stuck, 1);
});

t.test('repoRoots: records naming a repository outside them are quarantined', async (t) => {
  const spool = makeSpool(tempDir(t));
  const base = Date.now() - 60_000;
  writeRecord(spool, '1.push', recordBytes({ repo: '/srv/bitbucket/shared/data/repositories/1' }), base);
  writeRecord(spool, '2.push', recordBytes({ repo: '/etc' }), base + 1);
  writeRecord(spool, '3.push', recordBytes({ repo: '/srv/bitbucket/../../etc/ssh' }), base + 2);
  writeRecord(spool, '4.push', recordBytes({ repo: '/srv/bitbucket-evil/x' }), base + 3);
  const seen: string[] = [];
  await startIntake(t, { dir: spool, repoRoots: ['/srv/bitbucket'], onRecord: async (r) => { seen.push(r.id); } });
  await waitFor(() => incoming(spool).length === 0, 'all handled');
  t.same(seen, ['1']);
  t.same(quarantine(spool).filter((n) => !n.endsWith('.reason.txt')), ['2.push', '3.push', '4.push']);
  t.match(readFileSync(path.join(spool, 'quarantine', '3.push.reason.txt'), 'utf8'), /repository path \/etc\/ssh is outside/);
});

t.test('disk full: the intake survives and recovers by itself when space returns', { skip: canMount ? false : 'needs root with mount permission for a real ENOSPC on a small tmpfs' }, async (t) => {
  const root = tempDir(t);
  const spool = path.join(root, 'spool');
  mkdirSync(spool);
  if (!mountTmpfs(t, spool, 'size=64k,mode=0755')) throw new Error('mounting a small tmpfs failed');
  mkdirSync(path.join(spool, 'incoming'));
  mkdirSync(path.join(spool, 'quarantine'));
  const log = recordingLog();
  const seen: string[] = [];
  const intake = await startIntake(t, { dir: spool, log, graceMs: 200, stuckRetryMs: 200, rescanMs: 50, onRecord: async (r) => { seen.push(r.refLines[0]?.ref ?? ''); } });
  const filler = path.join(spool, 'filler');
  fillUp(filler);
  const hookEnv = baseEnv(root, { RELAY_SPOOL_DIR: spool, BB_LONG: 'x'.repeat(8192) });
  const r1 = runHook(SHELLS.dash, { env: hookEnv, stdin: `${refLine('lost')}\n`, cwd: root });
  t.equal(r1.status, 0);
  t.match(r1.stderr, /^relay: .*disk full/);
  // The partial record outlives its grace period but cannot be quarantined (no space for the reason).
  await waitFor(() => intake.stats().stuck === 1, 'partial record stuck while the disk is full', 3000);
  t.same(seen, []);
  t.equal(log.lines.filter((l) => l.level === 'error').length, 1, 'logged once');
  rmSync(filler);
  await waitFor(() => quarantinedReasons(path.join(spool, 'quarantine')).length > 0, 'quarantined once space returns', 3000);
  t.match(quarantinedReasons(path.join(spool, 'quarantine'))[0], /end marker/);
  const r2 = runHook(SHELLS.dash, { env: hookEnv, stdin: `${refLine('after')}\n`, cwd: root });
  t.equal(r2.stderr, '');
  await waitFor(() => seen.length === 1, 'new pushes flow again');
  t.same(seen, ['refs/heads/after']);
});
