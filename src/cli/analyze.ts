// `relay analyze --repo R [--config FILE] [--ref-lines FILE] [--stats]`
// Reads hook-style ref lines ("<old> <new> <ref>", as post-receive gets them)
// from stdin or a file and prints the PushEvent the daemon would relay — the
// same analysis code path. The operator's debugging tool.

import { existsSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { parseArgs } from 'node:util';
import type { Trigger } from '../event/push-event.ts';
import { TRIGGERS } from '../event/hook-context.ts';
import { analyzePushWithStats } from '../git/analyze-push.ts';
import { analysisOptionsFromConfig, DEFAULT_ANALYSIS_OPTIONS, type AnalysisOptions } from '../git/analysis-options.ts';
import { parseRefLines } from '../git/ref-lines.ts';
import { RepositoryUnreadableError } from '../git/repository-identity.ts';
import { EXIT, type CliIo } from './cli-io.ts';
import { resolveRepoArg } from './repo-arg.ts';

const USAGE = `usage: relay analyze --repo R [--config FILE] [--ref-lines FILE] [--trigger ID] [--stats]

Prints the PushEvent for hook-style ref lines ("<old-sha> <new-sha> <ref>"),
read from stdin or --ref-lines FILE. BB_* / STASH_* variables in the
environment are used as the hook would have seen them.

  --repo R           the repository: its numeric id (3), PROJECT/slug (ABC/api;
                     both looked up under bitbucket.home) or its directory
  --config FILE      relay config (analysis caps, base URL, identity mapping);
                     default $RELAY_CONFIG, else /etc/bitbucket-relay/relay.yaml
                     when it exists, else built-in defaults
  --ref-lines FILE   read ref lines from FILE instead of stdin
  --trigger ID       trigger to record (e.g. backfill) instead of the env's
  --stats            print the analysis cost (git processes, ms) to stderr
`;

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}

/** BB_* and STASH_* variables only: what the hook records. */
function hookEnv(env: NodeJS.ProcessEnv): Record<string, string> {
  const picked: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if ((name.startsWith('BB_') || name.startsWith('STASH_')) && value !== undefined) picked[name] = value;
  }
  return picked;
}

/**
 * The config seam: config file → analysis options and node name. An explicit --config or
 * $RELAY_CONFIG must load; the host default is used only when it exists.
 */
async function loadAnalysisSettings(configFile: string | undefined, env: NodeJS.ProcessEnv): Promise<{ options: AnalysisOptions; node: string; bitbucketHome: string | null }> {
  const { configPath, DEFAULT_PATHS, loadConfig } = await import('../config/load-config.ts');
  const file = configPath(configFile, env);
  if (configFile === undefined && env.RELAY_CONFIG === undefined && file === DEFAULT_PATHS.config && !existsSync(file)) {
    return { options: DEFAULT_ANALYSIS_OPTIONS, node: hostname(), bitbucketHome: null };
  }
  const config = loadConfig(file, env);
  return { options: analysisOptionsFromConfig(config), node: config.node, bitbucketHome: config.bitbucket.home };
}

/** Runs `relay analyze`; resolves to the exit status. */
export async function run(args: string[], io: CliIo): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      options: {
        repo: { type: 'string' },
        config: { type: 'string' },
        'ref-lines': { type: 'string' },
        trigger: { type: 'string' },
        stats: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    io.stderr.write(`relay analyze: ${(error as Error).message}\n\n${USAGE}`);
    return EXIT.usage;
  }
  if (values.help) {
    io.stdout.write(USAGE);
    return EXIT.ok;
  }
  if (values.trigger !== undefined && !(TRIGGERS as readonly string[]).includes(values.trigger)) {
    io.stderr.write(`relay analyze: --trigger must be one of ${TRIGGERS.join(', ')}\n`);
    return EXIT.usage;
  }
  if (!values.repo) {
    io.stderr.write(`relay analyze: --repo is required\n\n${USAGE}`);
    return EXIT.usage;
  }

  let settings;
  try {
    settings = await loadAnalysisSettings(values.config, io.env);
  } catch (error) {
    io.stderr.write(`relay analyze: ${(error as Error).message}\n`);
    return EXIT.config;
  }

  // The one resolver every command uses for --repo: id, PROJECT/slug or directory.
  const repo = await resolveRepoArg(values.repo, settings.bitbucketHome);
  if (!repo.ok) {
    io.stderr.write(`relay analyze: ${repo.message}\n`);
    return repo.unreadable ? EXIT.unavailable : EXIT.usage;
  }

  let text: string;
  try {
    text = values['ref-lines'] ? readFileSync(values['ref-lines'], 'utf8') : await readAll(io.stdin);
  } catch (error) {
    io.stderr.write(`relay analyze: cannot read --ref-lines ${values['ref-lines']}: ${(error as Error).message}\n`);
    return EXIT.usage;
  }
  const { lines, problems } = parseRefLines(text);
  if (problems.length > 0) {
    io.stderr.write(problems.map((p) => `relay analyze: ${p}\n`).join(''));
    return EXIT.usage;
  }

  try {
    const { event, stats } = await analyzePushWithStats({
      repoPath: repo.repo.path,
      refLines: lines,
      env: hookEnv(io.env),
      timeNs: BigInt(Date.now()) * 1_000_000n,
      host: settings.node,
      ...(values.trigger ? { trigger: values.trigger as Trigger } : {}),
    }, settings.options);
    io.stdout.write(JSON.stringify(event, null, 2) + '\n');
    if (values.stats) {
      io.stderr.write(`relay analyze: ${stats.refs} ref(s), ${stats.commitsDetailed} commit(s) in ${stats.totalMs.toFixed(1)} ms; ${stats.spawns} git process(es), ${stats.gitMs.toFixed(1)} ms in git\n`);
    }
    return event.errors.length > 0 ? EXIT.attention : EXIT.ok;
  } catch (error) {
    if (error instanceof RepositoryUnreadableError) {
      io.stderr.write(`relay analyze: ${error.message}\n`);
      return EXIT.unavailable;
    }
    throw error;
  }
}
