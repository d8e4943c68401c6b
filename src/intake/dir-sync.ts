// fsync of a directory after unlinks, coalesced: callers that arrive while a
// sync runs share the next one, so a burst of removals costs ~2 fsyncs.

import { open, type FileHandle } from 'node:fs/promises';

/** Coalescing fsync of one directory. */
export class DirSync {
  private readonly dir: string;
  private handle: Promise<FileHandle> | null = null;
  private running: Promise<void> | null = null;
  private queued: Promise<void> | null = null;

  /** `dir`: the directory whose entries must be durable. */
  constructor(dir: string) {
    this.dir = dir;
  }

  /** Resolves once an fsync that started after this call has finished. */
  sync(): Promise<void> {
    if (!this.running) {
      this.running = this.fsync().finally(() => {
        this.running = null;
      });
      return this.running;
    }
    if (!this.queued) {
      this.queued = this.running
        .catch(() => {})
        .then(() => {
          this.queued = null;
          return this.sync();
        });
    }
    return this.queued;
  }

  /** Waits for pending syncs and closes the directory handle. */
  async close(): Promise<void> {
    await (this.queued ?? this.running)?.catch(() => {});
    const h = this.handle;
    this.handle = null;
    if (h) await (await h.catch(() => null))?.close().catch(() => {});
  }

  private async fsync(): Promise<void> {
    this.handle ??= open(this.dir, 'r');
    let fh: FileHandle;
    try {
      fh = await this.handle;
    } catch (err) {
      this.handle = null;
      throw err;
    }
    await fh.sync();
  }
}
