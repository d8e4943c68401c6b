// A one-line progress bar for long CLI work (backfill, bulk redeliver), drawn
// only on a terminal: in pipes and logs it stays silent, and the command's
// final summary line says what happened.
// Kept rather than cli-progress/progress (issue 14): one bar, one redraw
// rule, 40 lines; the packages bring multi-bar layouts and format templates
// we would configure down to this.

/** A progress display. */
export interface Progress {
  /** Set the position (and optionally the total and a short label). */
  update(done: number, total?: number, label?: string): void;
  /** Clear the bar (call before printing anything else). */
  finish(): void;
}

const SILENT: Progress = { update() {}, finish() {} };

/** A bar on `stream` when it is a TTY, else a progress that draws nothing. */
export function createProgress(stream: NodeJS.WritableStream & { isTTY?: boolean; columns?: number }, options: { total: number; label?: string; minIntervalMs?: number }): Progress {
  if (!stream.isTTY) return SILENT;
  let total = options.total;
  let label = options.label ?? '';
  let last = 0;
  let drawn = false;
  const interval = options.minIntervalMs ?? 100;
  const draw = (done: number): void => {
    const columns = stream.columns ?? 80;
    const count = `${done}/${total}`;
    const width = Math.max(10, Math.min(40, columns - count.length - label.length - 6));
    const filled = total > 0 ? Math.min(width, Math.round((done / total) * width)) : 0;
    const line = `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${count} ${label}`.slice(0, columns - 1);
    stream.write(`\r\x1b[2K${line}`);
    drawn = true;
  };
  return {
    update(done, newTotal, newLabel) {
      if (newTotal !== undefined) total = newTotal;
      if (newLabel !== undefined) label = newLabel;
      const now = Date.now();
      if (now - last < interval && done < total) return;
      last = now;
      draw(done);
    },
    finish() {
      if (drawn) stream.write('\r\x1b[2K');
      drawn = false;
    },
  };
}
