// `relay deliveries [--dest D] [--failed] [--since 1h] [--repo R]
// [--limit N] [--json]`: recent deliveries, newest first, like Bitbucket's
// event log: where each went, its state, tries and last outcome.

import type { DeliverySummary } from '../store/index.ts';
import { parseCommand, parsePositiveInt, parseSince, usageError } from './args.ts';
import { EXIT, type CliIo } from './cli-io.ts';
import { deliveriesTable, deliveryJson } from './delivery-text.ts';
import { loadCliConfig, withTarget } from './open-target.ts';
import { resolveRepoArg } from './repo-arg.ts';
import { unknownDestination } from './redeliver.ts';
import { styleFor } from './style.ts';

const HELP = `usage: relay deliveries [--dest D] [--failed] [--state S] [--since 1h] [--repo R] [--event ID] [--limit N] [--wide] [--json]

Recent deliveries, newest first: destination, repository, state, tries, last outcome.
  --dest D         only this destination
  --failed         dead letters and deliveries being retried
  --state S        pending, in_flight, delivered, dead or dropped
  --since T        created since T: a duration ago (90m, 2h, 7d) or a date/time (2024-05-01, 2024-05-01T10:00)
  --repo R         only this repository: PROJECT/slug, its id or its directory
  --event ID       only deliveries of this event
  --limit N        at most N (default 50)
  --wide           full ids and labels
  --json           JSON array (keys documented in docs/operations.md)
Show one with \`relay show <id>\` (any unique prefix of at least 4 characters).`;

/** Run `relay deliveries`. */
export async function run(args: string[], io: CliIo): Promise<number> {
  const parsed = parseCommand('deliveries', args, {
    dest: { type: 'string' },
    failed: { type: 'boolean' },
    state: { type: 'string' },
    since: { type: 'string' },
    repo: { type: 'string' },
    event: { type: 'string' },
    limit: { type: 'string' },
    wide: { type: 'boolean' },
    json: { type: 'boolean' },
  }, HELP, io);
  if (!parsed.ok) return parsed.status;
  const v = parsed.values;
  const now = Date.now();
  const since = v.since === undefined ? undefined : parseSince(v.since, now);
  if (since === null) return usageError(io, 'deliveries', `--since "${v.since}" is neither a duration (2h) nor a date (2024-05-01)`);
  const limit = v.limit === undefined ? 50 : parsePositiveInt(v.limit);
  if (limit === null) return usageError(io, 'deliveries', `--limit "${v.limit}" is not a positive number`);
  const cli = loadCliConfig(v.config, io.env, v.socket, v.timeout);
  // PROJECT/slug is the key deliveries are stored under; an id or a directory is resolved to it.
  let repoKey = v.repo;
  if (v.repo !== undefined && !/^[^/\s]+\/[^/\s]+$/.test(v.repo)) {
    const repo = await resolveRepoArg(v.repo, cli.config.bitbucket.home);
    if (!repo.ok) return usageError(io, 'deliveries', repo.message);
    repoKey = `${repo.repo.projectKey}/${repo.repo.slug}`;
  }
  if (v.dest !== undefined) {
    const unknown = unknownDestination(cli, v.dest);
    if (unknown) return usageError(io, 'deliveries', unknown);
  }
  return withTarget(io, cli, 'read', 'deliveries', async (target) => {
    const list = await target.call<DeliverySummary[]>('deliveries', {
      destination: v.dest, failed: v.failed ?? false, state: v.state, since, repo: repoKey, eventId: v.event, limit,
    });
    if (v.json) io.stdout.write(JSON.stringify(list.map(deliveryJson), null, 2) + '\n');
    else if (list.length === 0) io.stdout.write('no deliveries match\n');
    else io.stdout.write(deliveriesTable(list, styleFor(io.stdout, io.env), now, v.wide));
    return EXIT.ok;
  });
}
