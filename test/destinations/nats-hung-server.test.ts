// A "server" that accepts TCP but never sends NATS's INFO greeting (a hung
// server, a proxy in front of a dead one, another service on the port): the
// nats sender must fail each attempt within timeout.connect as a retry and
// leave no socket open behind it. nats.js's connect() alone leaves its socket
// open when it times out waiting for INFO: one leaked socket per attempt.
// No nats-server needed: the far side is a plain 127.0.0.1 TCP server that
// counts the connections it holds open.

import t from 'tap';
import net from 'node:net';
import { once } from 'node:events';
import { createNatsSender } from '../../src/destinations/nats/sender.ts';
import { delivery, natsDest } from './broker-fixtures.ts';

interface MuteServer {
  url: string;
  accepted: () => number;
  open: () => number;
  close: () => void;
}

async function muteServer(): Promise<MuteServer> {
  const sockets = new Set<net.Socket>();
  let accepted = 0;
  const server = net.createServer((s) => {
    accepted++;
    sockets.add(s);
    s.on('error', () => undefined);
    s.on('close', () => sockets.delete(s));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `nats://127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    accepted: () => accepted,
    open: () => sockets.size,
    close: () => {
      for (const s of sockets) s.destroy();
      server.close();
    },
  };
}

/** Poll `fact` until true or `ms` passed; returns its last value. */
async function eventually(fact: () => boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!fact() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  return fact();
}

t.test('a server that accepts but never greets: each send retries within timeout.connect, and every socket is closed', async (t) => {
  const mute = await muteServer();
  t.teardown(() => mute.close());
  const connectMs = 300;
  const sender = createNatsSender(natsDest([mute.url], { timeout: { connectMs, ackMs: 1000 } }));
  t.teardown(() => sender.close());
  const ATTEMPTS = 5;
  for (let i = 0; i < ATTEMPTS; i++) {
    const t0 = Date.now();
    const out = await sender.send(delivery(`hung-${i}`));
    const took = Date.now() - t0;
    t.equal(out.outcome, 'retry', `attempt ${i + 1}: retry (${out.detail})`);
    t.match(out.detail, /connect: .*(no greeting|INFO).*300ms/, 'the attempt log says what did not happen');
    t.equal(out.pathWorks, false, 'counts against the circuit');
    t.ok(took < connectMs + 5000, `attempt ${i + 1} bounded by timeout.connect (${took} ms)`);
  }
  t.ok(mute.accepted() >= ATTEMPTS, `the server saw the attempts (${mute.accepted()} connections)`);
  // The fact that matters: nothing stays open on the server's side (wait for it, bounded).
  const closed = await eventually(() => mute.open() === 0, 5000);
  t.ok(closed, `no socket left open on the server (open: ${mute.open()} of ${mute.accepted()} accepted)`);
});

t.test('several servers, one hung: the sender uses the one that greets and leaves no socket on the hung one', async (t) => {
  const mute = await muteServer();
  t.teardown(() => mute.close());
  // A second "server" that greets like NATS but is not JetStream-capable: enough to tell which one the sender used.
  const greeted: net.Socket[] = [];
  const greeter = net.createServer((s) => {
    greeted.push(s);
    s.on('error', () => undefined);
    greetLikeNats(s);
  });
  greeter.listen(0, '127.0.0.1');
  await once(greeter, 'listening');
  t.teardown(() => {
    for (const s of greeted) s.destroy();
    greeter.close();
  });
  const sender = createNatsSender(natsDest([mute.url, `nats://127.0.0.1:${(greeter.address() as net.AddressInfo).port}`], { stream: null, timeout: { connectMs: 300, ackMs: 300 } }));
  t.teardown(() => sender.close());
  for (let i = 0; i < 3; i++) {
    const out = await sender.send(delivery(`two-${i}`));
    t.equal(out.outcome, 'retry', out.detail);
    t.notMatch(out.detail, /connect:/, `attempt ${i + 1} got past connect (through the greeting server): ${out.detail}`);
  }
  t.ok(await eventually(() => mute.open() === 0, 5000), `no socket left open on the hung server (open: ${mute.open()})`);
});

t.test('a server that greeted, dropped the connection and now hangs: no socket piles up while the sender tries again', async (t) => {
  let greet = true;
  const sockets = new Set<net.Socket>();
  let accepted = 0;
  const server = net.createServer((s) => {
    accepted++;
    sockets.add(s);
    s.on('error', () => undefined);
    s.on('close', () => sockets.delete(s));
    if (!greet) return;
    greetLikeNats(s);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.teardown(() => {
    for (const s of sockets) s.destroy();
    server.close();
  });
  const sender = createNatsSender(natsDest([`nats://127.0.0.1:${(server.address() as net.AddressInfo).port}`], { stream: null, timeout: { connectMs: 300, ackMs: 300 } }));
  t.teardown(() => sender.close());
  const first = await sender.send(delivery('drop-1'));
  t.match(first.detail, /^publish: /, `connected, the publish went unanswered: ${first.detail}`);
  // The server drops every connection and from now on accepts without greeting.
  greet = false;
  for (const s of sockets) s.destroy();
  const before = accepted;
  // Time in which a self-reconnecting client would have made several attempts.
  await new Promise((r) => setTimeout(r, 1500));
  for (let i = 2; i <= 4; i++) {
    const out = await sender.send(delivery(`drop-${i}`));
    t.equal(out.outcome, 'retry', out.detail);
  }
  t.ok(accepted > before, `the sender tried again (${accepted - before} connections since the drop)`);
  t.ok(await eventually(() => sockets.size === 0, 5000), `no socket left open on the server (open: ${sockets.size} of ${accepted - before} since the drop)`);
});

/** Greets like a NATS server and answers PING; then nothing (a publish times out). */
function greetLikeNats(s: net.Socket): void {
  s.write('INFO {"server_id":"fake","version":"2.9.0","proto":1,"max_payload":1048576,"jetstream":true}\r\n');
  s.on('data', (b) => {
    if (b.toString().includes('PING')) s.write('PONG\r\n');
  });
}
