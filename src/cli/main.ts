// `relay` entry point: dispatches to one module per command (src/cli/<name>.ts,
// each exporting `run(args, io)`), loaded lazily so `relay status` does not
// pay for the daemon's dependencies.

import { processIo, EXIT, type CliIo, type CommandRun } from './cli-io.ts';

/** Command name → module path and one-line summary for --help. */
const COMMANDS: Record<string, { module: string; summary: string }> = {
  daemon: { module: './daemon.ts', summary: 'run the relay daemon (systemd runs this)' },
  analyze: { module: './analyze.ts', summary: 'print the PushEvent for hook-style ref lines on stdin' },
  hooks: { module: './hooks.ts', summary: 'install, uninstall or verify the post-receive hook in Bitbucket repositories' },
  status: { module: './status.ts', summary: 'health of daemon, intake, destinations and store (exit 1 when something needs attention)' },
  deliveries: { module: './deliveries.ts', summary: 'recent deliveries, newest first (filter by destination, repository, time, failures)' },
  show: { module: './show.ts', summary: 'one delivery: request (secrets redacted), body, every attempt' },
  redeliver: { module: './redeliver.ts', summary: 'send a delivery again, or a destination\'s pending / delivered / dead deliveries' },
  retry: { module: './retry.ts', summary: 'send a destination\'s pending deliveries now (after fixing its receiver)' },
  dlq: { module: './dlq.ts', summary: 'dead letters: list, retry or drop' },
  quarantine: { module: './quarantine.ts', summary: 'spool records the daemon set aside: list (with reason and age), retry or drop' },
  pause: { module: './pause.ts', summary: 'stop sending to a destination (deliveries keep queueing)' },
  resume: { module: './resume.ts', summary: 'resume sending to a paused destination' },
  test: { module: './test.ts', summary: 'check DNS, TCP, proxy, TLS and HTTP to a destination and send it a ping' },
  backfill: { module: './backfill.ts', summary: 'replay a branch\'s history as backfill events through the queue' },
  config: { module: './config.ts', summary: 'config check [FILE]: validate and print the effective config (secrets redacted)' },
};

function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((c) => c.length));
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`);
  return [
    'usage: relay <command> [options]',
    '',
    'commands:',
    ...lines,
    '',
    'Run `relay <command> --help` for a command\'s options.',
    'Config: --config FILE, else $RELAY_CONFIG, else /etc/bitbucket-relay/relay.yaml.',
  ].join('\n');
}

/** Run `relay` with argv (without node and script); resolves to the exit status. */
export async function main(argv: string[], io: CliIo = processIo()): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    io.stdout.write(usage() + '\n');
    return name ? EXIT.ok : EXIT.usage;
  }
  if (name === '--version' || name === '-V') {
    const { RELAY_VERSION, RELAY_RUNTIME } = await import('../version.ts');
    io.stdout.write(`bitbucket-relay ${RELAY_VERSION} (node ${process.versions.node}, ${RELAY_RUNTIME})\n`);
    return EXIT.ok;
  }
  const command = COMMANDS[name];
  if (!command) {
    io.stderr.write(`relay: unknown command "${name}"\n\n${usage()}\n`);
    return EXIT.usage;
  }
  const mod = (await import(command.module)) as { run: CommandRun };
  return mod.run(rest, io);
}
