// Inline destinations (file, log …): open while configured and enabled; each
// routed event is written, durably, before the daemon lets the spool record go.

import type { DestinationConfig } from '../config/config-types.ts';
import type { PushEvent } from '../event/push-event.ts';
import type { InlineSink } from '../destinations/kind.ts';
import { inlineKindOf } from '../destinations/registry.ts';
import type { Log } from '../log/logger.ts';

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

  /** Write each destination's events (in order per destination); resolves once all are durable. */
  async write(copies: readonly { destination: DestinationConfig; event: PushEvent }[]): Promise<void> {
    const byName = new Map<string, PushEvent[]>();
    for (const { destination, event } of copies) byName.set(destination.name, [...(byName.get(destination.name) ?? []), event]);
    await Promise.all(
      [...byName].map(([name, events]) => {
        const entry = this.open.get(name);
        if (!entry) throw new Error(`destination ${name} is not open`);
        return entry.sink.write(events);
      }),
    );
  }

  /** Close every sink. */
  async close(): Promise<void> {
    for (const { sink } of this.open.values()) await sink.close();
    this.open.clear();
  }
}
