// End to end into RabbitMQ: real `git push`es through the real hook, the
// daemon as a child process, a private RabbitMQ node, a durable queue bound
// to the exchange and read back by a consumer in the test. The broker is
// stopped during a push storm and started again: nothing is lost and each
// repository's events arrive in push order (RabbitMQ does not de-duplicate:
// a resend after a lost confirm carries the same messageId, and the order is
// judged on first occurrences, as a consumer de-duplicating by messageId sees it).

import t from 'tap';
import amqp from 'amqplib';
import { createRelayFixture, undeliveredCount, waitUntil } from '../helpers/relay-fixture.ts';
import { rabbitSkip, startRabbitServer } from '../helpers/rabbitmq-server.ts';

const skip = rabbitSkip();

if (skip) {
  t.plan(0, skip);
} else {
  t.test('push storm into RabbitMQ, broker stopped and restarted: nothing lost, order per repository', async (t) => {
    const server = await startRabbitServer({ users: [{ name: 'relay', password: 'relay-pw-1' }] });
    t.teardown(() => server.cleanup());
    t.comment(`rabbitmq started in ${server.startedInMs} ms`);
    const setup = await amqp.connect(server.url);
    const ch = await setup.createChannel();
    await ch.assertExchange('bitbucket', 'topic', { durable: true });
    await ch.assertQueue('pushes', { durable: true });
    await ch.bindQueue('pushes', 'bitbucket', 'push.#');
    await setup.close();

    const fx = createRelayFixture({
      config: {
        destinations: [
          {
            name: 'mq',
            type: 'amqp',
            url: `amqp://127.0.0.1:${server.port}/`,
            auth: { username: 'relay', password: 'relay-pw-1' },
            exchange: { name: 'bitbucket', type: 'topic' },
            routingKey: 'push.{projectKey}.{repoSlug}',
            retry: { baseDelay: '50ms', maxDelay: '500ms' },
            timeout: { connect: '1s', ack: '2s' },
          },
        ],
      },
    });
    t.teardown(() => fx.cleanup());
    const daemon = await fx.startDaemon();
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
    await waitUntil(() => undeliveredCount(fx, 'mq') === 0 && fx.incoming().length === 0, 'every delivery confirmed', 45_000, 200);

    const conn = await amqp.connect(server.url);
    t.teardown(() => conn.close());
    const rch = await conn.createChannel();
    const msgs: amqp.GetMessage[] = [];
    for (let m = await rch.get('pushes', { noAck: true }); m; m = await rch.get('pushes', { noAck: true })) msgs.push(m);
    const firstSeen = new Map<string, amqp.GetMessage>();
    for (const m of msgs) if (!firstSeen.has(String(m.properties.messageId))) firstSeen.set(String(m.properties.messageId), m);
    t.equal(firstSeen.size, total, `every push is in the queue (${msgs.length - firstSeen.size} resends with the same messageId)`);
    for (const r of repos) {
      const mine = [...firstSeen.values()].filter((m) => m.fields.routingKey === `push.PROJ.${r.name}`).map((m) => JSON.parse(m.content.toString()).data.refs[0].after);
      t.same(mine, r.shas, `${r.name}: every push, in push order`);
    }
    const one = msgs[0];
    t.equal(one.properties.deliveryMode, 2, 'persistent');
    t.equal(one.properties.contentType, 'application/cloudevents+json; charset=utf-8');
    t.equal(one.properties.headers?.['X-Relay-Delivery'], one.properties.messageId);
    t.notMatch(daemon.output(), /relay-pw-1/, 'the password is never logged');
  });
}
