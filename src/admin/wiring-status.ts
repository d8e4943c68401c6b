// How ref changes reach the relay, for `relay status`: file hooks in N of M
// repositories, the hook script enabled in N of P projects (as the daemon
// last checked), reconciliation on/off and its last sweep; and, as
// attention, repositories whose ref changes arrived only through
// reconciliation in the last 24 h (their hook wiring is missing).

import { existsSync } from 'node:fs';
import type { RelayConfig } from '../config/config-types.ts';
import type { Store } from '../store/store.ts';
import { listRepositories } from '../reconcile/repositories.ts';
import { reconciledOnly } from '../reconcile/known-refs.ts';
import { repositoryHookPaths } from '../install/bitbucket-layout.ts';

/** Ref updates relayed since start, by who reported them (a spool record of the file hook or of the Bitbucket hook script; reconciliation). */
export interface RefChangeCounts {
  hook: number;
  hookScript: number;
  reconciled: number;
}

/** What only the running daemon knows about the wiring. */
export interface LiveWiring {
  /** watched: repositories whose ref files are watched for file-system notices (reconcile.watch). */
  lastSweep: { at: number; durationMs: number; repositories: number; watched?: number } | null;
  reconciledSinceStart: number;
  /** Ref updates that went into events since start, by source (absent from an older daemon). */
  refChanges?: RefChangeCounts;
  /** The hook script's projects as the daemon last checked (bitbucket.api + hooks.autoInstall), else null. */
  hookScripts: { enabledProjects: number; projects: number; registered: boolean; checkedAt: number; error: string | null } | null;
}

/** The wiring section of the status report. */
export interface WiringReport {
  /** Null without bitbucket.home. */
  fileHooks: { withHook: number; repositories: number } | null;
  hookScripts: LiveWiring['hookScripts'];
  /** watched: repositories on file-system notices as of the last sweep (null: watch off or daemon down). */
  reconcile: { enabled: boolean; lastSweepAt: string | null; lastSweepMs: number | null; repositories: number | null; reconciledSinceStart: number | null; watched: number | null };
  /** Last 24 h: repositories with ref changes that only reconciliation reported. */
  reconciledOnly: { repo: string; count: number }[];
  /** Ref updates relayed since start by source; null when the daemon is down. */
  refChangesSinceStart: RefChangeCounts | null;
}

const DAY_MS = 86_400_000;

/** Collects the wiring facts (a stat per repository for the file hook; one store query). */
export function collectWiring(config: RelayConfig, store: Store | null, live: LiveWiring | null, now = Date.now()): WiringReport {
  let fileHooks: WiringReport['fileHooks'] = null;
  if (config.bitbucket.home) {
    const repos = listRepositories({ bitbucket: { ...config.bitbucket, repositories: [] } });
    fileHooks = { repositories: repos.length, withHook: repos.filter((r) => existsSync(repositoryHookPaths(r).hookFile)).length };
  }
  let only: WiringReport['reconciledOnly'] = [];
  try {
    if (store) only = reconciledOnly(store, now - DAY_MS);
  } catch {
    only = []; // a store older than migration 6 (read by an older daemon's CLI): nothing to say
  }
  return {
    fileHooks,
    hookScripts: live?.hookScripts ?? null,
    reconcile: {
      enabled: config.reconcile.enabled,
      lastSweepAt: live?.lastSweep ? new Date(live.lastSweep.at).toISOString() : null,
      lastSweepMs: live?.lastSweep ? Math.round(live.lastSweep.durationMs) : null,
      repositories: live?.lastSweep?.repositories ?? null,
      watched: config.reconcile.enabled && config.reconcile.watch && live?.lastSweep?.watched !== undefined ? live.lastSweep.watched : null,
      reconciledSinceStart: live ? live.reconciledSinceStart : null,
    },
    reconciledOnly: only,
    refChangesSinceStart: live ? { hook: 0, hookScript: 0, reconciled: 0, ...live.refChanges } : null,
  };
}

/** Attention items: ref changes that arrived only through reconciliation; a hook-script check that failed. */
export function wiringAttention(w: WiringReport): string[] {
  const out = w.reconciledOnly.slice(0, 5).map(
    (r) => `${r.repo}: ${r.count} ref change${r.count === 1 ? '' : 's'} arrived only through reconciliation in the last 24 h: its hook wiring is missing; run \`relay hooks verify\``,
  );
  if (w.reconciledOnly.length > 5) out.push(`${w.reconciledOnly.length - 5} more repositories had ref changes only reconciliation reported; run \`relay hooks verify\``);
  if (w.hookScripts?.error) out.push(`hook scripts: the daemon cannot check them: ${w.hookScripts.error}`);
  return out;
}

/** ", file-system notices on W of N repositories" (and what to do when not all): reconcile.watch. */
function watchPhrase(rc: WiringReport['reconcile']): string {
  if (rc.watched === null || rc.repositories === null) return '';
  const rest = rc.watched < rc.repositories ? ' (the rest at each interval; raise fs.inotify.max_user_watches)' : '';
  return `, file-system notices on ${rc.watched} of ${rc.repositories} repositories${rest}`;
}

/** One phrase per wiring, shared by the status screen and the web overview (the same words in both). */
export function describeWiring(w: WiringReport): { fileHooks: string; hookScript: string; reconciliation: string } {
  const hs = w.hookScripts;
  const rc = w.reconcile;
  return {
    fileHooks: w.fileHooks ? `in ${w.fileHooks.withHook} of ${w.fileHooks.repositories} repositories` : 'not counted (bitbucket.home not set)',
    hookScript: hs ? (hs.error ? `unknown (${hs.error})` : hs.registered ? `enabled in ${hs.enabledProjects} of ${hs.projects} projects` : 'not registered (relay hooks install --scripts)') : 'not checked (needs bitbucket.api and hooks.autoInstall)',
    reconciliation: `${rc.enabled ? 'on' : 'off'}${rc.lastSweepAt ? `, last sweep ${rc.lastSweepAt} (${rc.repositories} repositories, ${rc.lastSweepMs} ms)` : ''}${rc.reconciledSinceStart ? `, ${rc.reconciledSinceStart} ref changes relayed since start` : ''}${watchPhrase(rc)}`,
  };
}

/** The status screen lines (one per wiring). */
export function renderWiring(w: WiringReport): string[] {
  const d = describeWiring(w);
  return [`wiring   file hooks: ${d.fileHooks}`, `         hook script: ${d.hookScript}`, `         reconciliation: ${d.reconciliation}`];
}
