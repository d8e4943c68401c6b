// Group commit: records analyzed at about the same time share one durable
// write (one SQLite transaction, one fsync) instead of paying one each.
// Each caller's promise settles when the batch holding its item is on disk.

/** Writes a batch durably; throws if nothing of the batch was written. */
export type BatchWriter<T> = (items: T[]) => Promise<void> | void;

/** Collects items and writes them in batches; one batch in flight at a time. */
export class GroupCommit<T> {
  private pending: { item: T; resolve: () => void; reject: (e: unknown) => void }[] = [];
  private writing = false;
  private readonly write: BatchWriter<T>;
  private readonly maxBatch: number;

  constructor(write: BatchWriter<T>, maxBatch = 256) {
    this.write = write;
    this.maxBatch = maxBatch;
  }

  /** Queue one item; resolves once it is durable. */
  add(item: T): Promise<void> {
    return new Promise((resolve, reject) => {
      this.pending.push({ item, resolve, reject });
      if (!this.writing) queueMicrotask(() => void this.flush());
    });
  }

  private async flush(): Promise<void> {
    if (this.writing || this.pending.length === 0) return;
    this.writing = true;
    try {
      while (this.pending.length) {
        const batch = this.pending.splice(0, this.maxBatch);
        try {
          await this.write(batch.map((b) => b.item));
          for (const b of batch) b.resolve();
        } catch (err) {
          if (batch.length === 1) batch[0].reject(err);
          // One bad item must not hold back the others: write each alone.
          else for (const b of batch) await Promise.resolve().then(() => this.write([b.item])).then(b.resolve, b.reject);
        }
      }
    } finally {
      this.writing = false;
    }
  }
}
