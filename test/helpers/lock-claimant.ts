// A real process that claims the store lock on command (stdin lines), for
// lock races and for holding the lock as some role in CLI/daemon tests.
//   go <epoch ms>   spin until then, claim, print "won" or "lost <message>"
//   hold            claim now; print "held" (or "lost …")
//   release         release what this process holds; print "released"
// Usage: node lock-claimant.ts <storePath> <role>

import { createInterface } from 'node:readline';
import { claimStoreLock, type StoreLock } from '../../src/store/store-lock.ts';

const [storePath, role = 'daemon'] = process.argv.slice(2);
let held = null as StoreLock | null;

function claim(): string {
  try {
    held = claimStoreLock(storePath, role);
    return 'won';
  } catch (err) {
    return `lost ${(err as Error).message.replace(/\n/g, ' ')}`;
  }
}

for await (const line of createInterface({ input: process.stdin })) {
  const [cmd, arg] = line.split(' ');
  if (cmd === 'go') {
    const at = Number(arg);
    while (Date.now() < at) {
      /* spin: both claimants start within microseconds */
    }
    process.stdout.write(claim() + '\n');
  } else if (cmd === 'hold') {
    const r = claim();
    process.stdout.write((r === 'won' ? 'held' : r) + '\n');
  } else if (cmd === 'release') {
    held?.release();
    held = null;
    process.stdout.write('released\n');
  }
}
