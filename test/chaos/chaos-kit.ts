// Shared pieces of the fault-injection suites: a seeded random source (the
// seed is printed; CHAOS_SEED=n replays it), asynchronous git commits and
// pushes through the real hook (the test process keeps serving its receiver
// and proxy while git runs), and read-only questions to the store file.

import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';

/** A seeded pseudo-random source. */
export interface Random {
  readonly seed: number;
  /** Uniform in [0, 1). */
  next(): number;
  /** Integer in [min, max]. */
  int(min: number, max: number): number;
  /** True with probability p. */
  chance(p: number): boolean;
  /** One element, uniformly. */
  pick<T>(items: readonly T[]): T;
}

/** mulberry32: tiny, fast, good enough to replay a fault schedule. */
export function seededRandom(seed: number): Random {
  let a = seed >>> 0;
  const next = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = a;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
  return {
    seed,
    next,
    int: (min, max) => min + Math.floor(next() * (max - min + 1)),
    chance: (p) => next() < p,
    pick: (items) => items[Math.floor(next() * items.length)],
  };
}

/** The seed of this run: CHAOS_SEED when set (replay), else a fresh one; printed as a TAP comment. */
export function chaosSeed(t: { comment(...args: unknown[]): void }): number {
  const fromEnv = process.env.CHAOS_SEED;
  const seed = fromEnv !== undefined && fromEnv !== '' ? Number(fromEnv) >>> 0 : Math.floor(Math.random() * 2 ** 32);
  t.comment(`seed: ${seed} (replay: CHAOS_SEED=${seed} npx tap <this file>)`);
  return seed;
}

/** Run git asynchronously; resolves with trimmed stdout, rejects with stderr in the message. */
export function gitAsync(cwd: string, args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('git', args, { cwd, env, maxBuffer: 1 << 26 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`git ${args.join(' ')} in ${cwd} failed: ${stderr || err.message}`));
      else resolve(stdout.toString().trim());
    });
  });
}

/** Commit one file change in a working clone; resolves with the new sha. */
export async function commitAsync(work: string, env: NodeJS.ProcessEnv, file: string, content: string, message: string): Promise<string> {
  mkdirSync(path.dirname(path.join(work, file)), { recursive: true });
  writeFileSync(path.join(work, file), content);
  await gitAsync(work, ['add', '-A'], env);
  await gitAsync(work, ['commit', '--quiet', '--no-verify', '-m', message], env);
  return gitAsync(work, ['rev-parse', 'HEAD'], env);
}

/** What the store holds, asked through a read-only connection (the daemon may be running). */
export interface QueueCounts {
  pending: number;
  inFlight: number;
  delivered: number;
  dead: number;
  events: number;
}

/** Count delivery rows by state, read-only. */
export function queueCounts(storePath: string): QueueCounts {
  const db = new DatabaseSync(storePath, { readOnly: true, timeout: 5000 });
  try {
    const by = new Map((db.prepare('SELECT state, count(*) AS n FROM deliveries GROUP BY state').all() as { state: string; n: number }[]).map((r) => [r.state, Number(r.n)]));
    const events = Number((db.prepare('SELECT count(*) AS n FROM events').get() as { n: number }).n);
    return { pending: by.get('pending') ?? 0, inFlight: by.get('in_flight') ?? 0, delivered: by.get('delivered') ?? 0, dead: by.get('dead') ?? 0, events };
  } finally {
    db.close();
  }
}

/** Sleep. */
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
