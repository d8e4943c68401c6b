// Delivery attempt counters and latency histograms for /metrics, read from
// the attempts log instead of hooks in the dispatcher: each scrape reads only
// the rows added since the last one (attempts.id only grows), so counters are
// exact and cost follows traffic, not history. They count from daemon start.

import type { Store } from '../store/index.ts';

/** One histogram series: cumulative counts per upper bound (seconds), plus sum and count. */
export interface HistogramSeries {
  labels: Record<string, string>;
  /** counts[i] = observations ≤ bounds[i] (cumulative). */
  counts: number[];
  sum: number;
  count: number;
}

/** Called once per attempts row read, in id order. */
export type AttemptSink = (destination: string, outcome: AttemptOutcome, seconds: number) => void;

/** Upper bounds (seconds) of the attempt latency histogram. */
export const LATENCY_BUCKETS: readonly number[] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/** Attempt outcomes counted per destination. */
export type AttemptOutcome = 'delivered' | 'retry' | 'dead';

interface DestinationTotals {
  outcomes: Record<AttemptOutcome, number>;
  buckets: number[];
  sum: number;
  count: number;
}

/** Accumulates attempts rows as they appear. */
export class AttemptStats {
  private readonly store: Store;
  private lastId: number;
  private readonly totals = new Map<string, DestinationTotals>();

  /** Start counting after the rows already in the store. */
  constructor(store: Store) {
    this.store = store;
    this.lastId = this.maxId();
  }

  private maxId(): number {
    return Number((this.store.statement('SELECT coalesce(max(id), 0) AS m FROM attempts').get() as { m: number }).m);
  }

  /** Read rows added since the last call, handing each to `sink` too (the /metrics counters). */
  update(sink?: AttemptSink): void {
    // Retention may empty the table, letting ids restart lower: count from there.
    const max = this.maxId();
    if (max < this.lastId) this.lastId = 0;
    const next = this.store.statement('SELECT id, destination, outcome, latency_ms FROM attempts WHERE id > ? ORDER BY id LIMIT 10000');
    for (;;) {
      const rows = next.all(this.lastId) as { id: number; destination: string; outcome: AttemptOutcome; latency_ms: number }[];
      for (const r of rows) {
        this.add(r.destination, r.outcome, r.latency_ms / 1000);
        sink?.(r.destination, r.outcome, r.latency_ms / 1000);
      }
      if (rows.length) this.lastId = Number(rows[rows.length - 1].id);
      if (rows.length < 10000) return;
    }
  }

  private add(destination: string, outcome: AttemptOutcome, seconds: number): void {
    let t = this.totals.get(destination);
    if (!t) {
      t = { outcomes: { delivered: 0, retry: 0, dead: 0 }, buckets: LATENCY_BUCKETS.map(() => 0), sum: 0, count: 0 };
      this.totals.set(destination, t);
    }
    if (outcome in t.outcomes) t.outcomes[outcome]++;
    LATENCY_BUCKETS.forEach((b, i) => {
      if (seconds <= b) t.buckets[i]++;
    });
    t.sum += seconds;
    t.count++;
  }

  /** Attempts by destination and outcome (every outcome listed for every destination seen or given). */
  outcomes(destinations: readonly string[] = []): { destination: string; outcome: AttemptOutcome; value: number }[] {
    const names = [...new Set([...destinations, ...this.totals.keys()])].sort();
    return names.flatMap((destination) =>
      (['delivered', 'retry', 'dead'] as const).map((outcome) => ({ destination, outcome, value: this.totals.get(destination)?.outcomes[outcome] ?? 0 })),
    );
  }

  /** Latency histogram series per destination. */
  latency(): HistogramSeries[] {
    return [...this.totals.keys()].sort().map((destination) => {
      const t = this.totals.get(destination)!;
      return { labels: { destination }, counts: [...t.buckets], sum: Math.round(t.sum * 1000) / 1000, count: t.count };
    });
  }
}
