// Walks read ahead (walk-ahead.ts), kept until their push is analysed. Each
// is taken once; what is not taken within maxAgeMs (its record was
// quarantined, relayed by another path, or the daemon moved on) is dropped,
// and at most maxCommits commits are held over all repositories, so memory
// stays bounded by the pushes queued right now. A repository whose queued
// pushes were too large for one walk walks one push at a time for maxAgeMs,
// so a backlog of large pushes does not pay a walk that cannot succeed.

import { pushKey, type WalkedPush, type WalksReadAhead } from './walk-ahead.ts';
import type { RefLine } from './ref-lines.ts';

/** Limits of WalkedPushes. */
export interface WalkedPushesLimits {
  /** How long a walk is kept, and a repository that overflowed walks one push at a time. Default 60 s. */
  maxAgeMs: number;
  /** Commits held over all walks kept; walks beyond it are not kept. Default 20,000. */
  maxCommits: number;
}

/** Walks read ahead, per repository, by push. */
export class WalkedPushes {
  readonly #byRepo = new Map<string, Map<string, { walk: WalkedPush; at: number }>>();
  readonly #overflowedAt = new Map<string, number>();
  readonly #limits: WalkedPushesLimits;
  #commits = 0;

  constructor(limits: Partial<WalkedPushesLimits> = {}) {
    this.#limits = { maxAgeMs: 60_000, maxCommits: 20_000, ...limits };
  }

  /** Keeps what an analysis read ahead for later pushes of the repository. */
  keep(repoPath: string, ahead: WalksReadAhead, now: number): void {
    this.#dropExpired(now);
    if (ahead.overflowed) this.#overflowedAt.set(repoPath, now);
    let repo = this.#byRepo.get(repoPath);
    for (const walk of ahead.walks) {
      if (this.#commits + walk.commits.length > this.#limits.maxCommits) break;
      if (!repo) this.#byRepo.set(repoPath, (repo = new Map()));
      this.#forget(repoPath, walk.key);
      repo.set(walk.key, { walk, at: now });
      this.#commits += walk.commits.length;
    }
  }

  /**
   * For the push about to be analysed: its walk, if one was read ahead, and
   * the pushes that follow it to read ahead with it (none when the next
   * one's walk is kept already, or the repository overflowed lately).
   */
  forPush(repoPath: string, lines: readonly RefLine[], next: readonly (readonly RefLine[])[], now: number): { walked?: WalkedPush; laterPushes: readonly (readonly RefLine[])[] } {
    const kept = this.#forget(repoPath, pushKey(lines));
    const walked = kept && now - kept.at <= this.#limits.maxAgeMs ? kept.walk : undefined;
    const overflowedAt = this.#overflowedAt.get(repoPath);
    const quiet = overflowedAt !== undefined && now - overflowedAt <= this.#limits.maxAgeMs;
    const nextKept = next.length > 0 && (this.#byRepo.get(repoPath)?.has(pushKey(next[0])) ?? false);
    return { ...(walked ? { walked } : {}), laterPushes: quiet || nextKept ? [] : next };
  }

  /** Walks kept and the commits they hold, over all repositories. */
  get size(): { walks: number; commits: number } {
    let walks = 0;
    for (const repo of this.#byRepo.values()) walks += repo.size;
    return { walks, commits: this.#commits };
  }

  /** Removes one kept walk and returns it. */
  #forget(repoPath: string, key: string): { walk: WalkedPush; at: number } | undefined {
    const repo = this.#byRepo.get(repoPath);
    const kept = repo?.get(key);
    if (!repo || !kept) return undefined;
    repo.delete(key);
    if (repo.size === 0) this.#byRepo.delete(repoPath);
    this.#commits -= kept.walk.commits.length;
    return kept;
  }

  #dropExpired(now: number): void {
    for (const [repoPath, repo] of this.#byRepo) {
      for (const [key, kept] of repo) if (now - kept.at > this.#limits.maxAgeMs) this.#forget(repoPath, key);
    }
    for (const [repoPath, at] of this.#overflowedAt) if (now - at > this.#limits.maxAgeMs) this.#overflowedAt.delete(repoPath);
  }
}
