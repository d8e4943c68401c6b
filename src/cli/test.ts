// `relay test <dest>`: can this host reach the destination, and will it
// accept what we send? Each kind walks its own path (http: DNS → TCP
// (through the proxy if set) → TLS → HTTP), each step with its time, then a
// plain-language diagnosis. Queued kinds send one test message in the
// destination's format, signed and authenticated like real deliveries.

import type { PreflightCheck } from '../destinations/kind.ts';
import { kindOf } from '../destinations/registry.ts';
import { parseDuration } from '../config/units.ts';
import { parseCommand, usageError } from './args.ts';
import { EXIT, type CliIo } from './cli-io.ts';
import { destinationStatus, openStore, type Store } from '../store/index.ts';
import { loadCliConfig } from './open-target.ts';
import { resolveRepoArg } from './repo-arg.ts';
import { styleFor, type Style } from './style.ts';

const HELP = `usage: relay test <destination> [--timeout 10s] [--repo R] [--json]

Checks each step to the destination and sends it a ping in its format. http:
DNS → TCP (to the proxy when one is set) → proxy tunnel → TLS (certificate
subject, issuer, expiry, trust) → HTTP status, with timings and a diagnosis.
Other kinds walk their own path (file: the directory is writable).
  --timeout D      connect and response timeout (default: the destination's)
  --repo R         fills {projectKey}/{repoSlug}/{repoId} placeholders with this
                   repository: its id (3), PROJECT/slug (ABC/api; both looked up
                   under bitbucket.home) or its directory (default PROJ/repo)
  --json           machine-readable result
Runs from this shell: its HTTPS_PROXY / NO_PROXY apply, as the daemon's
environment does for the daemon (a destination's own proxy: wins in both).
Exit status: 0 the ping was accepted (http: 2xx), 1 a step failed, 2 usage, 3 config invalid.`;

/** The human-readable result. */
export function renderCheckText(c: PreflightCheck, style: Style): string {
  const out: string[] = [];
  out.push(`${style.bold(`relay test ${c.destination}`)}: ${c.target}`);
  for (const s of c.steps) {
    const word = s.result === 'ok' ? style.green('ok') : s.result === 'failed' ? style.red('FAILED') : s.result === 'warning' ? style.yellow('warning') : style.dim('skipped');
    const ms = s.ms === null ? '' : `${s.ms}ms`;
    out.push(`  ${s.step.padEnd(6)} ${word.padEnd(style.enabled ? word.length + (7 - s.result.length) : 7)} ${ms.padStart(7)}  ${s.detail}`);
  }
  out.push('', c.ok ? style.green('diagnosis:') : style.red('diagnosis:'));
  for (const d of c.diagnosis) out.push(`  - ${d}`);
  return out.join('\n') + '\n';
}

/** Run `relay test`. */
export async function run(args: string[], io: CliIo): Promise<number> {
  const parsed = parseCommand('test', args, { timeout: { type: 'string' }, repo: { type: 'string' }, json: { type: 'boolean' } }, HELP, io, { min: 1, max: 1 });
  if (!parsed.ok) return parsed.status;
  const v = parsed.values;
  const name = parsed.positionals[0];
  const timeoutMs = v.timeout === undefined ? undefined : parseDuration(v.timeout);
  if (timeoutMs === null || timeoutMs === 0) return usageError(io, 'test', `--timeout "${v.timeout}" is not a duration (e.g. 5s)`);
  const cli = loadCliConfig(v.config, io.env);
  if (!cli.valid) {
    io.stderr.write(`${cli.problems.join('\n')}\nrelay test: fix the config first (relay config check)\n`);
    return EXIT.config;
  }
  const dest = cli.config.destinations.find((d) => d.name === name);
  if (!dest) return usageError(io, 'test', `no destination named "${name}"; configured: ${cli.config.destinations.map((d) => d.name).join(', ') || 'none'}`);
  // The one resolver every command uses for --repo: id, PROJECT/slug or directory.
  const repo = v.repo === undefined ? null : await resolveRepoArg(v.repo, cli.config.bitbucket.home);
  if (repo && !repo.ok) return usageError(io, 'test', repo.message);
  const result = await kindOf(dest).check(dest, {
    env: io.env,
    node: cli.config.node,
    timeoutMs,
    repo: repo?.ok ? { projectKey: repo.repo.projectKey, repoSlug: repo.repo.slug, repoId: repo.repo.id } : undefined,
  });
  io.stdout.write(v.json ? JSON.stringify(result, null, 2) + '\n' : renderCheckText(result, styleFor(io.stdout, io.env)));
  if (result.ok && !v.json) {
    // The receiver works now: offer to send what waited for it.
    const waiting = queuedFor(cli.config.store.path, name);
    if (waiting > 0) io.stdout.write(`${waiting} ${waiting === 1 ? 'delivery is' : 'deliveries are'} queued for ${name}: send ${waiting === 1 ? 'it' : 'them'} now with \`relay retry --dest ${name}\`\n`);
  }
  return result.ok ? EXIT.ok : EXIT.attention;
}

/** Pending + in-flight deliveries of `name` in the store (0 when it cannot be read by this user). */
function queuedFor(storePath: string, name: string): number {
  let store: Store | null = null;
  try {
    store = openStore(storePath, { readOnly: true });
    return destinationStatus(store, Date.now(), [name]).find((d) => d.name === name)?.queued ?? 0;
  } catch {
    return 0;
  } finally {
    store?.close();
  }
}
