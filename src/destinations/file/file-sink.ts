// `type: file` destinations: one event per line (JSON Lines), appended and
// fsync'd before the daemon lets the spool record go.

import { open, mkdir, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { PushEvent } from '../../event/push-event.ts';

/** An open JSON Lines file that appends durably. */
export interface FileSink {
  readonly path: string;
  /** Append events (one line each) and fsync; resolves once on disk. */
  append(events: readonly PushEvent[]): Promise<void>;
  close(): Promise<void>;
}

/** Open (creating it and its directory if needed) a JSON Lines archive. */
export async function openFileSink(path: string): Promise<FileSink> {
  await mkdir(dirname(path), { recursive: true, mode: 0o750 });
  let handle: FileHandle | null = await open(path, 'a', 0o640);
  // Appends from concurrent records are chained so lines never interleave.
  let tail: Promise<void> = Promise.resolve();
  return {
    path,
    append(events) {
      const bytes = Buffer.from(events.map((e) => JSON.stringify(e) + '\n').join(''));
      const run = async (): Promise<void> => {
        if (!handle) throw new Error(`file destination ${path} is closed`);
        await handle.write(bytes);
        await handle.sync();
      };
      const next = tail.then(run, run);
      tail = next.catch(() => {});
      return next;
    },
    async close() {
      await tail;
      await handle?.close();
      handle = null;
    },
  };
}
