// `relay daemon --config FILE [--allow-network-fs] [--new-store]`: runs until SIGTERM/SIGINT
// (finish the records in hand, exit 0); SIGHUP reloads the config.

import { parseArgs } from 'node:util';
import { configPath, ConfigError } from '../config/load-config.ts';
import { RelayDaemon } from '../daemon/relay-daemon.ts';
import { EXIT, type CliIo } from './cli-io.ts';

const HELP = `usage: relay daemon [--config FILE] [--allow-network-fs] [--new-store]

Runs the relay: takes spool records, analyzes pushes, delivers events.
  --config FILE         config file (default $RELAY_CONFIG, else /etc/bitbucket-relay/relay.yaml)
  --allow-network-fs    start even with spool/store on a network filesystem (warns)
  --new-store           begin an empty store although one existed at store.path (it is missing)
Signals: SIGTERM/SIGINT stop cleanly, SIGHUP reloads the config.`;

/** Run the daemon in the foreground; resolves with the exit status once stopped. */
export async function run(args: string[], io: CliIo): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({ args, options: { config: { type: 'string', short: 'c' }, 'allow-network-fs': { type: 'boolean' }, 'new-store': { type: 'boolean' }, help: { type: 'boolean', short: 'h' } } }));
  } catch (err) {
    io.stderr.write(`relay daemon: ${(err as Error).message}\n${HELP}\n`);
    return EXIT.usage;
  }
  if (values.help) {
    io.stdout.write(HELP + '\n');
    return EXIT.ok;
  }
  const configFile = configPath(values.config, io.env);
  let daemon: RelayDaemon;
  try {
    daemon = await RelayDaemon.start({ configFile, env: io.env, allowNetworkFs: values['allow-network-fs'], newStore: values['new-store'] });
  } catch (err) {
    if (err instanceof ConfigError) {
      io.stderr.write(`${err.message}\nrelay daemon: not started: fix the config above (check it with \`relay config check ${configFile}\`)\n`);
      return EXIT.config;
    }
    io.stderr.write(`relay daemon: not started: ${(err as Error).message}\n`);
    return EXIT.unavailable;
  }
  return new Promise<number>((resolve) => {
    const stop = (signal: string): void => {
      daemon.log.info('stopping', { signal });
      process.off('SIGHUP', hup);
      daemon.stop().then(
        () => resolve(EXIT.ok),
        (err) => {
          io.stderr.write(`relay daemon: error while stopping: ${(err as Error).message}\n`);
          resolve(1);
        },
      );
    };
    const hup = (): void => void daemon.reload('SIGHUP');
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
    process.on('SIGHUP', hup);
  });
}
