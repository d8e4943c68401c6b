// When the next attempt of a queued delivery really goes: its own retry time,
// but not before its destination's open circuit lets the next probe out. The
// one definition shown by `status`, `deliveries`, `show` and the web page, and
// used by the worker's timer.

/** A destination's circuit, as far as timing goes. */
export interface CircuitTiming {
  open: boolean;
  /** While open: not before this time (ms epoch) may the next probe go. */
  nextProbeAt: number | null;
}

/** The time (ms epoch) a delivery due at `dueAt` is next sent, given its destination's circuit. */
export function nextSendAt(dueAt: number, circuit: CircuitTiming | null): number {
  if (!circuit?.open || circuit.nextProbeAt === null) return dueAt;
  return Math.max(dueAt, circuit.nextProbeAt);
}
