// Which commits an event lists under the maxCommits cap. Pure.

/** Per-ref kept commits and the event's detailed set. */
export interface CappedCommits {
  /** For each input list: the commits kept, oldest first (a suffix: the newest). */
  kept: string[][];
  /** Every kept commit once, in first-kept order (refs in order, oldest first within each). */
  detailed: string[];
  /** Distinct commits across all lists before the cap. */
  total: number;
}

/**
 * Caps commit lists (oldest first, one per ref) to maxCommits distinct commits
 * for the whole event. Each ref keeps its newest commits while the event has
 * room; a commit another ref already kept costs nothing. Every kept commit is
 * detailed, so refs never name a commit the event does not describe.
 */
export function capCommitLists(lists: readonly (readonly string[])[], maxCommits: number): CappedCommits {
  const detailed = new Set<string>();
  const every = new Set<string>();
  const kept = lists.map((list) => {
    for (const sha of list) every.add(sha);
    const keep: string[] = [];
    let room = maxCommits - detailed.size;
    for (let i = list.length - 1; i >= 0; i--) {
      if (!detailed.has(list[i])) {
        if (room <= 0) break;
        room--;
      }
      keep.push(list[i]);
    }
    keep.reverse();
    for (const sha of keep) detailed.add(sha);
    return keep;
  });
  return { kept, detailed: [...detailed], total: every.size };
}
