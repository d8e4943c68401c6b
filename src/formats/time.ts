// Timestamp spellings the wire formats use. All derive from ISO 8601 strings
// in the PushEvent; nothing reads the clock.

const ISO = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.\d+)?(Z|[+-]\d{2}:?\d{2})$/;

/**
 * Bitbucket Server's `date`: `2017-09-19T09:58:11+1000` (no fraction, offset
 * without colon), keeping the offset the ISO string carries (`Z` → `+0000`).
 */
export function bitbucketDate(iso: string): string {
  const m = ISO.exec(iso);
  if (!m) {
    const d = new Date(iso);
    if (Number.isNaN(d.getTime())) return iso;
    return bitbucketDate(d.toISOString());
  }
  const offset = m[2] === 'Z' ? '+0000' : m[2].replace(':', '');
  return m[1] + offset;
}

/** Milliseconds since the epoch (Bitbucket's `authorTimestamp`); 0 when unparseable. */
export function epochMillis(iso: string): number {
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? 0 : ms;
}

/** Whole seconds since the epoch (GitHub's `pushed_at`). */
export function epochSeconds(iso: string): number {
  return Math.floor(epochMillis(iso) / 1000);
}
