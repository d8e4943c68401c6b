// A private RabbitMQ node for tests (Debian's rabbitmq-server), never the
// system service: its own node name, AMQP / distribution / epmd ports (all
// random, 127.0.0.1), its own Mnesia, log, config, plugins and HOME with a
// private .erlang.cookie, all under a temp dir. Users, vhosts and
// permissions come from a definitions file loaded at boot (no rabbitmqctl:
// each call would start another Erlang VM). Readiness is an AMQP connection
// that opens, not a sleep. stop() ends the node's process group (beam,
// erl_child_setup, inet_gethost) and cleanup() the epmd we started for it.

import { mkdirSync, mkdtempSync, rmSync, writeFileSync, chmodSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import amqp from 'amqplib';
import { freePort, skipWithout, spawnGroup, waitReady, type GroupChild } from './broker-process.ts';

/** The server script the tests run (the Debian wrapper /usr/sbin/rabbitmq-server would su to the rabbitmq user). */
export const RABBITMQ_SERVER_BIN = process.env.RABBITMQ_SERVER_BIN ?? '/usr/lib/rabbitmq/bin/rabbitmq-server';
const EPMD_BIN = process.env.EPMD_BIN ?? 'epmd';

/** Why the RabbitMQ suites are skipped here, or false (throws in CI when the binary is missing). */
export const rabbitSkip = (): string | false => skipWithout(existsSync('/usr/sbin/rabbitmq-server') ? RABBITMQ_SERVER_BIN : '/usr/sbin/rabbitmq-server', 'rabbitmq-server');

/** A user of the test node; `configure`/`write`/`read` are RabbitMQ permission regexes on vhost "/". */
export interface RabbitTestUser {
  name: string;
  password: string;
  configure?: string;
  write?: string;
  read?: string;
}

/** Options of startRabbitServer. */
export interface RabbitServerOptions {
  /** Extra users besides guest/guest (full rights on "/"). */
  users?: RabbitTestUser[];
  /** Also listen for AMQPS with these PEM files. */
  tls?: { cert: string; key: string; ca: string };
}

/** A running (or stopped) private RabbitMQ node. */
export interface RabbitTestServer {
  port: number;
  /** amqp://guest:guest@127.0.0.1:port */
  url: string;
  /** AMQPS port when tls was given. */
  tlsPort: number | null;
  dir: string;
  /** Milliseconds the last start took until an AMQP connection opened. */
  startedInMs: number;
  start(): Promise<void>;
  /** Graceful stop (SIGTERM; SIGKILL after 20 s); queues and messages persist. */
  stop(): Promise<void>;
  cleanup(): Promise<void>;
  output(): string;
}

/** Start a private RabbitMQ node. Takes ~4–10 s on a loaded 2-core machine. */
export async function startRabbitServer(options: RabbitServerOptions = {}): Promise<RabbitTestServer> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'relay-rabbit-'));
  const home = path.join(dir, 'home');
  for (const d of [home, path.join(dir, 'mnesia'), path.join(dir, 'log')]) mkdirSync(d);
  const cookie = path.join(home, '.erlang.cookie');
  writeFileSync(cookie, randomBytes(20).toString('hex').toUpperCase());
  chmodSync(cookie, 0o400);
  const [port, distPort, epmdPort, tlsPort] = await Promise.all([freePort(), freePort(), freePort(), options.tls ? freePort() : Promise.resolve(null)]);
  const users = [{ name: 'guest', password: 'guest', configure: '.*', write: '.*', read: '.*' }, ...(options.users ?? [])];
  writeFileSync(
    path.join(dir, 'definitions.json'),
    JSON.stringify({
      vhosts: [{ name: '/' }],
      users: users.map((u) => ({ name: u.name, password: u.password, tags: u.name === 'guest' ? 'administrator' : '' })),
      permissions: users.map((u) => ({ user: u.name, vhost: '/', configure: u.configure ?? '.*', write: u.write ?? '.*', read: u.read ?? '.*' })),
    }),
  );
  const conf = [
    `listeners.tcp.default = 127.0.0.1:${port}`,
    'loopback_users = none',
    `load_definitions = ${path.join(dir, 'definitions.json')}`,
    'log.console = false',
    'log.file.level = warning',
  ];
  if (options.tls && tlsPort) {
    conf.push(
      `listeners.ssl.default = 127.0.0.1:${tlsPort}`,
      `ssl_options.cacertfile = ${options.tls.ca}`,
      `ssl_options.certfile = ${options.tls.cert}`,
      `ssl_options.keyfile = ${options.tls.key}`,
      'ssl_options.verify = verify_none',
      'ssl_options.fail_if_no_peer_cert = false',
    );
  }
  writeFileSync(path.join(dir, 'rabbitmq.conf'), conf.join('\n') + '\n');
  writeFileSync(path.join(dir, 'enabled_plugins'), '[].\n');
  writeFileSync(path.join(dir, 'rabbitmq-env.conf'), '');
  const node = `relaytest-${randomBytes(4).toString('hex')}@localhost`;
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    LANG: 'C.UTF-8',
    HOME: home,
    RABBITMQ_NODENAME: node,
    RABBITMQ_NODE_IP_ADDRESS: '127.0.0.1',
    RABBITMQ_NODE_PORT: String(port),
    RABBITMQ_DIST_PORT: String(distPort),
    ERL_EPMD_PORT: String(epmdPort),
    ERL_EPMD_ADDRESS: '127.0.0.1',
    RABBITMQ_MNESIA_BASE: path.join(dir, 'mnesia'),
    RABBITMQ_LOG_BASE: path.join(dir, 'log'),
    RABBITMQ_CONFIG_FILE: path.join(dir, 'rabbitmq.conf'),
    RABBITMQ_ADVANCED_CONFIG_FILE: path.join(dir, 'advanced.config'),
    RABBITMQ_CONF_ENV_FILE: path.join(dir, 'rabbitmq-env.conf'),
    RABBITMQ_ENABLED_PLUGINS_FILE: path.join(dir, 'enabled_plugins'),
    RABBITMQ_PID_FILE: path.join(dir, 'rabbitmq.pid'),
    // Erlang distribution on loopback only.
    RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS: '-kernel inet_dist_use_interface {127,0,0,1}',
  };
  // Our own epmd, in the foreground, so we know its pid and end it ourselves.
  const epmd = spawnGroup(EPMD_BIN, ['-port', String(epmdPort), '-address', '127.0.0.1'], { env });
  let proc: GroupChild | null = null;
  const url = `amqp://guest:guest@127.0.0.1:${port}`;
  const server: RabbitTestServer = {
    port,
    url,
    tlsPort,
    dir,
    startedInMs: 0,
    async start() {
      const t0 = Date.now();
      const p = spawnGroup(RABBITMQ_SERVER_BIN, [], { env, cwd: dir });
      proc = p;
      let exited = false;
      void p.exited.then(() => (exited = true));
      await waitReady(
        async () => {
          const c = await amqp.connect(url, { timeout: 2000 });
          await c.close();
          return true;
        },
        `rabbitmq-server ${node} on 127.0.0.1:${port}`,
        45_000,
        () => (exited ? p.output() : null),
      );
      server.startedInMs = Date.now() - t0;
    },
    async stop() {
      await proc?.stop(20_000);
    },
    async cleanup() {
      await proc?.stop(5_000);
      await epmd.stop(2_000);
      rmSync(dir, { recursive: true, force: true });
    },
    output: () => proc?.output() ?? '',
  };
  try {
    await server.start();
  } catch (err) {
    await server.cleanup();
    throw err;
  }
  return server;
}
