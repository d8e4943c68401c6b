// End to end into NATS JetStream: real `git push`es through the real hook,
// the daemon as a child process, a real nats-server behind a cuttable TCP
// proxy, a consumer in the test reading the stream back.
//  - a push storm with the broker stopped in the middle and restarted:
//    nothing lost, per-repository order kept, no duplicate in the stream;
//  - the daemon SIGKILLed after its publish reached the stream but before
//    the PubAck came back: the redelivery after the restart is dropped by
//    JetStream (same Nats-Msg-Id), the stream holds the event once.

import t from 'tap';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager, type JsMsg } from '@nats-io/jetstream';
import { openStore } from '../../src/store/store.ts';
import { createRelayFixture, undeliveredCount, waitUntil, RELAY_BIN } from '../helpers/relay-fixture.ts';
import { natsSkip, startNatsServer } from '../helpers/nats-server.ts';
import { startTcpProxy } from '../helpers/tcp-proxy.ts';

const skip = natsSkip();
const execFileAsync = promisify(execFile);

function busConfig(port: number, ackTimeout: string): Record<string, unknown> {
  return {
    destinations: [
      {
        name: 'bus',
        type: 'nats',
        servers: [`nats://127.0.0.1:${port}`],
        subject: 'bitbucket.push.{projectKey}.{repoSlug}',
        stream: { name: 'BITBUCKET', create: true },
        retry: { baseDelay: '50ms', maxDelay: '500ms' },
        timeout: { connect: '1s', ack: ackTimeout },
      },
    ],
  };
}

/** Every message of the stream, in stream order. */
async function readStream(nc: NatsConnection, expected: number): Promise<JsMsg[]> {
  const consumer = await jetstream(nc).consumers.get('BITBUCKET');
  const out: JsMsg[] = [];
  while (out.length < expected) {
    const m = await consumer.next({ expires: 2000 });
    if (!m) break;
    out.push(m);
  }
  return out;
}

