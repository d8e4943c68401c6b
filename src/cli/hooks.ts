// `relay hooks install|uninstall|verify`: our post-receive hook in every
// Bitbucket repository (or one, with --repo). Prints only what changed or
// needs attention, then a summary line; `verify` exits 1 when any repository
// lacks the current hook.

import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { EXIT, type CliIo } from './cli-io.ts';
import { configPath, loadConfig, ConfigError } from '../config/load-config.ts';
import {
  HookInstallError,
  inspectHook,
  installHook,
  needsAttention,
  readHookSource,
  selectRepositories,
  uninstallHook,
  type HookStatus,
} from '../install/bitbucket-hooks.ts';
import { repositoryHookPaths } from '../install/bitbucket-layout.ts';

const USAGE = `usage: relay hooks install|uninstall|verify [--bitbucket-home DIR] [--repo ID] [--hook FILE] [--dry-run] [--verbose]

  install     put the relay hook into hooks/post-receive.d/90_bitbucket_relay of every
              repository (idempotent; Bitbucket's own hook files are never touched)
  uninstall   remove it again (only our file)
  verify      list repositories missing the hook or holding an outdated copy; exit 1 if any

  --bitbucket-home DIR  Bitbucket's home (holds shared/data/repositories); default: bitbucket.home
                        from --config FILE, $RELAY_CONFIG or /etc/bitbucket-relay/relay.yaml
  --repo ID             only the repository with this numeric id
  --hook FILE           hook script to install (default: this installation's hooks/post-receive)
  --dry-run             show what install/uninstall would change, change nothing
  --verbose             also list repositories that are already fine`;

interface HooksArgs {
  action: 'install' | 'uninstall' | 'verify';
  bitbucketHome?: string;
  config?: string;
  repo?: string;
  hook?: string;
  dryRun: boolean;
  verbose: boolean;
}

