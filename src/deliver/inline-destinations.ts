// Inline destinations (file, log …): open while configured and enabled; each
// routed event is written, durably, before the daemon lets the spool record go.

import type { DestinationConfig } from '../config/config-types.ts';
import type { PushEvent } from '../event/push-event.ts';
import type { InlineSink } from '../destinations/kind.ts';
import { describeTarget, inlineKindOf } from '../destinations/registry.ts';
import type { Log } from '../log/logger.ts';
import { deliveryIdFor } from '../route/delivery-id.ts';
import type { InlineAttempt } from '../store/inline-attempts.ts';

/** A write failed at one or more destinations; `attempts` holds every destination's outcome (to record before retrying). */
export class InlineWriteError extends Error {
  override name = 'InlineWriteError';
  readonly attempts: InlineAttempt[];
  constructor(message: string, attempts: InlineAttempt[]) {
    super(message);
    this.attempts = attempts;
  }
}

/** The open inline destinations of the running config. */
export class InlineDestinations {
  private readonly open = new Map<string, { config: string; sink: InlineSink }>();
  private readonly log: Log;

  constructor(log: Log) {
    this.log = log;
  }

  /** Open what the config adds, reopen what it changes, close what it removes or disables. */
  async sync(destinations: readonly DestinationConfig[]): Promise<void> {
    const wanted = new Map(destinations.filter((d) => d.enabled && inlineKindOf(d)).map((d) => [d.name, d]));
    for (const [name, entry] of this.open) {
      const d = wanted.get(name);
      if (d && JSON.stringify(d) === entry.config) continue;
      this.open.delete(name);
      await entry.sink.close();
    }
    for (const [name, d] of wanted) {
      if (this.open.has(name)) continue;
      const sink = await inlineKindOf(d)!.open(d, { log: this.log });
      this.open.set(name, { config: JSON.stringify(d), sink });
    }
  }

  /**
   * Write each destination's events (in order per destination); resolves once
   * all are durable, with each destination's write as an attempt to record.
   * Rejects with InlineWriteError when any destination failed.
   */
  async write(copies: readonly { destination: DestinationConfig; event: PushEvent }[]): Promise<InlineAttempt[]> {
    const byName = new Map<string, { destination: DestinationConfig; events: PushEvent[] }>();
    for (const { destination, event } of copies) {
      const entry = byName.get(destination.name) ?? { destination, events: [] };
      entry.events.push(event);
      byName.set(destination.name, entry);
    }
    const attempts = await Promise.all(
      [...byName.values()].map(async ({ destination, events }): Promise<InlineAttempt> => {
        const time = Date.now();
        const started = performance.now();
        let error: string | null = null;
        try {
          const entry = this.open.get(destination.name);
          if (!entry) throw new Error(`destination ${destination.name} is not open`);
          await entry.sink.write(events);
        } catch (err) {
          error = (err as Error).message;
        }
        const ids = events.map((e) => deliveryIdFor(e.id, destination.name, 0));
        return { destination: destination.name, ids, target: describeTarget(destination), time, latencyMs: Math.round(performance.now() - started), error };
      }),
    );
    const failed = attempts.filter((a) => a.error !== null);
    if (failed.length) throw new InlineWriteError(failed.map((a) => `${a.destination}: ${a.error}`).join('; '), attempts);
    return attempts;
  }

  /** Close every sink. */
  async close(): Promise<void> {
    for (const { sink } of this.open.values()) await sink.close();
    this.open.clear();
  }
}