if (skip) {
  t.plan(0, skip);
} else {
  t.test('push storm, broker stopped and restarted: nothing lost, order per repository, no duplicates', async (t) => {
    const server = await startNatsServer();
    t.teardown(() => server.cleanup());
    const fx = createRelayFixture({ config: busConfig(server.port, '2s') });
    t.teardown(() => fx.cleanup());
    await fx.startDaemon();
    const repos = ['alpha', 'beta', 'gamma'].map((name) => ({ name, repo: fx.createRepo(name), shas: [] as string[] }));
    const push = (round: number): void => {
      for (const r of repos) {
        r.shas.push(r.repo.commit('f.txt', `${r.name} ${round}\n`, `${r.name} change ${round}`));
        r.repo.push(['origin', 'main'], { BB_PROJECT_KEY: 'PROJ', BB_REPO_SLUG: r.name });
      }
    };
    for (let i = 0; i < 3; i++) push(i);
    await server.stop();
    for (let i = 3; i < 6; i++) push(i);
    await server.start();
    for (let i = 6; i < 9; i++) push(i);
    const total = repos.length * 9;

    const nc = await connect({ servers: server.url });
    t.teardown(() => nc.close());
    const jsm = await jetstreamManager(nc);
    await waitUntil(async () => (await jsm.streams.info('BITBUCKET').catch(() => null))?.state.messages === total && undeliveredCount(fx, 'bus') === 0, `${total} messages in the stream and every delivery delivered`, 45_000, 200);
    const msgs = await readStream(nc, total);
    t.equal(msgs.length, total, 'every push is in the stream');
    const ids = msgs.map((m) => m.headers?.get('Nats-Msg-Id'));
    t.equal(new Set(ids).size, total, 'no duplicate (each Nats-Msg-Id once)');
    t.equal((await jsm.streams.info('BITBUCKET')).state.messages, total, 'no message added by a resend');
    for (const r of repos) {
      const mine = msgs.filter((m) => m.subject === `bitbucket.push.PROJ.${r.name}`).map((m) => (m.json() as { data: { refs: { after: string }[] } }).data.refs[0].after);
      t.same(mine, r.shas, `${r.name}: every push, in push order`);
    }
    const first = msgs[0];
    t.equal(first.headers?.get('content-type'), 'application/cloudevents+json; charset=utf-8');
    t.equal((first.json() as { type: string }).type, 'dev.bitbucket-relay.push');
  });

  t.test('daemon SIGKILLed between publish and PubAck: the redelivery is de-duplicated by JetStream', async (t) => {
    const server = await startNatsServer();
    t.teardown(() => server.cleanup());
    const proxy = await startTcpProxy({ port: server.port });
    t.teardown(() => proxy.close());
    // A long ack timeout: the daemon is still waiting for the PubAck when it is killed.
    const fx = createRelayFixture({ config: busConfig(proxy.port, '30s') });
    t.teardown(() => fx.cleanup());
    let daemon = await fx.startDaemon();
    const repo = fx.createRepo('svc');
    const env = { BB_PROJECT_KEY: 'PROJ', BB_REPO_SLUG: 'svc' };
    repo.commit('a.txt', 'a\n', 'first');
    repo.push(['origin', 'main'], env);
    const nc = await connect({ servers: server.url });
    t.teardown(() => nc.close());
    const jsm = await jetstreamManager(nc);
    const messages = async (): Promise<number> => (await jsm.streams.info('BITBUCKET').catch(() => null))?.state.messages ?? 0;
    await waitUntil(async () => (await messages()) === 1 && undeliveredCount(fx, 'bus') === 0, 'the first push delivered');

    // The publish still reaches the server; its PubAck is lost on the way back.
    await proxy.setMode('drop-replies');
    const sha = repo.commit('b.txt', 'b\n', 'second');
    repo.push(['origin', 'main'], env);
    await waitUntil(async () => (await messages()) === 2, 'the second publish stored by JetStream');
    t.equal(undeliveredCount(fx, 'bus'), 1, 'the daemon has not seen the PubAck: the delivery is still open');
    daemon.child.kill('SIGKILL');
    await daemon.exited;

    await proxy.setMode('pass');
    daemon = await fx.startDaemon();
    await waitUntil(() => undeliveredCount(fx, 'bus') === 0, 'the redelivery acknowledged', 30_000);
    t.equal(await messages(), 2, 'JetStream dropped the redelivery: the event is in the stream once');
    const msgs = await readStream(nc, 2);
    t.equal((msgs[1].json() as { data: { refs: { after: string }[] } }).data.refs[0].after, sha);
    // The attempt log says what happened: the resend was acknowledged as a duplicate.
    const store = openStore(fx.storePath, { readOnly: true });
    t.teardown(() => store.close());
    const attempts = store.db.prepare(`SELECT delivery_id AS deliveryId, outcome, target, detail FROM attempts WHERE destination = 'bus' ORDER BY attempts.id`).all() as { deliveryId: string; outcome: string; target: string; detail: string | null }[];
    const last = attempts.at(-1)!;
    t.equal(last.outcome, 'delivered');
    t.equal(last.target, 'bitbucket.push.PROJ.svc');
    t.match(last.detail, /^PubAck stream BITBUCKET seq 2 \(duplicate: already stored\)$/, 'the redelivery met the msg-id de-duplication');
    t.ok(daemon.child.exitCode === null, 'the restarted daemon runs on');

    // relay show: the subject, the message headers and the ack of each attempt.
    const show = fx.relay(['show', last.deliveryId]);
    t.equal(show.status, 0, show.stderr);
    t.match(show.stdout, /publish bitbucket\.push\.PROJ\.svc \(stream BITBUCKET\)/);
    t.match(show.stdout, new RegExp(`Nats-Msg-Id: ${last.deliveryId}`));
    t.match(show.stdout, /content-type: application\/cloudevents\+json/);
    t.match(show.stdout, /PubAck stream BITBUCKET seq 2 \(duplicate: already stored\)/);

    // relay test: every step to the broker, and a ping acknowledged by the stream.
    // Run asynchronously: the TCP proxy in front of the server lives in this process.
    const check = await execFileAsync(process.execPath, [RELAY_BIN, 'test', 'bus', '--json', '--config', fx.configFile], { env: { ...process.env, NODE_OPTIONS: '' } });
    const result = JSON.parse(check.stdout);
    t.equal(result.ok, true, check.stdout);
    t.same(result.steps.map((s: { step: string; result: string }) => `${s.step}:${s.result}`), ['dns:ok', 'tcp:ok', 'auth:ok', 'publish:ok']);
    t.match(result.ack, /^PubAck stream BITBUCKET seq 3$/);
  });
}
