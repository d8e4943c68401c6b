// Per-phase timings of an HTTP attempt (got's, from the http transport that
// delivery and relay test share; the attempts log keeps them) and the one
// way they are printed: `relay show`, the web delivery page and `relay test`
// all say them alike.

/** Per-phase timings of an HTTP attempt, got's `timings.phases` record (whole ms). A phase that did not happen is null (DNS is 0 for an IP literal): no DNS, TCP or TLS on a reused keep-alive connection (`reused`); no TLS for http. */
export interface AttemptTimings {
  dnsMs: number | null;
  tcpMs: number | null;
  tlsMs: number | null;
  /** Request written → first response byte. */
  firstByteMs: number | null;
  /** Start → response end (or error), as got measured it. */
  totalMs: number | null;
  reused: boolean;
}

/** One line: "dns 1ms · tcp 0ms · tls 12ms · first byte 3ms · total 17ms" ("reused connection" instead of the connection phases). */
export function formatTimings(t: AttemptTimings): string {
  const ms = (v: number | null): string => (v === null ? '-' : `${v}ms`);
  const parts: string[] = [];
  if (t.reused) parts.push('reused connection');
  else {
    parts.push(`dns ${ms(t.dnsMs)}`, `tcp ${ms(t.tcpMs)}`);
    if (t.tlsMs !== null) parts.push(`tls ${ms(t.tlsMs)}`);
  }
  parts.push(`first byte ${ms(t.firstByteMs)}`, `total ${ms(t.totalMs)}`);
  return parts.join(' · ');
}
