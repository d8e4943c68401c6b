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
import { resolveRepoArg } from './repo-arg.ts';
import { createRestClient, describeRequest, RestError, type RestRequest } from '../bitbucket/rest-client.ts';
import { HookScriptError, installScripts, POST_TRIGGERS, readRememberedId, readWiring, scriptStateFile, SCRIPT_NAME, uninstallScripts } from '../bitbucket/hook-scripts.ts';
import type { RelayConfig } from '../config/config-types.ts';
import { openRepository, repositoryIdentity } from '../git/repository-identity.ts';

const USAGE = `usage: relay hooks install|uninstall|verify [--scripts [--keep-file-hooks]] [--bitbucket-home DIR] [--repo ID] [--hook FILE] [--dry-run] [--verbose]

  install     put the relay hook into hooks/post-receive.d/90_bitbucket_relay of every
              repository (idempotent; Bitbucket's own hook files are never touched)
  uninstall   remove it again (only our file)
  verify      list repositories missing the hook or holding an outdated copy; exit 1 if any

  --bitbucket-home DIR  Bitbucket's home (holds shared/data/repositories); default: bitbucket.home
                        from --config FILE, $RELAY_CONFIG or /etc/bitbucket-relay/relay.yaml
  --repo R              only this repository: its id, PROJECT/slug or directory
  --hook FILE           hook script to install (default: this installation's hooks/post-receive)
  --dry-run             show what install/uninstall would change, change nothing
  --verbose             also list repositories that are already fine
  --scripts             install: register the hook as Bitbucket hook script "bitbucket-relay" (REST API,
                        bitbucket.api) and enable it on every project with every post trigger (push,
                        pull-request merge, branch/tag create/delete, file edit), then remove the file
                        hooks (they would double every push); uninstall: remove the script and its
                        project settings. Needs a system admin's token in bitbucket.api.tokenFile.
  --keep-file-hooks     with install --scripts: leave the file hooks in place
  verify with bitbucket.api configured also says, per repository, which wiring covers it
  (file hook, hook script on its project, reconciliation) and exits 1 if none does`;

