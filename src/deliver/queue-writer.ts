// The dispatcher's writes (claims, attempts, outcomes, destination health)
// through the store's group commit: many deliveries share one transaction a
// few milliseconds later. Losing the last few ms of these on a crash only
// means the affected deliveries are sent again — the at-least-once contract.

import type { Log } from '../log/logger.ts';
import type { Store } from '../store/store.ts';
import { GroupCommit } from '../store/group-commit.ts';
import { applyQueueWrites, type DestinationHealth, type QueueWrite } from '../store/queue.ts';

/** How long a batch the store refused waits before it is written again. */
const RETRY_MS = 1000;

/**
 * What a batch of queue writes makes redundant: a claim (in_flight) whose
 * outcome or release is in the same batch, and every health state of a
 * destination but its newest (written last, as the batch's final word).
 */
export function compactQueueWrites(writes: QueueWrite[]): QueueWrite[] {
  const finished = new Set<string>();
  const newestHealth = new Map<string, QueueWrite>();
  for (const w of writes) {
    if (w.kind === 'attempt') finished.add(w.attempt.deliveryId);
    else if (w.kind === 'release') finished.add(w.id);
    else if (w.kind === 'health') newestHealth.set(w.destination, w);
  }
  if (finished.size === 0 && newestHealth.size === 0) return writes;
  const kept = writes.filter((w) => (w.kind === 'in_flight' ? !finished.has(w.id) : w.kind !== 'health'));
  return [...kept, ...newestHealth.values()];
}

/** Buffers queue writes and applies them in batches. */
export class QueueWriter {
  private readonly commits: GroupCommit<QueueWrite>;

  constructor(store: Store, log: Log, delayMs = 10, maxBatch = 2000) {
    this.commits = new GroupCommit<QueueWrite>({
      write: (writes) => applyQueueWrites(store, writes),
      delayMs,
      maxBatch,
      compact: compactQueueWrites,
      onFailure: {
        kind: 'retry',
        afterMs: RETRY_MS,
        report: (err) => log.error('cannot record delivery progress in the store; retrying in 1 s', { path: store.path, error: (err as Error).message }),
      },
    });
  }

  /** Queue a write; it is applied within delayMs (sooner when the batch is full). */
  push(write: QueueWrite): void {
    this.commits.push(write);
  }

  /** Record a destination's latest health (only the newest per destination is written). */
  setHealth(destination: string, health: DestinationHealth): void {
    this.commits.push({ kind: 'health', destination, health: { ...health } });
  }

  /** Apply everything buffered now, synchronously. On failure the writes stay buffered and are retried. */
  flush(): boolean {
    return this.commits.flushNow();
  }

  /** Writes waiting to be applied. */
  get size(): number {
    return this.commits.size;
  }
}
