// The store lock under a real race: separate processes claim it at the same
// instant, the lock having been left by a holder that died (SIGKILL).

import t from 'tap';
import { rmSync, writeFileSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { lockPathFor, lockDatabasePathFor, claimStoreLock, StoreLockedError } from '../../src/store/store-lock.ts';
import { tempDir } from '../deliver/fixtures.ts';
import { holdStoreLock, startClaimant } from '../helpers/lock-holder.ts';

function tempStore(t: Parameters<typeof tempDir>[0]): string {
  const dir = tempDir(t, 'relay-lock-');
  mkdirSync(path.join(dir, 'state'));
  return path.join(dir, 'state', 'relay.db');
}

t.test('200 rounds: two processes racing for a stale lock, exactly one wins each round', async (t) => {
  const store = tempStore(t);
  const a = startClaimant(store, 'daemon');
  const b = startClaimant(store, 'daemon');
  t.teardown(async () => {
    await a.kill();
    await b.kill();
  });
  const rounds = 200;
  const doubleWins: number[] = [];
  const noWinner: number[] = [];
  for (let round = 0; round < rounds; round++) {
    // The lock as a SIGKILLed holder leaves it: its holder file names a dead process.
    writeFileSync(lockPathFor(store), JSON.stringify({ pid: 2 ** 22 + round, role: 'daemon', since: '2024-01-01T00:00:00.000Z' }));
    const at = Date.now() + 30;
    const [ra, rb] = await Promise.all([a.ask(`go ${at}`), b.ask(`go ${at}`)]);
    const winners = [ra, rb].filter((r) => r === 'won').length;
    if (winners > 1) doubleWins.push(round);
    if (winners === 0) noWinner.push(round);
    await Promise.all([a.ask('release'), b.ask('release')]);
  }
  t.same(doubleWins, [], `no round with two winners (of ${rounds})`);
  t.same(noWinner, [], `every round has a winner (of ${rounds})`);
});

t.test('a SIGKILLed holder frees the lock at once; a live one refuses with who holds it', async (t) => {
  const store = tempStore(t);
  const holder = await holdStoreLock(store, 'relay backfill');
  t.equal(JSON.parse(readFileSync(lockPathFor(store), 'utf8')).pid, holder.pid);
  t.equal(statSync(lockDatabasePathFor(store)).mode & 0o777, 0o600, 'lock database is private');
  let refused: unknown = null;
  try {
    claimStoreLock(store, 'daemon');
  } catch (err) {
    refused = err;
  }
  t.ok(refused instanceof StoreLockedError);
  t.match((refused as Error).message, `is in use by \`relay backfill\` (pid ${holder.pid}`);
  await holder.kill('SIGKILL');
  const lock = claimStoreLock(store, 'daemon');
  t.equal(JSON.parse(readFileSync(lockPathFor(store), 'utf8')).pid, process.pid, 'taken over from the dead holder');
  // A live holder that is not in the holder file (removed by hand) still holds.
  const other = startClaimant(store, 'daemon');
  t.teardown(() => other.kill());
  rmSync(lockPathFor(store));
  t.match(await other.ask('hold'), /^lost store .* is in use by another process/);
  lock.release();
  t.equal(await other.ask('hold'), 'held', 'free once released');
});

t.test('the lock file deleted by hand under its holder: verify() locks the new file, so a newcomer is still refused', async (t) => {
  const store = tempStore(t);
  const lock = claimStoreLock(store, 'daemon');
  t.teardown(() => lock.release());
  t.equal(lock.verify(), null, 'intact');
  rmSync(lockDatabasePathFor(store));
  t.equal(lock.verify(), null, 'deleted: locked again');
  const rival = startClaimant(store, 'daemon');
  t.teardown(() => rival.kill());
  t.match(await rival.ask('hold'), /^lost store .* is in use by the relay daemon \(pid \d+/, 'a newcomer is refused');
  // Deleted again and taken by someone else first: verify says so.
  rmSync(lockDatabasePathFor(store));
  t.equal(await rival.ask('hold'), 'held');
  t.match(lock.verify(), /was deleted or replaced while this process held it, and another process \(pid \d+, daemon\) has locked the new file/);
});
