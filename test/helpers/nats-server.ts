// A private nats-server (Debian's /usr/sbin/nats-server, JetStream on) for
// tests: 127.0.0.1, a random port, its store under a temp dir, a config file
// for users / tokens / nkeys / TLS. Never the system service. It can be
// stopped and started again on the same port and store (broker outages).

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { freePort, skipWithout, spawnGroup, waitReady, type GroupChild } from './broker-process.ts';

/** The binary the tests run. */
export const NATS_SERVER_BIN = process.env.NATS_SERVER_BIN ?? '/usr/sbin/nats-server';

/** Why the NATS suites are skipped here, or false (throws in CI when the binary is missing). */
export const natsSkip = (): string | false => skipWithout(NATS_SERVER_BIN, 'nats-server');

/** One account user of the test server. */
export interface NatsTestUser {
  user?: string;
  password?: string;
  /** Public nkey (U...) of an nkey user. */
  nkey?: string;
  /** Subjects this user may publish to (default: all). */
  publishAllow?: string[];
}

/** Options of startNatsServer. */
export interface NatsServerOptions {
  users?: NatsTestUser[];
  token?: string;
  /** PEM files: server certificate, key, and (for client certificates) the CA. */
  tls?: { cert: string; key: string; ca?: string };
  /** More server config lines, as written (e.g. operator / resolver for JWT auth). */
  extra?: string;
}

/** A running (or stopped) private nats-server. */
export interface NatsTestServer {
  port: number;
  /** nats://127.0.0.1:port (tls://… with TLS). */
  url: string;
  dir: string;
  /** Start again after stop(), same port and store. */
  start(): Promise<void>;
  /** Stop (SIGTERM, then SIGKILL); the store stays. */
  stop(): Promise<void>;
  /** SIGKILL the server. */
  kill(): Promise<void>;
  /** Stop and delete the store. */
  cleanup(): Promise<void>;
  output(): string;
}

function confString(v: string): string {
  return JSON.stringify(v);
}

function configText(port: number, storeDir: string, o: NatsServerOptions): string {
  const lines = [`listen: "127.0.0.1:${port}"`, `jetstream { store_dir: ${confString(storeDir)} }`];
  if (o.users?.length) {
    const users = o.users.map((u) => {
      const fields: string[] = [];
      if (u.user !== undefined) fields.push(`user: ${confString(u.user)}`);
      if (u.password !== undefined) fields.push(`password: ${confString(u.password)}`);
      if (u.nkey !== undefined) fields.push(`nkey: ${confString(u.nkey)}`);
      if (u.publishAllow) {
        // A JetStream publisher needs its inbox for the PubAck and the JS API for stream info.
        fields.push(`permissions: { publish: { allow: ${JSON.stringify(u.publishAllow)} }, subscribe: { allow: ["_INBOX.>"] } }`);
      }
      return `{ ${fields.join(', ')} }`;
    });
    lines.push(`authorization { users: [ ${users.join(', ')} ] }`);
  } else if (o.token) {
    lines.push(`authorization { token: ${confString(o.token)} }`);
  }
  if (o.tls) {
    const t = [`cert_file: ${confString(o.tls.cert)}`, `key_file: ${confString(o.tls.key)}`];
    if (o.tls.ca) t.push(`ca_file: ${confString(o.tls.ca)}`);
    lines.push(`tls { ${t.join(', ')} }`);
  }
  if (o.extra) lines.push(o.extra);
  return lines.join('\n') + '\n';
}

/** Wait for the server's INFO line on a plain TCP connection (clients are accepted from then on). */
function infoLine(port: number): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port });
    const timer = setTimeout(() => (s.destroy(), resolve(false)), 2000);
    s.once('data', (chunk) => {
      clearTimeout(timer);
      s.destroy();
      resolve(chunk.toString().startsWith('INFO '));
    });
    s.once('error', (err) => (clearTimeout(timer), reject(err)));
  });
}

/** Start a private JetStream-enabled nats-server. */
export async function startNatsServer(options: NatsServerOptions = {}): Promise<NatsTestServer> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'relay-nats-'));
  const storeDir = path.join(dir, 'jetstream');
  mkdirSync(storeDir);
  const port = await freePort();
  const conf = path.join(dir, 'nats.conf');
  writeFileSync(conf, configText(port, storeDir, options));
  let proc: GroupChild | null = null;
  const start = async (): Promise<void> => {
    const p = spawnGroup(NATS_SERVER_BIN, ['-c', conf]);
    proc = p;
    let exited = false;
    void p.exited.then(() => (exited = true));
    await waitReady(() => infoLine(port), `nats-server on 127.0.0.1:${port}`, 20_000, () => (exited ? p.output() : null));
  };
  await start();
  return {
    port,
    url: `${options.tls ? 'tls' : 'nats'}://127.0.0.1:${port}`,
    dir,
    start,
    async stop() {
      await proc?.stop(10_000);
    },
    async kill() {
      proc?.kill('SIGKILL');
      await proc?.stop(0);
    },
    async cleanup() {
      await proc?.stop(5_000);
      rmSync(dir, { recursive: true, force: true });
    },
    output: () => proc?.output() ?? '',
  };
}
