// The intake's pure parts: which entry may run next (one per repository, in
// spool order, bounded), what a new name in incoming/ is, and the retry delay.

import t from 'tap';
import { lstatSync, mkdtempSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { insertOrdered, laterRecordsOf, newEntry, retryDelayMs, runnableEntries, type Entry } from '../../src/intake/scheduler.ts';
import { judgeNewEntry } from '../../src/intake/discovery.ts';
import { lstatEntry } from '../../src/intake/spool-files.ts';
import type { SpoolRecord } from '../../src/intake/spool-record.ts';

function entry(name: string, repo: string, state: Entry['state'], mtime: number): Entry {
  const e = newEntry(name, BigInt(mtime) * 1_000_000n);
  e.state = state;
  e.record = state === 'unread' ? null : ({ id: name, repoPath: repo } as SpoolRecord);
  return e;
}

t.test('runnable: the first unfinished record of each repository, oldest first, up to the concurrency', async (t) => {
  const order: Entry[] = [];
  for (const e of [entry('a1', '/a', 'ready', 1), entry('b1', '/b', 'running', 2), entry('a2', '/a', 'ready', 3), entry('b2', '/b', 'ready', 4), entry('c1', '/c', 'ready', 5), entry('d1', '/d', 'ready', 6)]) insertOrdered(order, e);
  t.same(runnableEntries(order, 0, 1, 4).map((e) => e.name), ['a1', 'c1', 'd1'], 'a2 waits for a1, b2 for the running b1');
  t.same(runnableEntries(order, 0, 1, 2).map((e) => e.name), ['a1'], 'bounded by concurrency (one already active)');
  const retry = entry('r1', '/r', 'retry', 0);
  retry.dueAt = 100;
  const r2 = entry('r2', '/r', 'ready', 7);
  t.same(runnableEntries([retry, r2], 50, 0, 4).map((e) => e.name), [], 'a retry not yet due holds its repository');
  t.same(runnableEntries([retry, r2], 100, 0, 4).map((e) => e.name), ['r1'], 'due: it goes first');
  t.same(runnableEntries([entry('x', '/x', 'ready', 1), entry('u', '/u', 'unread', 2), entry('y', '/y', 'ready', 3)], 0, 0, 4).map((e) => e.name), ['x'], 'nothing beyond the first unread entry');
  t.same(laterRecordsOf(order, order[0]), { records: [order[2].record], contiguous: 1 }, 'later records of the same repository, none being written between');
});

t.test('later records: those after a record still being written are known, but not known to follow directly', async (t) => {
  const writing = entry('w', '/?', 'incomplete', 3);
  writing.record = null;
  const order = [entry('a1', '/a', 'ready', 1), entry('a2', '/a', 'ready', 2), writing, entry('b1', '/b', 'ready', 4), entry('a3', '/a', 'ready', 5), entry('u', '/a', 'unread', 6), entry('a4', '/a', 'ready', 7)];
  const later = laterRecordsOf(order, order[0]);
  t.same(later.records.map((r) => r.id), ['a2', 'a3'], 'up to the first unread entry');
  t.equal(later.contiguous, 1, 'a2 directly; a3 only after the record being written');
});

t.test('insertOrdered keeps spool order (mtime, then name)', async (t) => {
  const order: Entry[] = [];
  for (const [n, m] of [['c', 2], ['a', 3], ['b', 2], ['d', 1]] as const) insertOrdered(order, entry(n, '/r', 'ready', m));
  t.same(order.map((e) => e.name), ['d', 'b', 'c', 'a']);
});

t.test('retry delay doubles from the base up to the max, jittered down by at most 20 %', async (t) => {
  t.equal(retryDelayMs(1, 1000, 60_000, () => 1), 1000);
  t.equal(retryDelayMs(3, 1000, 60_000, () => 1), 4000);
  t.equal(retryDelayMs(30, 1000, 60_000, () => 1), 60_000);
  t.equal(retryDelayMs(1, 1000, 60_000, () => 0), 800);
});

t.test('a new name in incoming/: record, temporary file within its grace, or quarantine with the reason', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'relay-discovery-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, '0001.push'), 'x');
  writeFileSync(join(dir, '.0002.push.tmp'), 'x');
  writeFileSync(join(dir, 'notes.txt'), 'x');
  symlinkSync('/etc/passwd', join(dir, '0003.push'));
  const now = Date.now();
  const judge = (name: string, at = now) => judgeNewEntry(lstatEntry(dir, name)!, at, 60_000);
  t.same(judge('0001.push'), { kind: 'record' });
  t.match(judge('.0002.push.tmp'), { kind: 'temp' });
  t.ok((judge('.0002.push.tmp') as { recheckAt: number }).recheckAt > now, 'judged again after its grace');
  const old = (now - 120_000) / 1000;
  utimesSync(join(dir, '.0002.push.tmp'), old, old);
  t.match(judge('.0002.push.tmp'), { kind: 'quarantine', reason: /not completed within 60000 ms/ });
  t.match(judge('notes.txt'), { kind: 'quarantine', reason: /not a spool record name/ });
  t.ok(lstatSync(join(dir, '0003.push')).isSymbolicLink());
  t.match(judge('0003.push'), { kind: 'quarantine', reason: /symbolic link \(never followed\)/ });
});
