// Chart data for the web page, from the store's attempts log and events:
// counts and latency histograms kept in memory in cells as wide as each
// range's buckets (a minute for 1h, 10 minutes for 24h, an hour for 7d: at
// most 375 cells per destination, whatever the traffic), filled once at start (counted by SQLite an
// hour at a time) and then from the rows added since (attempts.id only grows),
// so a chart request never scans the 1,000,000-row log.
// Queue depth has no history in the store: it is sampled once a minute while
// the daemon runs, so that chart starts at the daemon's start.

import type { Store } from '../store/index.ts';

/** The chart ranges the page offers. */
export type ChartRange = '1h' | '24h' | '7d';

/** Range length and bucket width of each chart range. */
export const RANGES: Record<ChartRange, { spanMs: number; stepMs: number }> = {
  '1h': { spanMs: 3_600_000, stepMs: 60_000 },
  '24h': { spanMs: 86_400_000, stepMs: 600_000 },
  '7d': { spanMs: 7 * 86_400_000, stepMs: 3_600_000 },
};

const MINUTE = 60_000;
const HOUR = 3_600_000;
const KEEP_MS = RANGES['7d'].spanMs + RANGES['7d'].stepMs;
/** Latency histogram bounds (ms), geometric ×1.25 from 1 ms to ~2 min: percentiles within 25 %. */
const LATENCY_BOUNDS: readonly number[] = Array.from({ length: 53 }, (_, i) => Math.round(1.25 ** i));

function latencyBucket(ms: number): number {
  if (ms <= 1) return 0;
  const i = Math.ceil(Math.log(ms) / Math.log(1.25));
  return Math.min(i, LATENCY_BOUNDS.length - 1);
}

interface Cell {
  delivered: number;
  failed: number;
  latency: Uint32Array;
}

function addTo(tier: Map<number, Map<string, Cell>>, start: number, r: { destination: string; outcome: string; latency_ms: number }): void {
  let byDest = tier.get(start);
  if (!byDest) tier.set(start, (byDest = new Map()));
  let cell = byDest.get(r.destination);
  if (!cell) byDest.set(r.destination, (cell = { delivered: 0, failed: 0, latency: new Uint32Array(LATENCY_BOUNDS.length) }));
  if (r.outcome === 'delivered') cell.delivered++;
  else cell.failed++;
  cell.latency[latencyBucket(r.latency_ms)]++;
}

/** The JSON a chart request answers with: uPlot-ready columns (times in Unix seconds, bucket starts). */
export interface ChartData {
  range: ChartRange;
  stepSeconds: number;
  times: number[];
  destinations: string[];
  /** Successful attempts per minute (average over the bucket), per destination. */
  delivered: Record<string, number[]>;
  /** Failed attempts (retry or dead) per minute, per destination. */
  failed: Record<string, number[]>;
  /** Attempt latency percentiles (ms) per destination; null where there were no attempts. */
  p50: Record<string, (number | null)[]>;
  p95: Record<string, (number | null)[]>;
  /** Queued deliveries per destination (sampled; null before sampling began). */
  queue: Record<string, (number | null)[]>;
  /** Pushes (stored events) per minute. */
  pushes: number[];
  /** False while the first read of the log is still running (series incomplete). */
  complete: boolean;
}

/** Per-minute rollup of attempts, pushes and queue depth. */
export class ChartSeries {
  private readonly store: Store;
  private readonly now: () => number;
  /** One tier per range, cells as wide as its buckets: slot start (ms) → destination → cell. */
  private readonly tiers: Record<ChartRange, Map<number, Map<string, Cell>>> = { '1h': new Map(), '24h': new Map(), '7d': new Map() };
  private readonly pushes = new Map<number, number>();
  private readonly queue = new Map<number, Map<string, number>>();
  private lastAttemptId = 0;
  /** Events are read by created_at up to this time (exclusive). */
  private eventsUpTo = 0;
  private loaded = false;

  constructor(store: Store, now: () => number = Date.now) {
    this.store = store;
    this.now = now;
  }

  /** Whether the initial read of the last 7 days finished. */
  get complete(): boolean {
    return this.loaded;
  }

