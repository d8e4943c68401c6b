// `relay status [--json] [--watch] [--max-backlog-age 5m]`: one screen saying
// whether the relay is healthy and, if not, what to do. Exit 0 when healthy,
// 1 when something needs attention (usable as a Nagios / systemd check), 4
// when nothing can be read at all.

import { renderWiring } from '../admin/wiring-status.ts';
import { connectControl } from '../admin/control-client.ts';
import { assessStatus, collectStatus, configNotFound, type DestinationReport, type StatusReport } from '../admin/status-report.ts';
import { parseDuration, formatDuration, formatSize } from '../config/units.ts';
import { spoolStats } from '../intake/spool-stats.ts';
import { openStore, type Store } from '../store/index.ts';
import { RELAY_VERSION } from '../version.ts';
import { parseCommand, parsePositiveInt, usageError } from './args.ts';
import { EXIT, type CliIo } from './cli-io.ts';
import { loadCliConfig, type CliConfig } from './open-target.ts';
import { styleFor, type Style } from './style.ts';
import { webStatusLine } from '../web/web-service.ts';
import { formatAge, renderTable, truncate, type Column } from './table.ts';

const HELP = `usage: relay status [--json] [--watch [--interval 2s] [--count N]] [--max-backlog-age 5m] [--timeout 10s] [--no-warn-paused]

Daemon, intake, every destination and the store on one screen.
  --json                 machine-readable report (keys documented in docs/operations.md)
  --watch                refresh until Ctrl-C (in place on a terminal)
  --interval D           refresh period for --watch (default 2s)
  --count N              with --watch: stop after N refreshes
  --max-backlog-age D    spool records older than this need attention (default 5m)
  --timeout D            how long to wait for the daemon's answer (default 10s; then it counts as down)
  --no-warn-paused       a paused destination with a queue is only a note, not attention (exit 0)
  --config FILE          config file (default $RELAY_CONFIG, else /etc/bitbucket-relay/relay.yaml)
  --socket PATH          control socket (default admin.socket from the config)
Exit status: 0 healthy, 1 needs attention (listed), 4 nothing could be read.`;

/** Build the assessed report: from the daemon when it answers, else from the store and spool on disk. */
export async function gatherStatus(cli: CliConfig, options: { maxBacklogAgeMs: number; now?: number; timeoutMs?: number; warnPaused?: boolean }): Promise<StatusReport> {
  const { config } = cli;
  const conn = await connectControl(config.admin.socket);
  let report: StatusReport | null = null;
  let daemonDown = conn.ok ? null : conn.reason;
  if (conn.ok) {
    try {
      report = await conn.client.request<StatusReport>('status', {}, { timeoutMs: options.timeoutMs ?? 10_000 });
    } catch (err) {
      // A daemon that accepts but does not answer is as good as down for a health check.
      daemonDown = (err as Error).message;
    } finally {
      conn.client.close();
    }
  }
  if (!report) {
    let store: Store | null = null;
    let storeError: string | null = null;
    try {
      store = openStore(config.store.path, { readOnly: true });
    } catch (err) {
      storeError = (err as Error).message;
    }
    try {
      const spool = await spoolStats(config.spool.dir, options.now);
      report = collectStatus({ config, store, storeError, spool, daemonDown, configKnown: cli.valid, now: options.now });
    } finally {
      store?.close();
    }
  }
  // Variables unset only in this shell: the running daemon loaded the config with its own environment, so it judges.
  const daemonJudges = !cli.valid && cli.envOnly && report.daemon.running;
  report.config = { file: cli.file, valid: cli.valid || cli.unreadableOnly || daemonJudges, problems: daemonJudges ? [] : cli.problems };
  const assessed = assessStatus(report, { maxBacklogAgeMs: options.maxBacklogAgeMs, cliVersion: RELAY_VERSION, warnPaused: options.warnPaused });
  assessed.notes.push(...cli.envNotes);
  if (daemonJudges) {
    assessed.notes.push(...cli.problems.filter((p) => p.includes('is unset in this shell')).map((p) => `${p.replace(/^config: /, '')} (judged by the running daemon's config, which loaded with the service's environment)`));
  }
  if (!cli.valid && cli.unreadableOnly) assessed.notes.push(`this user cannot read all of ${cli.file} (${cli.problems.length} file${cli.problems.length === 1 ? '' : 's'} unreadable); run as the service user for a full check`);
  return assessed;
}

