// Benchmark `enqueue`: durable events/s into the store (synchronous=FULL)
// with fan-out to 3 destinations (cloudevents, bitbucket-server, github:
// one request each per single-ref push), batched the way the daemon batches
// them — its GroupCommit, fed by concurrent intake workers — against a peer
// in the same run: the same inserts with one transaction (one fsync) per event.
// Prints ONE JSON line. Goal ≥ 1,000 events/s.
//
//   node test/bench/enqueue.bench.ts [--n 20000] [--peer-n 1000] [--producers 64]

import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { openStore, type Store } from '../../src/store/store.ts';
import { enqueue, type EnqueueItem } from '../../src/store/enqueue.ts';
import { renderSeedFor } from '../../src/route/delivery-id.ts';
import { renderRequests } from '../../src/formats/index.ts';
import { GroupCommit } from '../../src/store/group-commit.ts';
import type { PushEvent } from '../../src/event/push-event.ts';
import { httpDest, makeEvent } from '../deliver/fixtures.ts';

const { values: args } = parseArgs({
  options: {
    n: { type: 'string', default: '20000' },
    'peer-n': { type: 'string', default: '1000' },
    producers: { type: 'string', default: '64' },
  },
});
const N = Number(args.n);
const PEER_N = Number(args['peer-n']);
const PRODUCERS = Number(args.producers);

const DESTINATIONS = [
  httpDest('ci', 'https://ci.example/hook', { format: 'cloudevents' }),
  httpDest('jira', 'https://jira.example/hook', { format: 'bitbucket-server' }),
  httpDest('portal', 'https://portal.example/hook', { format: 'github' }),
];

/** A push of 3 commits touching 5 files each to refs/heads/main. */
function templateEvent(): PushEvent {
  const e = makeEvent('template', { projectKey: 'PLAT', slug: 'service-api', id: 42 });
  const shas = ['a', 'b', 'c'].map((c) => c.repeat(40));
  e.refs = [{ ref: 'refs/heads/main', name: 'main', kind: 'branch', change: 'update', before: '0'.repeat(39) + '1', after: shas[2], forced: false, removedCommits: 0, commits: shas, totalCommits: 3, truncated: false }];
  for (const [i, sha] of shas.entries()) {
    const sig = { name: 'Alice Example', email: 'alice@example.com', date: '2025-01-01T12:00:00+01:00' };
    e.commits[sha] = {
      id: sha, shortId: sha.slice(0, 11), message: `PLAT-${100 + i}: change ${i}\n\nLonger description of the change.`, messageTruncated: false,
      title: `PLAT-${100 + i}: change ${i}`, author: sig, committer: sig, parents: [i ? shas[i - 1] : e.refs[0].before], merge: false, distinct: true,
      url: null, issueKeys: [`PLAT-${100 + i}`], triggers: [],
      files: Array.from({ length: 5 }, (_, f) => ({ path: `src/module${f}/file${i}.ts`, status: 'modified' as const, binary: false, additions: 10, deletions: 2 })),
      filesTruncated: false, totalFiles: 5,
    };
  }
  e.totalCommits = 3;
  return e;
}

const template = templateEvent();
// Rendering belongs to the formats, not the store: render once, reuse the bytes.
const rendered = DESTINATIONS.map((d) => ({ destination: d.name, requests: renderRequests(template, d, renderSeedFor(template.id, d.name)) }));

function item(i: number, prefix: string): EnqueueItem {
  return { event: { ...template, id: `${prefix}-${i}` }, deliveries: rendered };
}

async function grouped(store: Store): Promise<{ perSec: number; batches: number; meanBatch: number }> {
  let batches = 0;
  const gc = new GroupCommit<EnqueueItem>({
    write: (batch) => {
      batches++;
      enqueue(store, batch);
    },
  });
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: PRODUCERS }, async () => {
      while (next < N) await gc.add(item(next++, 'g'));
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  return { perSec: Math.round(N / seconds), batches, meanBatch: Math.round((N / batches) * 10) / 10 };
}

function oneByOne(store: Store): number {
  const started = performance.now();
  for (let i = 0; i < PEER_N; i++) enqueue(store, [item(i, 'p')]);
  return Math.round(PEER_N / ((performance.now() - started) / 1000));
}

const dir = mkdtempSync(join(tmpdir(), 'relay-enqueue-'));
try {
  const store = openStore(join(dir, 'grouped.db'));
  const g = await grouped(store);
  const rows = (store.db.prepare('SELECT count(*) AS n FROM deliveries').get() as { n: number }).n;
  store.close();
  const peerStore = openStore(join(dir, 'one-by-one.db'));
  const peer = oneByOne(peerStore);
  peerStore.close();
  const bytesPerEvent = Math.round(statSync(join(dir, 'grouped.db')).size / N);
  console.log(
    JSON.stringify({
      bench: 'enqueue',
      events: N,
      destinations: DESTINATIONS.map((d) => `${d.name}:${d.format}`),
      deliveriesWritten: rows,
      synchronous: 'FULL',
      producers: PRODUCERS,
      eventsPerSec: g.perSec,
      deliveriesPerSec: Math.round((g.perSec * rows) / N),
      commits: g.batches,
      meanEventsPerCommit: g.meanBatch,
      eventJsonBytes: JSON.stringify(template).length,
      requestBodyBytes: Object.fromEntries(rendered.map((r) => [r.destination, r.requests.reduce((n, q) => n + q.body.length, 0)])),
      storeBytesPerEvent: bytesPerEvent,
      peer: { name: 'same inserts, one transaction per event', events: PEER_N, eventsPerSec: peer },
      goal: { eventsPerSec: 1000 },
      pass: g.perSec >= 1000 && rows === N * 3,
      table: [
        { what: 'durable events/s, fan-out to 3 destinations (synchronous=FULL)', ours: `${g.perSec} (group commit, ${g.meanBatch} events/commit)`, peer: `${peer} (one transaction per event)`, goal: '≥ 1,000/s' },
      ],
    }),
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
