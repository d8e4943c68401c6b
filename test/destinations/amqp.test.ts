// The amqp destination against a real RabbitMQ node on 127.0.0.1: publish
// with confirms and read back (persistent, messageId, headers), unroutable
// messages retried, missing exchange / access refused / bad login dead,
// reconnect after a broker restart, AMQPS with a private CA, and `relay
// test`'s steps. One node for the file (a start takes ~5–10 s here).

import t from 'tap';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import amqp from 'amqplib';
import { createAmqpSender } from '../../src/destinations/amqp/sender.ts';
import { checkAmqp } from '../../src/destinations/amqp/check.ts';
import { rabbitSkip, startRabbitServer } from '../helpers/rabbitmq-server.ts';
import { makePki } from '../deliver/tls-certs.ts';
import { amqpDest, delivery } from './broker-fixtures.ts';

const skip = rabbitSkip();
if (skip) {
  t.plan(0, skip);
} else {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'relay-amqp-test-'));
  const pki = makePki(tmp);
  writeFileSync(path.join(tmp, 'server.pem'), pki.serverCert);
  writeFileSync(path.join(tmp, 'server-key.pem'), pki.serverKey);
  const server = await startRabbitServer({
    users: [
      { name: 'relay', password: 'relay-pw-1' },
      { name: 'reader', password: 'reader-pw-1', configure: '^$', write: '^$' },
    ],
    tls: { cert: path.join(tmp, 'server.pem'), key: path.join(tmp, 'server-key.pem'), ca: pki.caPath },
  });
  t.comment(`rabbitmq started in ${server.startedInMs} ms`);
  t.teardown(async () => {
    await server.cleanup();
    rmSync(tmp, { recursive: true, force: true });
  });
  const conn = await amqp.connect(server.url);
  const ch = await conn.createChannel();
  t.teardown(() => conn.close().catch(() => undefined));
  const userUrl = (user: string, pw: string): string => `amqp://${user}:${pw}@127.0.0.1:${server.port}`;

  t.test('unroutable is retried; once a queue is bound: confirmed, persistent, messageId, headers', async (t) => {
    const sender = createAmqpSender(amqpDest(userUrl('relay', 'relay-pw-1')));
    t.teardown(() => sender.close());
    const lost = await sender.send(delivery('u-1'));
    t.equal(lost.outcome, 'retry', 'no queue bound: returned, not silently dropped');
    t.match(lost.reason, /unroutable: no queue is bound to exchange bitbucket for routing key push\.PRJ\.my_repo/);
    await ch.assertQueue('events', { durable: true });
    await ch.bindQueue('events', 'bitbucket', 'push.#');
    const r = await sender.send(delivery('u-1'));
    t.equal(r.outcome, 'delivered', r.detail);
    t.match(r.detail, /confirmed \(basic\.ack\)/);
    t.equal(r.target, 'amqp://***:***@127.0.0.1:' + server.port + ' exchange bitbucket key push.PRJ.my_repo', 'credentials redacted');
    const m = await ch.get('events', { noAck: true });
    t.ok(m, 'a consumer reads it back');
    if (!m) return;
    t.equal(m.fields.routingKey, 'push.PRJ.my_repo');
    t.equal(m.properties.messageId, 'u-1');
    t.equal(m.properties.deliveryMode, 2, 'persistent');
    t.equal(m.properties.contentType, 'application/cloudevents+json; charset=utf-8');
    t.equal(m.properties.headers?.['X-Relay-Delivery'], 'u-1');
    t.same(JSON.parse(m.content.toString()), { n: 'u-1' });
  });

  t.test('missing exchange (declare off), access refused, bad login: dead', async (t) => {
    const send = async (d: ReturnType<typeof amqpDest>, id: string) => {
      const s = createAmqpSender(d);
      try {
        return await s.send(delivery(id));
      } finally {
        await s.close();
      }
    };
    const missing = await send(amqpDest(server.url, { exchange: { name: 'absent', type: 'topic', declare: false } }), 'x-1');
    t.equal(missing.outcome, 'dead');
    t.match(missing.reason, /NOT_FOUND - no exchange 'absent'.*declare it, or set exchange\.declare: true/);
    const refused = await send(amqpDest(userUrl('reader', 'reader-pw-1'), { exchange: { name: 'bitbucket', type: 'topic', declare: false } }), 'x-2');
    t.equal(refused.outcome, 'dead');
    t.match(refused.reason, /access refused .*ACCESS_REFUSED - access to exchange 'bitbucket'/);
    const badLogin = await send(amqpDest(userUrl('relay', 'wrong-pw-9')), 'x-3');
    t.equal(badLogin.outcome, 'dead');
    t.match(badLogin.reason, /access refused.*Login was refused/);
    t.notMatch(JSON.stringify([missing, refused, badLogin]), /wrong-pw-9|reader-pw-1/, 'no password printed');
  });

  t.test('AMQPS with a private CA; relay test walks dns → tcp → tls → auth → publish', async (t) => {
    const dest = amqpDest(`amqps://relay:relay-pw-1@127.0.0.1:${server.tlsPort}`, { tls: { verify: true, ca: pki.caPath } });
    const s = createAmqpSender(dest);
    t.teardown(() => s.close());
    t.equal((await s.send(delivery('tls-1'))).outcome, 'delivered');
    await ch.purgeQueue('events');
    const untrusted = createAmqpSender({ ...dest, tls: { verify: true } });
    t.teardown(() => untrusted.close());
    t.equal((await untrusted.send(delivery('tls-2'))).outcome, 'retry', 'not delivered to an untrusted certificate');

    const ok = await checkAmqp(dest, { node: 'node-1' });
    // The test CA signs for one day only: the check warns that the certificate expires soon.
    t.same(ok.steps.map((s) => `${s.step}:${s.result}`), ['dns:ok', 'tcp:ok', 'tls:warning', 'auth:ok', 'publish:ok'], JSON.stringify(ok.steps));
    t.match(ok.ack, /confirmed \(basic\.ack\)/);
    t.equal(ok.target, `amqp amqps://***:***@127.0.0.1:${server.tlsPort} → exchange bitbucket routing key push.PROJ.repo (format cloudevents)`);
    t.notMatch(JSON.stringify(ok), /relay-pw-1/);
    const ping = await ch.get('events', { noAck: true });
    t.ok(ping && /dev\.bitbucket-relay\.ping/.test(ping.content.toString()), 'the ping reached the queue');

    const refused = await checkAmqp(amqpDest(userUrl('reader', 'reader-pw-1'), { exchange: { name: 'bitbucket', type: 'topic', declare: false } }), { node: 'node-1' });
    t.same(refused.steps.map((s) => `${s.step}:${s.result}`), ['dns:ok', 'tcp:ok', 'auth:ok', 'publish:failed']);
    t.match(refused.diagnosis[0], /logged in, but not allowed to publish/);
    const badLogin = await checkAmqp(amqpDest(userUrl('relay', 'nope-nope')), { node: 'node-1' });
    t.same(badLogin.steps.map((s) => `${s.step}:${s.result}`), ['dns:ok', 'tcp:ok', 'auth:failed', 'publish:skipped']);
    t.match(badLogin.diagnosis[0], /refused our login/);
  });

  // Last: it stops the node.
  t.test('broker restart: retry while down, the same sender reconnects and delivers', async (t) => {
    const sender = createAmqpSender(amqpDest(server.url, { timeout: { connectMs: 1000, ackMs: 2000 } }));
    t.teardown(() => sender.close());
    await ch.purgeQueue('events');
    t.equal((await sender.send(delivery('r-1'))).outcome, 'delivered');
    await conn.close().catch(() => undefined);
    await server.stop();
    const down = await sender.send(delivery('r-2'));
    t.equal(down.outcome, 'retry', down.detail);
    t.equal(down.pathWorks, false);
    await server.start();
    const r = await sender.send(delivery('r-2'));
    t.equal(r.outcome, 'delivered', r.detail);
    const c2 = await amqp.connect(server.url);
    t.teardown(() => c2.close());
    const ch2 = await c2.createChannel();
    const ids: string[] = [];
    for (let m = await ch2.get('events', { noAck: true }); m; m = await ch2.get('events', { noAck: true })) ids.push(String(m.properties.messageId));
    t.same(ids, ['r-1', 'r-2'], 'the persistent message survived the restart, the new one follows');
  });
}
