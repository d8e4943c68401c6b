// Group commit for the dispatcher's writes: claims, attempts and outcomes of
// many deliveries share one transaction (one fsync) a few milliseconds later.
// Losing the last few ms of these on a crash only means the affected
// deliveries are sent again — the at-least-once contract.

import type { Log } from '../log/logger.ts';
import type { Store } from '../store/store.ts';
import { applyQueueWrites, type DestinationHealth, type QueueWrite } from '../store/queue.ts';

/** Buffers queue writes and applies them in batches. */
export class QueueWriter {
  private writes: QueueWrite[] = [];
  private health = new Map<string, DestinationHealth>();
  private timer: NodeJS.Timeout | null = null;
  private readonly store: Store;
  private readonly delayMs: number;
  private readonly maxBatch: number;
  private readonly log: Log;

  constructor(store: Store, log: Log, delayMs = 10, maxBatch = 2000) {
    this.store = store;
    this.log = log;
    this.delayMs = delayMs;
    this.maxBatch = maxBatch;
  }

  /** Queue a write; it is applied within delayMs (sooner when the batch is full). */
  push(write: QueueWrite): void {
    this.writes.push(write);
    if (this.writes.length >= this.maxBatch) this.flush();
    else this.schedule();
  }

  /** Record a destination's latest health (only the newest per destination is written). */
  setHealth(destination: string, health: DestinationHealth): void {
    this.health.set(destination, { ...health });
    this.schedule();
  }

  /** Apply everything buffered now. On failure the writes stay buffered and are retried. */
  flush(): boolean {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (this.writes.length === 0 && this.health.size === 0) return true;
    // A claim whose outcome is in the same batch need not be written: the outcome supersedes it.
    const finished = new Set<string>();
    for (const w of this.writes) if (w.kind === 'attempt') finished.add(w.attempt.deliveryId);
    else if (w.kind === 'release') finished.add(w.id);
    const writes = finished.size ? this.writes.filter((w) => w.kind !== 'in_flight' || !finished.has(w.id)) : this.writes;
    for (const [destination, health] of this.health) writes.push({ kind: 'health', destination, health });
    try {
      applyQueueWrites(this.store, writes);
      this.writes = [];
      this.health.clear();
      return true;
    } catch (err) {
      this.writes = writes.filter((w) => w.kind !== 'health');
      this.log.error('cannot record delivery progress in the store; retrying in 1 s', { path: this.store.path, error: (err as Error).message });
      this.timer = setTimeout(() => this.flush(), 1000);
      return false;
    }
  }

  /** Writes waiting to be applied. */
  get size(): number {
    return this.writes.length;
  }

  private schedule(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.flush();
    }, this.delayMs);
  }
}
