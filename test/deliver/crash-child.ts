// Child process for the crash test: a stand-in daemon that enqueues a steady
// stream of pushes (3 repositories) and dispatches them, printing
// "C <count>" after every committed batch, until it is SIGKILLed.
// Usage: node test/deliver/crash-child.ts <store path> <receiver url>

import { writeSync } from 'node:fs';
import { openStore } from '../../src/store/store.ts';
import { enqueue } from '../../src/store/enqueue.ts';
import { startDispatcher } from '../../src/deliver/dispatcher.ts';
import { httpDest, items, makeEvent } from './fixtures.ts';

const [storePath, url] = process.argv.slice(2);
const store = openStore(storePath);
startDispatcher({ store, destinations: [httpDest('ci', url, { concurrency: 4 })], env: {} });
let n = 0;
setInterval(() => {
  const batch = Array.from({ length: 5 }, () => {
    const i = n++;
    return makeEvent(`ev-${i}`, { slug: `r${i % 3}` });
  });
  enqueue(store, items(batch, ['ci']));
  writeSync(1, `C ${n}\n`);
}, 2);
