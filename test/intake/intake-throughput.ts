// Intake throughput, spool to onRecord (no analysis, no store): the intake's
// share of the daemon's per-push budget.
//
//   node test/intake/intake-throughput.ts [backlog=3000] [live=300]
//
// 1. backlog: N records over 10 repositories already in the spool at start-up
//    (the daemon was down), drained with concurrency 4;
// 2. live: the real hook (dash) run back to back while the intake watches;
//    reports hook runs/s, records/s end to end, and latency from the record's
//    mtime to onRecord.
// Prints one JSON line.

import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SpoolIntake } from '../../src/intake/spool-intake.ts';
import { recordBytes, refLine } from './intake-helpers.ts';

const HOOK = fileURLToPath(new URL('../../hooks/post-receive', import.meta.url));
const BACKLOG = Number(process.argv[2] ?? 3000);
const LIVE = Number(process.argv[3] ?? 300);

const root = mkdtempSync(path.join(tmpdir(), 'relay-intake-tp-'));
try {
  const spool = path.join(root, 'spool');
  mkdirSync(path.join(spool, 'incoming'), { recursive: true });
  for (let i = 0; i < BACKLOG; i++) {
    const bytes = recordBytes({ repo: `/srv/repos/${i % 10}`, env: { BB_USER_NAME: `user${i}` }, refs: [refLine(`b${i}`, i + 1)] });
    writeFileSync(path.join(spool, 'incoming', `${String(i).padStart(12, '0')}-0000001-x.push`), bytes);
  }

  let done = 0;
  const latencies: number[] = [];
  const intake = new SpoolIntake({
    dir: spool,
    concurrency: 4,
    onRecord: async (r) => {
      done++;
      if (r.refLines[0]?.ref.startsWith('refs/heads/live')) latencies.push(Date.now() - Number(r.timeNs / 1_000_000n));
    },
  });
  const t0 = performance.now();
  await intake.start();
  while (done < BACKLOG || intake.stats().backlog > 0) await new Promise((r) => setTimeout(r, 5));
  const backlogMs = performance.now() - t0;

  const before = done;
  const t1 = performance.now();
  for (let i = 0; i < LIVE; i++) {
    await new Promise<void>((resolve, reject) => {
      const child = spawn('dash', [HOOK], { env: { RELAY_SPOOL_DIR: spool, GIT_DIR: root, BB_USER_NAME: 'live' }, stdio: ['pipe', 'ignore', 'inherit'] });
      child.stdin.end(`${refLine(`live${i}`, i + 1)}\n`);
      child.on('close', () => resolve());
      child.on('error', reject);
    });
  }
  const hooksMs = performance.now() - t1;
  while (done - before < LIVE) await new Promise((r) => setTimeout(r, 2));
  const liveMs = performance.now() - t1;
  await intake.stop();

  latencies.sort((a, b) => a - b);
  const pct = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? null;
  process.stdout.write(
    JSON.stringify({
      bench: 'intake-throughput',
      backlog: BACKLOG,
      backlogRecordsPerSec: Math.round(BACKLOG / (backlogMs / 1000)),
      live: LIVE,
      hookRunsPerSec: Math.round(LIVE / (hooksMs / 1000)),
      liveRecordsPerSec: Math.round(LIVE / (liveMs / 1000)),
      liveLatencyMs: { p50: pct(0.5), p99: pct(0.99), max: latencies.at(-1) ?? null },
      loadAvg1m: Math.round(loadavg()[0] * 100) / 100,
    }) + '\n',
  );
} finally {
  rmSync(root, { recursive: true, force: true });
}
