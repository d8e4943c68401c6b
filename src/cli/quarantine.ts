// `relay quarantine list|retry|drop`: spool entries the daemon set aside
// (unparseable, repository gone, not a regular file …) — listed with their
// reason and age, moved back to incoming/ once the cause is fixed, or removed.
// Works on the spool directory itself, with or without a running daemon.

// Straight from the modules: the intake's index also loads the watcher (chokidar), which this command never needs.
import { listQuarantined, requeueQuarantined, dropQuarantined, type QuarantinedEntry } from '../intake/quarantine.ts';
import { spoolDirs, type SpoolDirs } from '../intake/spool-dirs.ts';
import { compareSpoolOrder } from '../intake/spool-files.ts';
import { parseCommand, usageError } from './args.ts';
import { EXIT, type CliIo } from './cli-io.ts';
import { loadCliConfig } from './open-target.ts';
import { formatAge, plural, renderTable, truncate } from './table.ts';

const HELP = `usage: relay quarantine list [--wide] [--json]
       relay quarantine retry (<id>... | --all) [--force]
       relay quarantine drop (<id>... | --all --yes)

Spool entries the daemon would not process, in <spool>/quarantine/, each with
a .reason.txt file saying why.
  list    oldest first: id, age, size, reason (--wide: the whole reason)
  retry   move entries back to incoming/ under their original name, in push
          order, for the daemon to process again (safe while it runs; a record
          of the same name already waiting is never replaced). A record whose
          own bytes are the cause is refused unless --force.
  drop    remove entries and their reason files for good; by id, or --all
          with --yes
  <id>    the name in quarantine/ as list shows it (or a unique prefix of at
          least 4 characters)
Exit status: 0 done (list: nothing quarantined), 1 entries listed / an id
unknown / an entry refused, 2 usage, 3 config invalid (spool unknown).`;

/** Run `relay quarantine`. */
export async function run(args: string[], io: CliIo): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === undefined || sub === '--help' || sub === '-h') {
    io.stdout.write(HELP + '\n');
    return sub === undefined ? EXIT.usage : EXIT.ok;
  }
  if (!['list', 'retry', 'drop'].includes(sub)) return usageError(io, 'quarantine', `unknown subcommand "${sub}"; use list, retry or drop`);
  const parsed = parseCommand(`quarantine ${sub}`, rest, {
    all: { type: 'boolean' },
    yes: { type: 'boolean', short: 'y' },
    force: { type: 'boolean' },
    wide: { type: 'boolean' },
    json: { type: 'boolean' },
  }, HELP, io, { max: sub === 'list' ? 0 : Infinity });
  if (!parsed.ok) return parsed.status;
  const v = parsed.values;
  const ids = parsed.positionals;
  const cli = loadCliConfig(v.config, io.env, v.socket, v.timeout);
  // The spool's path is read even from a config that does not validate; only an unreadable one leaves it unknown.
  if (!cli.valid && cli.unreadableOnly) {
    io.stderr.write(`${cli.problems.join('\n')}\nrelay quarantine: cannot tell where the spool is (relay config check)\n`);
    return EXIT.config;
  }
  const dirs = spoolDirs(cli.config.spool.dir);
  let entries: QuarantinedEntry[];
  try {
    entries = await listQuarantined(dirs);
  } catch (err) {
    io.stderr.write(`relay quarantine: ${(err as Error).message}\n`);
    return EXIT.unavailable;
  }

  if (sub === 'list') return list(io, dirs, entries, Boolean(v.wide), Boolean(v.json));

  if (ids.length > 0 && v.all) return usageError(io, `quarantine ${sub}`, 'give either ids or --all, not both');
  if (ids.length === 0 && !v.all) return usageError(io, `quarantine ${sub}`, `say which entries: one or more ids (relay quarantine list), or --all${sub === 'drop' ? ' --yes' : ''}`);
  if (sub === 'drop' && v.all && !v.yes) {
    return usageError(io, 'quarantine drop', `--all removes ${plural(entries.length, 'quarantined entry', 'quarantined entries')} in ${dirs.quarantine} for good; add --yes to confirm`);
  }
  let chosen: QuarantinedEntry[];
  if (v.all) chosen = entries;
  else {
    const picked = pick(entries, ids);
    if (!picked.ok) {
      io.stderr.write(`relay quarantine ${sub}: ${picked.message}\n`);
      return picked.status;
    }
    chosen = picked.entries;
  }
  if (chosen.length === 0) {
    io.stdout.write(`nothing quarantined in ${dirs.quarantine}\n`);
    return EXIT.ok;
  }

  let failed = 0;
  if (sub === 'retry') {
    // In push order (mtime, then name: the order intake uses), so a repository's records reach the daemon as they were pushed.
    chosen = [...chosen].sort((a, b) => compareSpoolOrder({ mtimeNs: a.mtimeNs, name: a.record }, { mtimeNs: b.mtimeNs, name: b.record }));
    let moved = 0;
    for (const e of chosen) {
      if (e.permanent && !v.force) {
        io.stderr.write(`relay quarantine retry: ${e.id}: the record's own bytes are the cause (${firstLine(e.reason)}); moving it back unchanged fails the same way. Drop it, or --force to try anyway\n`);
        failed++;
        continue;
      }
      const out = await requeueQuarantined(dirs, e);
      if (out.ok) {
        moved++;
        io.stdout.write(`moved ${e.id} back to ${out.path}\n`);
      } else {
        failed++;
        io.stderr.write(`relay quarantine retry: ${out.error}\n`);
      }
    }
    io.stdout.write(`${plural(moved, 'entry', 'entries')} moved back to incoming/${moved ? '; the daemon processes them in order (relay status)' : ''}${failed ? `, ${failed} not` : ''}\n`);
    return failed ? EXIT.attention : EXIT.ok;
  }
  let dropped = 0;
  for (const e of chosen) {
    const out = await dropQuarantined(dirs, e);
    if (out.ok) dropped++;
    else {
      failed++;
      io.stderr.write(`relay quarantine drop: ${out.error}\n`);
    }
  }
  io.stdout.write(`dropped ${plural(dropped, 'quarantined entry', 'quarantined entries')}${failed ? `, ${failed} not` : ''}\n`);
  return failed ? EXIT.attention : EXIT.ok;
}