function stateText(d: DestinationReport, style: Style): string {
  switch (d.state) {
    case 'ok':
      return style.green('ok');
    case 'retrying':
      return style.yellow('retrying');
    case 'paused':
      return style.cyan('paused');
    case 'disabled':
    case 'removed':
      return style.dim(d.state);
    default:
      return style.red(d.state);
  }
}

/** The human-readable status screen. */
export function renderStatusText(report: StatusReport, style: Style, now: number = Date.parse(report.time), web: string | null = null): string {
  const { daemon, intake, store } = report;
  const out: string[] = [];
  const verdict = report.healthy ? style.green('all good') : style.red('needs attention');
  out.push(`${style.bold(`bitbucket-relay on ${daemon.node}`)}: ${verdict}`);
  out.push(
    daemon.running
      ? `daemon   running, pid ${daemon.pid}, up ${formatDuration(daemon.uptimeMs ?? 0)}, version ${daemon.version}`
      : `daemon   ${style.red(daemon.message ?? 'not running')}`,
  );
  const notFound = configNotFound(report.config.problems);
  const invalid = notFound ? ' (not found)' : ` (invalid: ${report.config.problems.length} problem${report.config.problems.length === 1 ? '' : 's'})`;
  out.push(`config   ${report.config.file ?? daemon.configFile ?? '-'}${report.config.valid ? '' : style.red(invalid)}`);
  // The first problems themselves: "invalid" alone sends the operator elsewhere to learn what.
  if (!report.config.valid && !notFound) for (const p of report.config.problems.slice(0, 3)) out.push(`         ${p.replace(/^config: /, '')}`);
  const oldest = intake.oldestAgeMs === null ? '' : `, oldest ${formatDuration(intake.oldestAgeMs)}`;
  const intakeState = intake.error ? style.red(intake.error) : `backlog ${intake.backlog}${oldest}, quarantined ${intake.quarantined}${intake.paused ? style.yellow(', paused') : ''}${intake.stuck ? style.red(`, ${intake.stuck} stuck`) : ''}`;
  out.push(`intake   ${intake.spoolDir}: ${intakeState}`);
  const size = store.error ? style.red(store.error) : `${store.bytes === null ? '?' : formatSize(store.bytes)} of ${formatSize(store.maxBytes)}${store.full ? style.red(' (full: intake paused)') : ''}`;
  out.push(`store    ${store.path}: ${size}`);
  if (report.wiring) out.push(...renderWiring(report.wiring));
  if (web) out.push(`web      ${web}`);
  out.push('');
  if (report.destinations.length === 0) out.push(report.config.valid ? 'no destinations configured' : 'destinations unknown: the config file does not validate (relay config check)');
  else {
    const columns: Column[] = [
      { header: 'DESTINATION' },
      { header: 'STATE' },
      { header: 'QUEUED', align: 'right' },
      { header: 'OLDEST' },
      { header: 'LAST SUCCESS' },
      { header: 'LAST ERROR' },
      { header: 'OK/1H', align: 'right' },
      { header: 'FAIL/1H', align: 'right' },
      { header: 'DEAD', align: 'right' },
    ];
    const rows = report.destinations.map((d) => [
      d.name,
      stateText(d, style),
      String(d.queued),
      d.oldestPendingAgeMs === null ? '-' : formatDuration(d.oldestPendingAgeMs),
      formatAge(d.lastSuccessAt, now),
      d.lastError ? `${truncate(d.lastError, 40)} (${formatAge(d.lastErrorAt, now)})` : '-',
      String(d.deliveredLastHour),
      String(d.failedLastHour),
      d.dead ? style.red(String(d.dead)) : '0',
    ]);
    out.push(renderTable(columns, rows));
  }
  if (report.attention.length) {
    out.push('', style.bold('attention:'));
    for (const a of report.attention) out.push(`  - ${a}`);
  }
  if (report.notes.length) {
    out.push('', 'notes:');
    for (const n of report.notes) out.push(`  - ${n}`);
  }
  return out.join('\n') + '\n';
}

