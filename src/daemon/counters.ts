// The daemon's counters since start: written by the daemon, read by status
// and metrics (src/admin), which therefore need not import the daemon.

/** Counters since start, for status and metrics. */
export interface DaemonCounters {
  events: number;
  unmatched: number;
  analysisErrors: number;
  recordFailures: number;
  reloads: number;
  reloadFailures: number;
}

/** All counters at zero. */
export function zeroCounters(): DaemonCounters {
  return { events: 0, unmatched: 0, analysisErrors: 0, recordFailures: 0, reloads: 0, reloadFailures: 0 };
}
