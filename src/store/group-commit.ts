// Group commit: writes made at about the same time share one SQLite
// transaction (one fsync, or none for relaxed bookkeeping) instead of paying
// one each. The one batching mechanism of the daemon: intake's durable event
// writes (each caller awaits its item; a bad item is written alone and only
// its caller fails) and the dispatcher's delivery bookkeeping (fire and
// forget, written a few ms later, kept and retried when the store refuses).

/** Writes a batch in one transaction, synchronously; throws if nothing of the batch was written. */
export type BatchWriter<T> = (items: T[]) => void;

/** What a batch the writer refused does. */
export type FailedBatchPolicy =
  /** Write each item alone: a bad item's add() rejects, the others resolve. */
  | { kind: 'isolate' }
  /** Keep the batch (in order, compacted) and write it again after `afterMs`; `report` says why. */
  | { kind: 'retry'; afterMs: number; report: (error: unknown, waiting: number) => void };

/** Options of GroupCommit. */
export interface GroupCommitOptions<T> {
  write: BatchWriter<T>;
  /** How long an item waits for company before its batch is written (0: at the next microtask). */
  delayMs?: number;
  /** Items per transaction; a full batch is written at the next microtask. */
  maxBatch?: number;
  onFailure?: FailedBatchPolicy;
  /**
   * Drop items the batch makes redundant (e.g. a claim whose outcome follows,
   * an older state of the same thing) before writing; returns the items to
   * write, in order. Dropped items count as written.
   */
  compact?: (items: T[]) => T[];
}

interface Pending<T> {
  item: T;
  resolve?: () => void;
  reject?: (error: unknown) => void;
}

/** Collects items and writes them in batches. */
export class GroupCommit<T> {
  private pending: Pending<T>[] = [];
  private timer: NodeJS.Timeout | null = null;
  private microtask = false;
  private writing = false;
  /** After a refused batch (retry policy): no write before this time except flushNow(). */
  private retrying = false;
  private readonly options: Required<Omit<GroupCommitOptions<T>, 'compact'>> & Pick<GroupCommitOptions<T>, 'compact'>;

  constructor(options: GroupCommitOptions<T>) {
    this.options = { delayMs: 0, maxBatch: 256, onFailure: { kind: 'isolate' }, ...options };
  }

  /** Queue one item; resolves once it is written (rejects when the isolate policy finds it bad). */
  add(item: T): Promise<void> {
    return new Promise((resolve, reject) => {
      this.pending.push({ item, resolve, reject });
      this.schedule();
    });
  }

  /** Queue one item without waiting for it (for the retry policy: under isolate a bad pushed item is dropped unseen). */
  push(item: T): void {
    this.pending.push({ item });
    this.schedule();
  }

  /** Items waiting to be written. */
  get size(): number {
    return this.pending.length;
  }

  /**
   * Write everything queued now, synchronously (callers about to read the
   * store rely on it). True when nothing is left waiting; false when the
   * store refused a batch (kept and retried, retry policy) or when called
   * from inside the writer (the running flush writes the rest).
   */
  flushNow(): boolean {
    if (this.writing) return false;
    this.cancelTimer();
    this.writing = true;
    try {
      while (this.pending.length) {
        const batch = this.pending.splice(0, this.options.maxBatch);
        if (!this.writeBatch(batch)) return false;
      }
      this.retrying = false;
      return true;
    } finally {
      this.writing = false;
    }
  }

  /** Write one batch; false when it was kept for a retry (it is back at the head of pending). */
  private writeBatch(batch: Pending<T>[]): boolean {
    const { compact, onFailure } = this.options;
    const items = batch.map((p) => p.item);
    const toWrite = compact ? compact(items) : items;
    try {
      if (toWrite.length) this.options.write(toWrite);
      for (const p of batch) p.resolve?.();
      return true;
    } catch (err) {
      if (onFailure.kind === 'retry') {
        // Keep the compacted batch (superseded items are settled: the kept ones stand for them).
        const kept = new Set(toWrite);
        const keep = batch.filter((p) => kept.has(p.item));
        for (const p of batch) if (!kept.has(p.item)) p.resolve?.();
        this.pending = [...keep, ...this.pending];
        this.retrying = true;
        onFailure.report(err, this.pending.length);
        this.cancelTimer();
        this.timer = setTimeout(() => {
          this.timer = null;
          this.flushNow();
        }, onFailure.afterMs);
        return false;
      }
      if (batch.length === 1) {
        batch[0].reject?.(err);
        return true;
      }
      // One bad item must not hold back the others: write each alone.
      for (const p of batch) {
        try {
          this.options.write([p.item]);
          p.resolve?.();
        } catch (alone) {
          p.reject?.(alone);
        }
      }
      return true;
    }
  }

  private schedule(): void {
    if (this.writing || this.retrying) return; // the running flush or the retry timer picks it up
    if (this.pending.length >= this.options.maxBatch || this.options.delayMs === 0) {
      this.cancelTimer();
      if (this.microtask) return;
      this.microtask = true;
      queueMicrotask(() => {
        this.microtask = false;
        if (!this.retrying) this.flushNow();
      });
      return;
    }
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.flushNow();
    }, this.options.delayMs);
  }

  private cancelTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}
