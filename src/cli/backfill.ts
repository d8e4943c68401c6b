// `relay backfill --repo DIR (--since DATE | --range OLD..NEW | --ref REF)
// [--dest D]`: replay history as `trigger: backfill` events through the
// normal queue (the daemon's, over its socket, when it runs). The CLI does
// the git work (it reads the repository); the daemon routes, renders and
// queues. A progress bar shows on a terminal.

import { resolve } from 'node:path';
import type { BackfillEnqueueSummary } from '../admin/control-ops.ts';
import { backfillDestinations } from '../admin/control-ops.ts';
import { ControlError } from '../admin/control-protocol.ts';
import { analyzeBackfillRange, BackfillError, planBackfill, type BackfillSelector } from '../git/backfill.ts';
import type { PushEvent } from '../event/push-event.ts';
import { analysisOptionsFromConfig } from '../git/analysis-options.ts';
import { RepositoryUnreadableError } from '../git/repository-identity.ts';
import { parseCommand, parsePositiveInt, parseSince, usageError } from './args.ts';
import { EXIT, type CliIo } from './cli-io.ts';
import { loadCliConfig, withTarget } from './open-target.ts';
import { resolveRepoArg } from './repo-arg.ts';
import { createProgress } from './progress.ts';
import { plural } from './table.ts';

const HELP = `usage: relay backfill --repo R (--since T | --range OLD..NEW | --ref BRANCH) [--ref BRANCH] [--dest D]... [--batch N] [--dry-run]

Replays a branch's history as push events with trigger "backfill", through
the normal delivery queue, for consumers that only saw pushes made after
their webhook was set up.
  --repo R          the repository: its id (3), PROJECT/slug or directory (id and
                    PROJECT/slug are found under bitbucket.home)
  --since T         commits since T (2024-01-01, or a duration ago like 30d)
  --range OLD..NEW  commits after OLD up to NEW
  --ref BRANCH      the branch (default: the repository's default branch);
                    alone: its whole history
  --dest D          only this destination (repeatable; default: every enabled
                    http destination whose match takes the event)
  --batch N         first-parent commits per event (default 20; merges bring
                    their side branches along)
  --dry-run         print the ref lines, queue nothing
Running the same backfill again queues nothing new (event ids derive from the
ranges); to send again on purpose use \`relay redeliver\`.
Exit status: 0 queued, 1 nothing to queue, 2 usage, 3 config invalid, 4 unavailable.`;

const MAX_BATCH_BYTES = 8 * 1024 * 1024;