  /**
   * Read the last 7 days of the log an hour at a time, counted by SQLite
   * (GROUP BY destination, slot, outcome, latency bucket: a few hundred rows
   * per hour instead of every attempt as a JS object), yielding to the event
   * loop between hours so the daemon keeps relaying meanwhile. Rows up to the
   * log's id at the start are read here; later ones by update().
   */
  async load(): Promise<void> {
    const now = this.now();
    const upToId = this.maxAttemptId();
    for (const range of Object.keys(RANGES) as ChartRange[]) {
      const { spanMs, stepMs } = RANGES[range];
      const keepMs = spanMs + stepMs;
      const from = now - keepMs - ((now - keepMs) % HOUR);
      for (let a = from; a <= now; a += HOUR) {
        this.aggregate(this.tiers[range], stepMs, a, a + HOUR, upToId);
        await new Promise((r) => setImmediate(r));
      }
    }
    this.lastAttemptId = upToId;
    this.eventsUpTo = now - KEEP_MS;
    while (this.readEvents(3_600_000)) await new Promise((r) => setImmediate(r));
    this.loaded = true;
  }

  /** Count attempts with time in [from, to) and id ≤ upToId into `tier` cells of `slotMs`. */
  private aggregate(tier: Map<number, Map<string, Cell>>, slotMs: number, from: number, to: number, upToId: number): void {
    const rows = this.store
      // slotMs inlined: a bound JS number is a REAL, and time / 60000.0 would not truncate.
      .statement(`SELECT destination AS d, time / ${Math.trunc(slotMs)} AS s, outcome = 'delivered' AS ok,
          CASE WHEN latency_ms <= 1 THEN 0 ELSE min(${LATENCY_BOUNDS.length - 1}, CAST(ceil(ln(latency_ms) / ln(1.25)) AS INTEGER)) END AS b,
          count(*) AS n
        FROM attempts WHERE time >= ? AND time < ? AND id <= ? GROUP BY d, s, ok, b`)
        .all(from, to, upToId) as { d: string; s: number; ok: number; b: number; n: number }[];
    for (const r of rows) {
      const start = Number(r.s) * slotMs;
      let byDest = tier.get(start);
      if (!byDest) tier.set(start, (byDest = new Map()));
      let cell = byDest.get(r.d);
      if (!cell) byDest.set(r.d, (cell = { delivered: 0, failed: 0, latency: new Uint32Array(LATENCY_BOUNDS.length) }));
      if (r.ok) cell.delivered += r.n;
      else cell.failed += r.n;
      cell.latency[Number(r.b)] += r.n;
    }
  }

  private maxAttemptId(): number {
    return Number((this.store.statement('SELECT coalesce(max(id), 0) AS m FROM attempts').get() as { m: number }).m);
  }

  private readAttempts(limit: number): number {
    // Retention may empty the table, letting ids restart lower.
    if (this.maxAttemptId() < this.lastAttemptId) this.lastAttemptId = 0;
    const rows = this.store
      .statement('SELECT id, destination, time, outcome, latency_ms FROM attempts WHERE id > ? ORDER BY id LIMIT ?')
      .all(this.lastAttemptId, limit) as { id: number; destination: string; time: number; outcome: string; latency_ms: number }[];
    const oldest = this.now() - KEEP_MS;
    for (const r of rows) {
      if (r.time < oldest) continue;
      for (const range of Object.keys(RANGES) as ChartRange[]) {
        const { spanMs, stepMs } = RANGES[range];
        if (r.time >= this.now() - spanMs - stepMs) addTo(this.tiers[range], r.time - (r.time % stepMs), r);
      }
    }
    if (rows.length) this.lastAttemptId = Number(rows[rows.length - 1].id);
    return rows.length;
  }

  /** Count events by minute from where the last read stopped up to `until` (at most `maxSpanMs` further). */
  private readEvents(maxSpanMs: number): boolean {
    // Rows committed a moment late may carry a slightly older created_at: stop 2 s short of now.
    const upTo = Math.min(this.now() - 2000, this.eventsUpTo + maxSpanMs);
    if (upTo <= this.eventsUpTo) return false;
    const rows = this.store
      .statement('SELECT created_at / 60000 AS m, count(*) AS n FROM events WHERE created_at >= ? AND created_at < ? GROUP BY m')
      .all(this.eventsUpTo, upTo) as { m: number; n: number }[];
    for (const r of rows) {
      const minute = Number(r.m) * MINUTE;
      this.pushes.set(minute, (this.pushes.get(minute) ?? 0) + r.n);
    }
    this.eventsUpTo = upTo;
    return true;
  }

  /** Record the queue depth per destination now (call once a minute). */
  sampleQueue(): void {
    const rows = this.store
      .statement(`SELECT destination, count(*) AS n FROM deliveries WHERE state IN ('pending', 'in_flight') GROUP BY destination`)
      .all() as { destination: string; n: number }[];
    const t = this.now();
    this.queue.set(t - (t % MINUTE), new Map(rows.map((r) => [r.destination, r.n])));
  }