/** Run `relay status`. */
export async function run(args: string[], io: CliIo): Promise<number> {
  const parsed = parseCommand('status', args, {
    json: { type: 'boolean' },
    watch: { type: 'boolean', short: 'w' },
    interval: { type: 'string' },
    count: { type: 'string' },
    'max-backlog-age': { type: 'string' },
    timeout: { type: 'string' },
    'no-warn-paused': { type: 'boolean' },
  }, HELP, io);
  if (!parsed.ok) return parsed.status;
  const v = parsed.values;
  const maxBacklogAgeMs = parseDuration(v['max-backlog-age'] ?? '5m');
  if (maxBacklogAgeMs === null) return usageError(io, 'status', `--max-backlog-age "${v['max-backlog-age']}" is not a duration (e.g. 5m)`);
  const intervalMs = parseDuration(v.interval ?? '2s');
  if (intervalMs === null || intervalMs < 100) return usageError(io, 'status', `--interval "${v.interval}" is not a duration of at least 100ms`);
  const timeoutMs = parseDuration(v.timeout ?? '10s');
  if (timeoutMs === null || timeoutMs === 0) return usageError(io, 'status', `--timeout "${v.timeout}" is not a duration (e.g. 10s)`);
  const count = v.count === undefined ? Infinity : parsePositiveInt(v.count);
  if (count === null) return usageError(io, 'status', `--count "${v.count}" is not a positive number`);
  const style = styleFor(io.stdout, io.env);
  const cli = loadCliConfig(v.config, io.env, v.socket);

  const once = async (): Promise<number> => {
    let report: StatusReport;
    try {
      report = await gatherStatus(cli, { maxBacklogAgeMs, timeoutMs, warnPaused: !v['no-warn-paused'] });
    } catch (err) {
      io.stderr.write(`relay status: ${(err as Error).message}\n`);
      return EXIT.unavailable;
    }
    const text = v.json ? JSON.stringify(report, null, v.watch ? undefined : 2) + '\n' : renderStatusText(report, style, undefined, webStatusLine(cli.config));
    if (v.watch && io.stdout.isTTY && !v.json) io.stdout.write(`\x1b[H\x1b[2J${text}\n${style.dim(`every ${formatDuration(intervalMs)}; Ctrl-C to stop`)}\n`);
    else io.stdout.write(text);
    // Nothing readable at all (no daemon, no store): not merely "attention".
    if (!report.daemon.running && report.store.error && report.intake.error) return EXIT.unavailable;
    return report.healthy ? EXIT.ok : EXIT.attention;
  };

  if (!v.watch) return once();
  let stop = false;
  let wake: () => void = () => {};
  const onInt = (): void => {
    stop = true;
    wake();
  };
  process.once('SIGINT', onInt);
  try {
    let status: number = EXIT.ok;
    for (let i = 0; i < count && !stop; i++) {
      if (i > 0 && !io.stdout.isTTY && !v.json) io.stdout.write('\n');
      status = await once();
      if (i + 1 < count && !stop) {
        await new Promise<void>((r) => {
          const t = setTimeout(r, intervalMs);
          wake = () => {
            clearTimeout(t);
            r();
          };
        });
      }
    }
    return status;
  } finally {
    process.off('SIGINT', onInt);
  }
}