/** Run `relay backfill`. */
export async function run(args: string[], io: CliIo): Promise<number> {
  const parsed = parseCommand('backfill', args, {
    repo: { type: 'string' },
    since: { type: 'string' },
    range: { type: 'string' },
    ref: { type: 'string' },
    dest: { type: 'string', multiple: true },
    batch: { type: 'string' },
    'dry-run': { type: 'boolean' },
  }, HELP, io);
  if (!parsed.ok) return parsed.status;
  const v = parsed.values;
  if (!v.repo) return usageError(io, 'backfill', '--repo is required: a repository id, PROJECT/slug or directory');
  if (v.since !== undefined && v.range !== undefined) return usageError(io, 'backfill', 'give --since or --range, not both');
  if (v.since === undefined && v.range === undefined && v.ref === undefined) return usageError(io, 'backfill', 'say which history: --since T, --range OLD..NEW or --ref BRANCH');
  const batch = v.batch === undefined ? 20 : parsePositiveInt(v.batch);
  if (batch === null) return usageError(io, 'backfill', `--batch "${v.batch}" is not a positive number`);
  let selector: BackfillSelector;
  if (v.since !== undefined) {
    const since = parseSince(v.since);
    if (since === null) return usageError(io, 'backfill', `--since "${v.since}" is neither a date (2024-01-01) nor a duration (30d)`);
    selector = { kind: 'since', since, ref: v.ref };
  } else if (v.range !== undefined) {
    const m = /^([^.\s]+)\.\.([^.\s]+)$/.exec(v.range);
    if (!m) return usageError(io, 'backfill', `--range "${v.range}" is not OLD..NEW`);
    selector = { kind: 'range', from: m[1], to: m[2], ref: v.ref };
  } else selector = { kind: 'ref', ref: v.ref! };

  const cli = loadCliConfig(v.config, io.env, v.socket, v.timeout);
  if (!cli.valid) {
    io.stderr.write(`${cli.problems.join('\n')}\nrelay backfill: fix the config first (relay config check)\n`);
    return EXIT.config;
  }
  const { config } = cli;
  let destNames: string[];
  try {
    destNames = backfillDestinations(config, v.dest).map((d) => d.name);
  } catch (err) {
    return usageError(io, 'backfill', (err as ControlError).message);
  }
  if (destNames.length === 0) return usageError(io, 'backfill', 'no enabled http destination to backfill to');

  const repo = await resolveRepoArg(v.repo, config.bitbucket.home);
  if (!repo.ok) return usageError(io, 'backfill', repo.message);
  let plan;
  try {
    plan = await planBackfill(repo.repo.path, selector, { batch });
  } catch (err) {
    if (err instanceof BackfillError || err instanceof RepositoryUnreadableError) {
      io.stderr.write(`relay backfill: ${err.message}\n`);
      return EXIT.usage;
    }
    throw err;
  }
  if (plan.lines.length === 0) {
    io.stdout.write(`nothing to backfill on ${plan.ref} in ${plan.repoPath}\n`);
    return EXIT.attention;
  }
  io.stderr.write(`backfill ${plan.repoPath} ${plan.ref}: ${plural(plan.steps, 'first-parent commit')} in ${plural(plan.lines.length, 'event')} → ${destNames.join(', ')}\n`);
  if (v['dry-run']) {
    for (const l of plan.lines) io.stdout.write(`${l.before} ${l.after} ${l.ref}\n`);
    return EXIT.ok;
  }

  const analysis = analysisOptionsFromConfig(config);
  return withTarget(io, cli, 'write', 'backfill', async (target) => {
    const total: BackfillEnqueueSummary = { events: 0, deliveries: 0, duplicates: 0, unmatched: 0, unmatchedBy: {} };
    let commits = 0;
    const bar = createProgress(io.stderr, { total: plan.lines.length, label: 'events' });
    let pending: PushEvent[] = [];
    let pendingBytes = 0;
    const flush = async (): Promise<void> => {
      if (pending.length === 0) return;
      const r = await target.call<BackfillEnqueueSummary>('backfill-enqueue', { events: pending, destinations: v.dest ? destNames : undefined }, { timeoutMs: 120_000 });
      total.events += r.events;
      total.deliveries += r.deliveries;
      total.duplicates += r.duplicates;
      total.unmatched += r.unmatched;
      for (const [name, n] of Object.entries(r.unmatchedBy)) total.unmatchedBy[name] = (total.unmatchedBy[name] ?? 0) + n;
      pending = [];
      pendingBytes = 0;
    };
    try {
      for (let i = 0; i < plan.lines.length; i++) {
        const event = await analyzeBackfillRange(plan, plan.lines[i], { analysis, node: config.node });
        commits += Object.keys(event.commits).length;
        for (const e of event.errors) io.stderr.write(`  warning: ${plan.lines[i].after.slice(0, 12)}: ${e.message}\n`);
        const size = JSON.stringify(event).length;
        if (pending.length && pendingBytes + size > MAX_BATCH_BYTES) await flush();
        pending.push(event);
        pendingBytes += size;
        if (pending.length >= 50) await flush();
        bar.update(i + 1);
      }
      await flush();
    } finally {
      bar.finish();
    }
    const where = target.kind === 'daemon' ? 'queued in the daemon' : 'queued in the store; the daemon sends them when it runs';
    io.stdout.write(`backfill: ${plural(total.events, 'event')} with ${plural(commits, 'commit')}, ${plural(total.deliveries, 'delivery', 'deliveries')} ${where}`
      + `${total.duplicates ? `; ${total.duplicates} already queued by an earlier run` : ''}${total.unmatched ? `; ${total.unmatched} taken by no destination (match filters)` : ''}\n`);
    const filtered = Object.entries(total.unmatchedBy).map(([name, n]) => `${name} ${n}`);
    if (filtered.length) io.stdout.write(`left out by a destination's match: ${filtered.join(', ')}\n`);
    return total.deliveries > 0 || total.duplicates > 0 ? EXIT.ok : EXIT.attention;
  });
}