  /** Take in what was added since the last call and drop minutes older than 7 days. */
  update(): void {
    if (!this.loaded) return;
    while (this.readAttempts(20_000) === 20_000);
    this.readEvents(KEEP_MS);
    const oldest = this.now() - KEEP_MS;
    for (const m of [this.pushes, this.queue] as Map<number, unknown>[]) {
      for (const k of m.keys()) if (k < oldest) m.delete(k);
    }
    for (const range of Object.keys(RANGES) as ChartRange[]) {
      const cut = this.now() - RANGES[range].spanMs - RANGES[range].stepMs;
      for (const k of this.tiers[range].keys()) if (k < cut) this.tiers[range].delete(k);
    }
  }

  /** The series of one range, bucketed; `names` are listed even without data (configured destinations). */
  data(range: ChartRange, names: readonly string[] = []): ChartData {
    this.update();
    const { spanMs, stepMs } = RANGES[range];
    const now = this.now();
    const end = now - (now % stepMs) + stepMs;
    const start = end - spanMs;
    const n = spanMs / stepMs;
    const times = Array.from({ length: n }, (_, i) => (start + i * stepMs) / 1000);
    const seen = new Set(names);
    const tier = this.tiers[range];
    for (const [minute, byDest] of tier) if (minute >= start) for (const d of byDest.keys()) seen.add(d);
    const destinations = [...seen].sort();
    const perMinute = stepMs / MINUTE;
    const delivered: Record<string, number[]> = {};
    const failed: Record<string, number[]> = {};
    const p50: Record<string, (number | null)[]> = {};
    const p95: Record<string, (number | null)[]> = {};
    const queue: Record<string, (number | null)[]> = {};
    for (const d of destinations) {
      delivered[d] = new Array(n).fill(0);
      failed[d] = new Array(n).fill(0);
      p50[d] = new Array(n).fill(null);
      p95[d] = new Array(n).fill(null);
      queue[d] = new Array(n).fill(null);
    }
    const hist = new Map<string, Uint32Array[]>();
    for (const [minute, byDest] of tier) {
      if (minute < start || minute >= end) continue;
      const i = Math.floor((minute - start) / stepMs);
      for (const [d, cell] of byDest) {
        delivered[d][i] += cell.delivered;
        failed[d][i] += cell.failed;
        let h = hist.get(d);
        if (!h) hist.set(d, (h = []));
        const acc = (h[i] ??= new Uint32Array(LATENCY_BOUNDS.length));
        for (let b = 0; b < acc.length; b++) acc[b] += cell.latency[b];
      }
    }
    for (const d of destinations) {
      for (let i = 0; i < n; i++) {
        delivered[d][i] = round(delivered[d][i] / perMinute);
        failed[d][i] = round(failed[d][i] / perMinute);
        const h = hist.get(d)?.[i];
        if (h) {
          p50[d][i] = percentile(h, 0.5);
          p95[d][i] = percentile(h, 0.95);
        }
      }
    }
    for (const [minute, byDest] of this.queue) {
      if (minute < start || minute >= end) continue;
      const i = Math.floor((minute - start) / stepMs);
      for (const d of destinations) queue[d][i] = Math.max(queue[d][i] ?? 0, byDest.get(d) ?? 0);
    }
    const pushes = new Array(n).fill(0);
    const addPushes = (minute: number, count: number): void => {
      if (minute >= start && minute < end) pushes[Math.floor((minute - start) / stepMs)] += count;
    };
    for (const [minute, count] of this.pushes) addPushes(minute, count);
    // The last 2 s are not taken in yet (a commit may still land there): count them for this answer only.
    if (this.loaded) {
      const tail = this.store
        .statement('SELECT created_at / 60000 AS m, count(*) AS n FROM events WHERE created_at >= ? GROUP BY m')
        .all(this.eventsUpTo) as { m: number; n: number }[];
      for (const r of tail) addPushes(Number(r.m) * MINUTE, r.n);
    }
    return {
      range,
      stepSeconds: stepMs / 1000,
      times,
      destinations,
      delivered,
      failed,
      p50,
      p95,
      queue,
      pushes: pushes.map((c) => round(c / perMinute)),
      complete: this.loaded,
    };
  }
}

function round(x: number): number {
  return Math.round(x * 100) / 100;
}

/** Upper bound (ms) of the bucket holding quantile q. */
function percentile(h: Uint32Array, q: number): number | null {
  let total = 0;
  for (const c of h) total += c;
  if (total === 0) return null;
  const rank = Math.ceil(q * total);
  let acc = 0;
  for (let b = 0; b < h.length; b++) {
    acc += h[b];
    if (acc >= rank) return LATENCY_BOUNDS[b];
  }
  return LATENCY_BOUNDS[LATENCY_BOUNDS.length - 1];
}
