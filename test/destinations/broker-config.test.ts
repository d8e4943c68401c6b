// nats and amqp destination configs through the real loader: normalized
// values and defaults, and each mistake reported as file:line:col, key path
// and what to do. Secrets stay out of printed config.

import t from 'tap';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfigText, ConfigError, formatConfigProblem } from '../../src/config/load-config.ts';
import { configSecrets, redactedConfig } from '../../src/destinations/registry.ts';
import type { NatsDestination } from '../../src/destinations/nats/index.ts';
import type { AmqpDestination } from '../../src/destinations/amqp/index.ts';

const dir = mkdtempSync(join(tmpdir(), 'relay-broker-config-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const file = join(dir, 'relay.yaml');

function problems(text: string): string[] {
  try {
    parseConfigText(text, file, {});
  } catch (err) {
    if (err instanceof ConfigError) return err.problems.map(formatConfigProblem);
    throw err;
  }
  return [];
}

t.test('nats: normalized, with defaults and the stream default config', async (t) => {
  writeFileSync(join(dir, 'nats.pw'), 'nats-secret-pw\n');
  const c = parseConfigText(
    `destinations:
  - name: bus
    type: nats
    servers: nats://n1.example.com:4222
    subject: bitbucket.push.{projectKey}.{repoSlug}
    stream: { name: BITBUCKET, create: true }
    auth: { username: relay, passwordFile: nats.pw }
`,
    file,
    {},
  );
  const d = c.destinations[0] as NatsDestination;
  t.equal(d.type, 'nats');
  t.same(d.servers, ['nats://n1.example.com:4222']);
  t.same(d.stream, { name: 'BITBUCKET', create: true, subjects: ['bitbucket.push.*.*'], maxAgeMs: 7 * 86_400_000, duplicateWindowMs: 120_000, storage: 'file', replicas: 1 });
  t.same(d.auth, { username: 'relay', password: 'nats-secret-pw' });
  t.same(d.timeout, { connectMs: 10_000, ackMs: 30_000 });
  t.equal(d.format, 'cloudevents');
  t.equal(d.tls.enabled, false);
  t.ok(configSecrets(c).includes('nats-secret-pw'));
  t.notMatch(JSON.stringify(redactedConfig(c)), /nats-secret-pw/);
});

t.test('nats: mistakes named with line, column and key', async (t) => {
  const p = problems(`destinations:
  - name: bus
    type: nats
    servers: [http://n1:4222]
    subject: "bitbucket.push.>"
    stream: { name: "my.stream" }
    auth: { username: relay, password: x, token: y }
`);
  t.match(p.join('\n'), /relay\.yaml:4:\d+: destinations\[0\]\.servers\[0\]: "http:\/\/n1:4222" is not a NATS server; write nats:\/\/host:4222 or tls:\/\/host:4222/);
  t.match(p.join('\n'), /relay\.yaml:5:\d+: destinations\[0\]\.subject: "bitbucket\.push\.>" has a wildcard/);
  t.match(p.join('\n'), /relay\.yaml:6:\d+: destinations\[0\]\.stream\.name: "my\.stream" is not a stream name/);
  t.match(p.join('\n'), /destinations\[0\]\.auth: give one kind of credentials/);
  // A key of another kind is caught by the schema, before normalization.
  t.match(problems('destinations:\n  - name: bus\n    type: nats\n    servers: nats://h:4222\n    subject: s\n    url: http://x\n').join('\n'), /relay\.yaml:6:5: destinations\[0\]\.url: .*(does not apply to type: nats|unknown key)/);
  t.match(problems('destinations:\n  - { name: bus, type: nats, servers: nats://h:4222 }\n').join('\n'), /missing required key "subject"/);
});

t.test('amqp: normalized, and mistakes named', async (t) => {
  const c = parseConfigText(
    `destinations:
  - name: mq
    type: amqp
    url: amqps://relay:mq-secret-pw@rabbit.example.com/prod
    exchange: bitbucket
    routingKey: push.{projectKey}.{repoSlug}
`,
    file,
    {},
  );
  const d = c.destinations[0] as AmqpDestination;
  t.same(d.exchange, { name: 'bitbucket', type: 'topic', declare: false });
  t.equal(d.routingKey, 'push.{projectKey}.{repoSlug}');
  t.same(d.timeout, { connectMs: 10_000, ackMs: 30_000 });
  t.ok(configSecrets(c).includes('mq-secret-pw'));
  t.notMatch(JSON.stringify(redactedConfig(c)), /mq-secret-pw/);

  const p = problems(`destinations:
  - name: mq
    type: amqp
    url: http://rabbit:5672
    exchange: { name: amq.topic, declare: true }
    routingKey: x
    tls: { verify: false }
`);
  t.match(p.join('\n'), /relay\.yaml:4:\d+: destinations\[0\]\.url: "http:\/\/rabbit:5672" is not an AMQP URL; write amqp:\/\/host:5672\/vhost/);
  t.match(p.join('\n'), /destinations\[0\]\.exchange\.name: "amq\.topic": names starting with amq\. are reserved/);
  t.match(problems('destinations:\n  - { name: mq, type: amqp, url: "amqp://h", exchange: x }\n').join('\n'), /missing required key "routingKey"/);
});