function list(io: CliIo, dirs: SpoolDirs, entries: QuarantinedEntry[], wide: boolean, json: boolean): number {
  const now = Date.now();
  if (json) {
    const rows = entries.map((e) => ({
      id: e.id, record: e.record, type: e.type, bytes: e.bytes, quarantinedAt: new Date(e.quarantinedAt).toISOString(),
      ageMs: Math.max(0, now - e.quarantinedAt), reason: e.reason, permanent: e.permanent,
    }));
    io.stdout.write(JSON.stringify(rows, null, 2) + '\n');
    return entries.length ? EXIT.attention : EXIT.ok;
  }
  if (entries.length === 0) {
    io.stdout.write(`nothing quarantined in ${dirs.quarantine}\n`);
    return EXIT.ok;
  }
  const table = renderTable(
    [{ header: 'ID' }, { header: 'AGE' }, { header: 'SIZE', align: 'right' }, { header: 'REASON' }],
    entries.map((e) => [
      e.id,
      formatAge(e.quarantinedAt, now),
      e.type === 'file' ? `${e.bytes} B` : e.type,
      (e.permanent ? '[permanent] ' : '') + (wide ? truncate(e.reason ?? '(no reason file)', Infinity) : truncate(firstLine(e.reason), 90)),
    ]),
  );
  io.stdout.write(`${table}\n${plural(entries.length, 'quarantined entry', 'quarantined entries')} in ${dirs.quarantine}; move back with \`relay quarantine retry <id>\` once the cause is fixed, or \`relay quarantine drop <id>\`\n`);
  return EXIT.attention;
}

/** Entries named by `ids` (exact, or a unique prefix of 4+ characters). */
function pick(entries: QuarantinedEntry[], ids: string[]): { ok: true; entries: QuarantinedEntry[] } | { ok: false; message: string; status: number } {
  const out: QuarantinedEntry[] = [];
  for (const id of ids) {
    const exact = entries.find((e) => e.id === id);
    const matches = exact ? [exact] : id.length >= 4 ? entries.filter((e) => e.id.startsWith(id)) : [];
    if (matches.length === 0) {
      const hint = id.length < 4 && !exact ? ' (a prefix needs at least 4 characters)' : '';
      return { ok: false, status: EXIT.attention, message: `no quarantined entry "${id}"${hint}; ${entries.length ? `there are ${entries.length}: see \`relay quarantine list\`` : 'nothing is quarantined'}` };
    }
    if (matches.length > 1) return { ok: false, status: EXIT.usage, message: `"${id}" matches ${matches.length} entries (${matches.slice(0, 5).map((e) => e.id).join(', ')}${matches.length > 5 ? ', …' : ''}); give more of the id` };
    if (!out.includes(matches[0])) out.push(matches[0]);
  }
  return { ok: true, entries: out };
}

function firstLine(text: string | null): string {
  return text === null ? '(no reason file)' : text.split('\n')[0];
}