/** Parse `relay hooks` arguments; returns a usage message string on error. */
export function parseHooksArgs(args: string[]): HooksArgs | string {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      options: {
        'bitbucket-home': { type: 'string' },
        config: { type: 'string' },
        repo: { type: 'string' },
        hook: { type: 'string' },
        'dry-run': { type: 'boolean', default: false },
        verbose: { type: 'boolean', short: 'v', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (err) {
    return `relay hooks: ${(err as Error).message}\n\n${USAGE}`;
  }
  const { values, positionals } = parsed;
  if (values.help) return USAGE;
  const [action, ...extra] = positionals;
  if (action !== 'install' && action !== 'uninstall' && action !== 'verify') {
    return `relay hooks: ${action ? `unknown action "${action}"` : 'missing action'}; use install, uninstall or verify\n\n${USAGE}`;
  }
  if (extra.length) return `relay hooks: unexpected argument "${extra[0]}"\n\n${USAGE}`;
  return {
    action,
    bitbucketHome: values['bitbucket-home'],
    config: values.config,
    repo: values.repo,
    hook: values.hook,
    dryRun: values['dry-run'] ?? false,
    verbose: values.verbose ?? false,
  };
}

/** Bitbucket home from the flag, else from the config file (when one exists). */
function resolveHome(args: HooksArgs, io: CliIo): string {
  if (args.bitbucketHome) return args.bitbucketHome;
  const file = configPath(args.config, io.env);
  if (args.config === undefined && !existsSync(file)) {
    throw new HookInstallError(`no --bitbucket-home given and no config at ${file}; pass --bitbucket-home DIR (the directory holding shared/data/repositories)`);
  }
  const config = loadConfig(file, io.env);
  if (!config.bitbucket.home) {
    throw new HookInstallError(`no --bitbucket-home given and bitbucket.home is not set in ${file}; pass --bitbucket-home DIR or set bitbucket.home`);
  }
  return config.bitbucket.home;
}

function describeProblem(status: HookStatus): string {
  const { hookFile, trampoline } = repositoryHookPaths(status.repository.path);
  const parts: string[] = [];
  if (status.state === 'missing') parts.push(`missing: ${hookFile}`);
  if (status.state === 'outdated') parts.push(`outdated (content or mode differs): ${hookFile}`);
  if (status.state === 'no-hooks-dir') parts.push(`no hooks/ directory in ${status.repository.path} (not a Bitbucket repository, or still being created)`);
  if (!status.trampoline && status.state !== 'no-hooks-dir') parts.push(`no Bitbucket trampoline ${trampoline}: nothing in post-receive.d runs`);
  return parts.join('; ');
}

/** `relay hooks …`: resolves to the exit status. */
export async function run(argv: string[], io: CliIo): Promise<number> {
  const args = parseHooksArgs(argv);
  if (typeof args === 'string') {
    const help = argv.includes('--help') || argv.includes('-h');
    (help ? io.stdout : io.stderr).write(args + '\n');
    return help ? EXIT.ok : EXIT.usage;
  }
  const out = (line: string): void => void io.stdout.write(line + '\n');
  try {
    const home = resolveHome(args, io);
    const repos = await selectRepositories(home, args.repo);
    const dry = args.dryRun ? ' (dry run: nothing changed)' : '';

    if (args.action === 'uninstall') {
      let removed = 0;
      for (const repo of repos) {
        const r = await uninstallHook(repo, { dryRun: args.dryRun });
        if (r.outcome === 'removed') removed++;
        if (r.outcome === 'removed' || args.verbose) out(`repository ${repo.id}: ${r.outcome === 'removed' ? (args.dryRun ? 'would remove' : 'removed') : 'no hook'}`);
      }
      out(`hooks uninstall: ${args.dryRun ? 'would remove' : 'removed'} ${removed} of ${repos.length} repositories${dry}`);
      return EXIT.ok;
    }

    const source = await readHookSource(args.hook);
    if (args.action === 'verify') {
      let bad = 0;
      for (const repo of repos) {
        const status = await inspectHook(repo, source);
        if (needsAttention(status)) {
          bad++;
          out(`repository ${repo.id}: ${describeProblem(status)}`);
        } else if (args.verbose) out(`repository ${repo.id}: ok`);
      }
      if (bad === 0) {
        out(`hooks verify: all ${repos.length} repositories have the current hook`);
        return EXIT.ok;
      }
      out(`hooks verify: ${bad} of ${repos.length} repositories need attention; fix with: relay hooks install --bitbucket-home ${home}`);
      return EXIT.attention;
    }

    const counts = { installed: 0, updated: 0, unchanged: 0, skipped: 0, noTrampoline: 0 };
    for (const repo of repos) {
      const r = await installHook(repo, source, { dryRun: args.dryRun });
      const warn = r.trampoline ? '' : '; warning: no Bitbucket hooks/post-receive trampoline, the hook will not run there';
      if (!r.trampoline && r.outcome !== 'skipped-no-hooks-dir') counts.noTrampoline++;
      switch (r.outcome) {
        case 'installed':
        case 'updated':
          counts[r.outcome]++;
          out(`repository ${repo.id}: ${args.dryRun ? `would be ${r.outcome}` : r.outcome}${warn}`);
          break;
        case 'unchanged':
          counts.unchanged++;
          if (args.verbose || warn) out(`repository ${repo.id}: unchanged${warn}`);
          break;
        case 'skipped-no-hooks-dir':
          counts.skipped++;
          out(`repository ${repo.id}: skipped, no hooks/ directory (not a Bitbucket repository, or still being created)`);
          break;
      }
    }
    out(
      args.dryRun
        ? `hooks install (dry run, nothing changed): would install ${counts.installed}, would update ${counts.updated}; ${counts.unchanged} unchanged, ${counts.skipped} skipped of ${repos.length} repositories`
        : `hooks install: ${counts.installed} installed, ${counts.updated} updated, ${counts.unchanged} unchanged, ${counts.skipped} skipped of ${repos.length} repositories`,
    );
    return counts.skipped || counts.noTrampoline ? EXIT.attention : EXIT.ok;
  } catch (err) {
    if (err instanceof HookInstallError || err instanceof ConfigError) {
      io.stderr.write(`relay hooks: ${err.message}\n`);
      return EXIT.config;
    }
    throw err;
  }
}
