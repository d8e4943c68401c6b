// Benchmark `format`: cost of rendering one 2,048-commit push (the analysis
// cap) in each wire format. Goal ≤ 50 ms each. The peer for scale is
// JSON.stringify of the raw PushEvent. Prints one JSON line:
//   {"bench":"format","commits":2048,...,"ms":{"bitbucket-server":…},"goalMs":50,"pass":true}
// Run: node test/bench/format.bench.ts   (RUNS=N to change the sample count)

import { createHash } from 'node:crypto';
import { renderRequests, FORMAT_NAMES } from '../../src/formats/index.ts';
import type { CommitInfo, PushEvent } from '../../src/event/push-event.ts';
import type { FormatName, FormatOptions } from '../../src/config/config-types.ts';
import type { HttpDestination } from '../../src/destinations/http/config.ts';

const COMMITS = 2048;
const FILES_PER_COMMIT = 5;
const RUNS = Number(process.env.RUNS ?? 15);
const GOAL_MS = 50;

/** A synthetic event: one branch update with COMMITS linear commits, a few files each. */
function bigEvent(): PushEvent {
  const sha = (s: string): string => createHash('sha1').update(s).digest('hex');
  const commits: Record<string, CommitInfo> = {};
  const order: string[] = [];
  let parent = sha('base');
  for (let i = 0; i < COMMITS; i++) {
    const id = sha(`c${i}`);
    const message = `PLAT-${1000 + i} Change number ${i} of the large push #ci\n\nBody line explaining change ${i} in some detail.`;
    commits[id] = {
      id,
      shortId: id.slice(0, 7),
      message,
      messageTruncated: false,
      title: message.split('\n')[0],
      tree: sha(`t${i}`),
      author: { name: 'Jane Doe', email: 'jane.doe@example.com', date: new Date(Date.UTC(2024, 4, 1, 0, 0, i)).toISOString().replace('.000Z', '+00:00') },
      committer: { name: 'Jane Doe', email: 'jane.doe@example.com', date: new Date(Date.UTC(2024, 4, 1, 0, 0, i)).toISOString().replace('.000Z', '+00:00') },
      parents: [parent],
      merge: false,
      distinct: true,
      url: `https://bitbucket.example.com/projects/PLAT/repos/api-gateway/commits/${id}`,
      issueKeys: [`PLAT-${1000 + i}`],
      triggers: ['#ci'],
      files: Array.from({ length: FILES_PER_COMMIT }, (_, f) => ({
        path: `src/module-${i % 50}/file-${f}.ts`,
        status: f === 0 ? ('added' as const) : ('modified' as const),
        binary: false,
        additions: 10 + f,
        deletions: f,
      })),
      filesTruncated: false,
      totalFiles: FILES_PER_COMMIT,
    };
    order.push(id);
    parent = id;
  }
  return {
    id: '0196b7e2-0000-7000-8000-000000000001',
    schemaVersion: 1,
    time: '2024-05-01T01:00:00.000Z',
    node: 'bb-node-1',
    trigger: 'push',
    triggerId: null,
    actor: { name: 'jdoe', displayName: 'Jane Doe', email: 'jane.doe@example.com' },
    repository: {
      projectKey: 'PLAT',
      slug: 'api-gateway',
      id: 42,
      name: 'API Gateway',
      path: '/var/atlassian/application-data/bitbucket/shared/data/repositories/42',
      baseUrl: 'https://bitbucket.example.com',
      links: { self: 'https://bitbucket.example.com/projects/PLAT/repos/api-gateway/browse', clone: 'https://bitbucket.example.com/scm/plat/api-gateway.git' },
      public: false,
      fork: false,
      identitySource: 'env',
    },
    refs: [
      {
        ref: 'refs/heads/main',
        name: 'main',
        kind: 'branch',
        change: 'update',
        before: sha('base'),
        after: parent,
        forced: false,
        removedCommits: 0,
        commits: order,
        totalCommits: COMMITS,
        truncated: false,
      },
    ],
    commits,
    totalCommits: COMMITS,
    truncated: false,
    errors: [],
  };
}

function destination(format: FormatName, formatOptions: FormatOptions = {}): HttpDestination {
  return {
    name: `bench-${format}`, type: 'http', enabled: true, url: 'https://x.example/hook', method: 'POST', format, formatOptions, headers: {},
    timeout: { connectMs: 1000, responseMs: 1000, totalMs: 60_000 }, concurrency: 1, tls: { verify: true },
    retry: { baseDelayMs: 1000, maxDelayMs: 2000, horizonMs: 3000 }, followRedirects: false,
  };
}

/** Median of `times`, rounded to 0.01 ms. */
function median(times: number[]): number {
  const sorted = [...times].sort((a, b) => a - b);
  return Math.round(sorted[Math.floor(sorted.length / 2)] * 100) / 100;
}

const event = bigEvent();
const cases: [string, () => number][] = [
  ...FORMAT_NAMES.map((f): [string, () => number] => [f, render(destination(f))]),
  // Every commit listed and the per-commit files added: the heaviest bitbucket-server body.
  ['bitbucket-server.extended-all', render(destination('bitbucket-server', { extended: true, commitLimit: COMMITS }))],
  ['raw', () => Buffer.byteLength(JSON.stringify(event))],
];
function render(dest: HttpDestination): () => number {
  return () => renderRequests(event, dest, 'bench-seed').reduce((n, req) => n + req.body.length, 0);
}

// Round-robin so every case sees the same machine load and GC pressure.
const times = new Map<string, number[]>(cases.map(([label]) => [label, []]));
const bytes: Record<string, number> = {};
for (let run = -2; run < RUNS; run++) {
  for (const [label, fn] of cases) {
    const t0 = process.hrtime.bigint();
    bytes[label] = fn();
    if (run >= 0) times.get(label)!.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
}
const ms: Record<string, number> = {};
for (const [label] of cases) if (label !== 'raw') ms[label] = median(times.get(label)!);
const raw = { ms: median(times.get('raw')!), bytes: bytes.raw };
delete bytes.raw;
const worst = Math.max(...Object.values(ms));
console.log(
  JSON.stringify({
    bench: 'format',
    commits: COMMITS,
    filesPerCommit: FILES_PER_COMMIT,
    runs: RUNS,
    ms,
    bytes,
    rawStringifyMs: raw.ms,
    // Cost relative to the peer: steadier than ms on a shared machine.
    xRaw: Object.fromEntries(Object.entries(ms).map(([k, v]) => [k, Math.round((v / raw.ms) * 100) / 100])),
    rawBytes: raw.bytes,
    goalMs: GOAL_MS,
    pass: worst <= GOAL_MS,
    table: Object.entries(ms).map(([k, v]) => ({
      what: `render a ${COMMITS.toLocaleString('en')}-commit push as ${k}`,
      ours: `${v} ms`,
      peer: `JSON.stringify of the event: ${raw.ms} ms`,
      goal: `≤ ${GOAL_MS} ms`,
    })),
  }),
);