interface HooksArgs {
  action: 'install' | 'uninstall' | 'verify';
  bitbucketHome?: string;
  config?: string;
  repo?: string;
  hook?: string;
  dryRun: boolean;
  verbose: boolean;
  scripts: boolean;
  keepFileHooks: boolean;
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
        scripts: { type: 'boolean', default: false },
        'keep-file-hooks': { type: 'boolean', default: false },
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
    scripts: values.scripts ?? false,
    keepFileHooks: values['keep-file-hooks'] ?? false,
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
  if (args.scripts && args.action !== 'verify') return runScripts(args, io, out);
  try {
    const home = resolveHome(args, io);
    const repos = await selectRepositories(home, await repoIdOf(args.repo, home));
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
      const api = apiConfig(args, io);
      if (api) return await verifyCoverage(api, repos, source, out, args.verbose);
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

/** The config when it has bitbucket.api (verify reports coverage then), else null. */
function apiConfig(args: HooksArgs, io: CliIo): RelayConfig | null {
  const file = configPath(args.config, io.env);
  if (!existsSync(file)) return null;
  const config = loadConfig(file, io.env);
  return config.bitbucket.api ? config : null;
}

/** Per repository: file hook, hook script on its project, reconciliation; exit 1 when a repository has neither hook. */
async function verifyCoverage(config: RelayConfig, repos: Awaited<ReturnType<typeof selectRepositories>>, source: Awaited<ReturnType<typeof readHookSource>>, out: (l: string) => void, verbose: boolean): Promise<number> {
  const client = createRestClient(config.bitbucket.api!);
  let scripts: Map<string, string[] | null> | null = null;
  let scriptProblem = '';
  try {
    scripts = (await readWiring(client, readRememberedId(scriptStateFile(config.store.path)))).wiring.projects;
  } catch (err) {
    scriptProblem = err instanceof RestError ? err.message : String(err);
    out(`hook scripts: cannot read them from Bitbucket: ${scriptProblem}`);
  }
  const reconcile = config.reconcile.enabled ? 'reconciliation on' : 'reconciliation off';
  let uncovered = 0;
  for (const repo of repos) {
    const file = await inspectHook(repo, source);
    const opened = await openRepository(repo.path).catch(() => null);
    const identity = repositoryIdentity({ repoPath: repo.path, env: {}, repositoryConfig: opened?.repositoryConfig ?? null, mappings: config.bitbucket.repositories, baseUrl: null });
    const triggers = scripts?.get(identity.projectKey) ?? null;
    const fileOk = !needsAttention(file);
    const scriptOk = !!triggers && POST_TRIGGERS.every((t) => triggers.includes(t));
    const parts = [
      fileOk ? 'file hook ok' : `file hook ${file.state === 'ok' ? 'present but Bitbucket trampoline missing' : file.state}`,
      scripts === null ? 'hook script unknown' : scriptOk ? `hook script ${SCRIPT_NAME} on ${identity.projectKey} (every post trigger)` : triggers ? `hook script on ${identity.projectKey} lacks triggers ${POST_TRIGGERS.filter((t) => !triggers.includes(t)).join(', ')}` : `no hook script on ${identity.projectKey}`,
      reconcile,
    ];
    const covered = fileOk || scriptOk;
    if (!covered) uncovered++;
    if (!covered || verbose || !scriptOk) out(`repository ${repo.id} ${identity.projectKey}/${identity.slug}: ${parts.join('; ')}${covered ? '' : ' — NOT COVERED by a hook'}`);
    else out(`repository ${repo.id} ${identity.projectKey}/${identity.slug}: ${parts.join('; ')}`);
  }
  out(`hooks verify: ${repos.length - uncovered} of ${repos.length} repositories covered by a hook; ${reconcile}${uncovered ? '; fix with: relay hooks install --scripts (or relay hooks install for file hooks)' : ''}`);
  return uncovered ? EXIT.attention : EXIT.ok;
}

/** `relay hooks install|uninstall --scripts`. */
async function runScripts(args: HooksArgs, io: CliIo, out: (l: string) => void): Promise<number> {
  let config: RelayConfig;
  try {
    const file = configPath(args.config, io.env);
    config = loadConfig(file, io.env);
    if (!config.bitbucket.api) throw new HookInstallError(`bitbucket.api is not configured in ${file}; add bitbucket.api.url (default http://localhost:7990) and bitbucket.api.tokenFile (a system admin's HTTP access token)`);
  } catch (err) {
    if (err instanceof HookInstallError || err instanceof ConfigError) {
      io.stderr.write(`relay hooks: ${err.message}\n`);
      return EXIT.config;
    }
    throw err;
  }
  const api = config.bitbucket.api;
  const client = createRestClient(api);
  const dry = args.dryRun;
  const write = async (req: RestRequest): Promise<unknown> => {
    if (dry) {
      out(`would send: ${describeRequest(api.url, req, api.tokenFile !== null)}`);
      return null;
    }
    return client.request(req);
  };
  const opts = { client, stateFile: scriptStateFile(config.store.path), write, dryRun: dry };
  try {
    if (args.action === 'uninstall') {
      const c = await uninstallScripts(opts);
      if (c.scriptId === null) out(`hook script ${SCRIPT_NAME}: not registered, nothing to remove`);
      else out(`hook script ${SCRIPT_NAME} (id ${c.scriptId}): ${dry ? 'would remove' : 'removed'} from ${c.removedFrom.length} projects${c.removedFrom.length ? ` (${c.removedFrom.join(', ')})` : ''} and ${dry ? 'would delete' : 'deleted'} it${dry ? ' (dry run: nothing changed)' : ''}`);
      if (c.scriptId !== null) out('the file hooks are not put back by this; run `relay hooks install` if you want them');
      return EXIT.ok;
    }
    const source = await readHookSource(args.hook);
    const c = await installScripts(source.bytes.toString('utf8'), opts);
    const what = c.created ? 'registered' : c.updated ? 'content updated' : 'unchanged';
    out(`hook script ${SCRIPT_NAME}${c.scriptId !== null ? ` (id ${c.scriptId})` : ''}: ${dry && what !== 'unchanged' ? `would be ${what}` : what}`);
    for (const key of c.enabled) out(`project ${key}: ${dry ? 'would enable' : 'enabled'} with triggers ${POST_TRIGGERS.join(', ')}`);
    let removed = 0;
    if (!args.keepFileHooks && config.bitbucket.home) {
      for (const repo of await selectRepositories(config.bitbucket.home, args.repo)) {
        const r = await uninstallHook(repo, { dryRun: dry });
        if (r.outcome === 'removed') removed++;
      }
    }
    out(
      `hooks install --scripts: script ${what}; ${dry ? 'would enable' : 'enabled'} on ${c.enabled.length} project(s); ` +
        (args.keepFileHooks ? 'file hooks kept (--keep-file-hooks): pushes may be reported twice, the relay makes one event per ref update' : `${dry ? 'would remove' : 'removed'} the file hook from ${removed} repositories (the hook script covers them)`) +
        (dry ? ' (dry run: nothing changed)' : ''),
    );
    return EXIT.ok;
  } catch (err) {
    if (err instanceof HookScriptError) {
      io.stderr.write(`relay hooks: ${err.message}\n`);
      return EXIT.attention;
    }
    if (err instanceof RestError || err instanceof HookInstallError) {
      io.stderr.write(`relay hooks: ${err.message}\n`);
      return err instanceof RestError && err.status === null ? EXIT.unavailable : EXIT.attention;
    }
    throw err;
  }
}

/** `--repo` as an id: PROJECT/slug or a directory resolves through the one resolver (resolveRepoArg). */
async function repoIdOf(repo: string | undefined, home: string): Promise<string | undefined> {
  if (repo === undefined || /^\d+$/.test(repo)) return repo;
  const r = await resolveRepoArg(repo, home);
  if (!r.ok) throw new HookInstallError(r.message);
  if (r.repo.id === null) throw new HookInstallError(`--repo ${repo}: ${r.repo.path} is not under ${home}/shared/data/repositories/<id>`);
  return String(r.repo.id);
}
