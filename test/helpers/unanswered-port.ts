// A 127.0.0.1 port whose connects are never answered, as when a firewall
// drops SYNs: a stopped process listens with a backlog of 1, two connections
// fill its accept queue, and the kernel drops the SYN of every later one.
// (The other way to get this, an unroutable address, leaves loopback.)

import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';

/** The port, and how to let everything go. */
export interface UnansweredPort {
  port: number;
  close(): Promise<void>;
}

const LISTENER = `const s = require('node:net').createServer(() => {});
s.listen({ port: 0, host: '127.0.0.1', backlog: 1 }, () => process.stdout.write(s.address().port + '\\n'));`;

/** Start the listener, stop it (SIGSTOP), fill its queue; connects to `port` then hang. */
export async function startUnansweredPort(): Promise<UnansweredPort> {
  const child: ChildProcess = spawn(process.execPath, ['-e', LISTENER], { stdio: ['ignore', 'pipe', 'inherit'], env: { PATH: process.env.PATH } });
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout!.once('data', (d: Buffer) => resolve(Number(d.toString().trim())));
    child.once('exit', (code) => reject(new Error(`listener exited (${code}) before listening`)));
  });
  process.kill(child.pid!, 'SIGSTOP');
  // Fill the accept queue until a connect no longer completes at once.
  const fillers: net.Socket[] = [];
  for (let i = 0; i < 16; i++) {
    const s = net.connect(port, '127.0.0.1');
    s.on('error', () => {});
    fillers.push(s);
    const connected = await new Promise<boolean>((resolve) => {
      s.once('connect', () => resolve(true));
      setTimeout(() => resolve(false), 200);
    });
    if (!connected) break;
  }
  return {
    port,
    close: async () => {
      for (const s of fillers) s.destroy();
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGKILL');
      await exited;
    },
  };
}
