// End to end: real git pushes through the real hook, the daemon as a real
// process, events on disk (file destination) and at a real HTTP receiver.

import t from 'tap';
import { writeFileSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { createRelayFixture, quarantinedReasons, readJsonLines, waitUntil } from '../helpers/relay-fixture.ts';
import { startReceiver } from '../helpers/receiver.ts';
import { assertValidPushEvent } from '../helpers/validate-event.ts';

t.test('pushes made while the daemon is down are processed at start, in order', async (t) => {
  const fx = createRelayFixture();
  t.teardown(() => fx.cleanup());
  const repo = fx.createRepo('app');
  const shas: string[] = [];
  for (let i = 1; i <= 3; i++) {
    shas.push(repo.commit('a.txt', `v${i}\n`, `change ${i}`));
    repo.push(['origin', 'main']);
  }
  t.equal(fx.incoming().length, 3, 'three records wait in the spool');
  const daemon = await fx.startDaemon();
  const archive = path.join(fx.root, 'events.jsonl');
  const events = await waitUntil(() => {
    const e = readJsonLines(archive);
    return e.length === 3 ? e : null;
  }, 'three archived events');
  t.same(events.map((e) => e.refs[0].after), shas, 'events archived in push order');
  t.same(events.map((e) => e.refs[0].change), ['create', 'update', 'update']);
  t.same(events.map((e) => e.refs[0].commits), shas.map((sha) => [sha]), 'each event lists the commit its push brought');
  for (const e of events) assertValidPushEvent(t, e);
  await waitUntil(() => fx.incoming().length === 0, 'spool drained');
  // The first push's walk read the queued ones' (git/walk-ahead.ts): they started no git.
  // The log line comes after the event is durable: wait for it.
  const logged = await waitUntil(() => {
    const lines = daemon.output().split('\n').filter((l) => l.includes('push event'));
    return lines.length === 3 ? lines : null;
  }, 'three push event log lines');
  t.same(logged.map((l) => /walkedAhead[":= ]+true/.test(l)), [false, true, true], 'the later pushes were walked ahead');
  t.same(logged.map((l) => /gitSpawns[":= ]+0\b/.test(l)), [false, true, true], 'and cost no git process');
  daemon.child.kill('SIGTERM');
  const exit = await daemon.exited;
  t.equal(exit.code, 0, 'SIGTERM → exit 0');
  t.match(daemon.output(), /relay daemon stopped/);
});

t.test('a running daemon picks up new pushes; BB_* env reaches the event', async (t) => {
  const fx = createRelayFixture();
  t.teardown(() => fx.cleanup());
  const daemon = await fx.startDaemon();
  const repo = fx.createRepo('svc');
  const sha = repo.commit('x.txt', 'x\n', 'PROJ-7 add x');
  repo.push(['origin', 'main'], {
    BB_PROJECT_KEY: 'PROJ',
    BB_REPO_SLUG: 'svc',
    BB_USER_NAME: 'jdoe',
    BB_USER_DISPLAY_NAME: 'Jane "JD" Doe\nÅsa',
  });
  const [event] = await waitUntil(() => {
    const e = readJsonLines(path.join(fx.root, 'events.jsonl'));
    return e.length ? e : null;
  }, 'an archived event');
  assertValidPushEvent(t, event);
  t.equal(event.repository.projectKey, 'PROJ');
  t.equal(event.repository.slug, 'svc');
  t.equal(event.actor.name, 'jdoe');
  t.equal(event.actor.displayName, 'Jane "JD" Doe\nÅsa', 'quotes, newline and non-ASCII survive byte-exact');
  t.same(event.commits[sha].issueKeys, ['PROJ-7']);
  const line = await daemon.waitForLog((l) => l.message === 'push event');
  t.equal(line.eventId, event.id, 'log line carries the event id');
});

t.test('missing spool directory: the push succeeds with one relay: line', async (t) => {
  const fx = createRelayFixture();
  t.teardown(() => fx.cleanup());
  const repo = fx.createRepo('app');
  repo.commit('a.txt', 'a\n', 'one');
  const res = spawnSync('git', ['push', 'origin', 'main'], { cwd: repo.work, env: { ...fx.pushEnv, RELAY_SPOOL_DIR: path.join(fx.root, 'does-not-exist') } });
  t.equal(res.status, 0, 'push succeeded');
  const relayLines = res.stderr.toString().split('\n').filter((l) => /remote: relay:/.test(l));
  t.equal(relayLines.length, 1, 'exactly one relay: line');
  t.match(relayLines[0], /does-not-exist/);
});

t.test('a corrupt record is quarantined with a reason; the daemon keeps going', async (t) => {
  const fx = createRelayFixture();
  t.teardown(() => fx.cleanup());
  const daemon = await fx.startDaemon();
  writeFileSync(path.join(fx.spoolDir, 'incoming', 'garbage-1.push'), Buffer.from([0, 1, 2, 255, 10, 10]));
  const repo = fx.createRepo('app');
  repo.commit('a.txt', 'a\n', 'after the garbage');
  repo.push(['origin', 'main']);
  await waitUntil(() => readJsonLines(path.join(fx.root, 'events.jsonl')).length === 1, 'the good push archived');
  const quarantine = path.join(fx.spoolDir, 'quarantine');
  const names = await waitUntil(() => {
    const n = readdirSync(quarantine);
    return n.length >= 2 ? n : null;
  }, 'the record and its reason in quarantine/');
  const reasonFile = names.find((n) => n.includes('garbage-1') && n.endsWith('.reason.txt'));
  t.ok(reasonFile, 'reason file next to the record');
  t.ok(readFileSync(path.join(quarantine, reasonFile!), 'utf8').length > 10, 'reason says something');
  t.equal(daemon.child.exitCode, null, 'daemon still running');
});

t.test('http destination: the event reaches a receiver as CloudEvents, signed, with a delivery id', async (t) => {
  const receiver = await startReceiver();
  t.teardown(() => receiver.close());
  const fx = createRelayFixture({
    config: {
      destinations: [
        { name: 'ci', type: 'http', url: `${receiver.url}/hook?token=abcd1234secret`, format: 'cloudevents', secret: 'shh-very-secret', retry: { baseDelay: '50ms', maxDelay: '200ms' } },
      ],
    },
  });
  t.teardown(() => fx.cleanup());
  const daemon = await fx.startDaemon();
  const repo = fx.createRepo('api');
  const sha = repo.commit('a.txt', 'a\n', 'first');
  repo.push(['origin', 'main']);
  await waitUntil(() => receiver.requests.length >= 1, 'a delivery');
  const req = receiver.requests[0];
  const body = JSON.parse(req.body.toString());
  t.equal(body.specversion, '1.0');
  t.equal(body.data.refs[0].after, sha);
  t.match(req.headers['x-relay-delivery'], /^[0-9a-f-]{36}$/);
  t.match(req.headers['x-hub-signature'], /^sha256=[0-9a-f]{64}$/);
  await waitUntil(() => daemon.logLines().some((l) => /deliver/i.test(l.message) && l.deliveryId), 'a delivery log line', 5000).catch(() => null);
  t.notMatch(daemon.output(), /shh-very-secret|abcd1234secret/, 'no secret in any log line');
});

t.test('a config reload that fails validation keeps the running config', async (t) => {
  const fx = createRelayFixture();
  t.teardown(() => fx.cleanup());
  const daemon = await fx.startDaemon();
  writeFileSync(fx.configFile, readFileSync(fx.configFile, 'utf8') + '\nbogusKey: 1\n');
  daemon.child.kill('SIGHUP');
  const rejected = await daemon.waitForLog((l) => /config reload rejected/.test(l.message));
  t.match(rejected.message, /unknown key "bogusKey"/);
  const repo = fx.createRepo('app');
  repo.commit('a.txt', 'a\n', 'still flowing');
  repo.push(['origin', 'main']);
  await waitUntil(() => readJsonLines(path.join(fx.root, 'events.jsonl')).length === 1, 'event archived with the old config');
  t.equal(daemon.child.exitCode, null);
});

t.test('the daemon refuses to start on an invalid config, naming the place', async (t) => {
  const fx = createRelayFixture({ config: { destinations: [{ name: 'x', type: 'http', url: 'htp://x' }] } });
  t.teardown(() => fx.cleanup());
  const r = fx.relay(['daemon', '--config', fx.configFile]);
  t.equal(r.status, 3);
  t.match(r.stderr, /relay\.yaml:\d+:\d+: destinations\[0\]\.url: "htp:\/\/x" is not an http\(s\) URL/);
  t.match(r.stderr, /not started/);
});

t.test('an unusable file destination stops the start with a message naming the path', async (t) => {
  const fx = createRelayFixture();
  t.teardown(() => fx.cleanup());
  const blocker = path.join(fx.root, 'blocker');
  writeFileSync(blocker, 'a file where a directory should be');
  fx.writeConfig({ destinations: [{ name: 'archive', type: 'file', path: path.join(blocker, 'sub', 'events.jsonl') }] });
  const repo = fx.createRepo('app');
  repo.commit('a.txt', 'a\n', 'waits in the spool');
  repo.push(['origin', 'main']);
  const r = fx.relay(['daemon', '--config', fx.configFile]);
  t.equal(r.status, 4, 'exit status: unavailable');
  t.match(r.stderr, /not started: .*blocker/);
  t.equal(fx.incoming().length, 1, 'the push waits in the spool, not lost');
});

t.test('a record whose repository is gone is quarantined with the reason, not retried forever', async (t) => {
  const fx = createRelayFixture();
  t.teardown(() => fx.cleanup());
  const repo = fx.createRepo('doomed');
  repo.commit('a.txt', 'a\n', 'pushed, then the repository is deleted');
  repo.push(['origin', 'main']);
  rmSync(repo.bare, { recursive: true, force: true });
  const daemon = await fx.startDaemon();
  const quarantine = path.join(fx.spoolDir, 'quarantine');
  const [reason] = await waitUntil(() => (quarantinedReasons(quarantine).length ? quarantinedReasons(quarantine) : null), 'a quarantined record');
  t.match(reason, /doomed\.git/);
  t.equal(fx.incoming().length, 0, 'out of incoming/');
  await daemon.waitForLog((l) => /cannot be processed; quarantined/.test(l.message));
  t.equal(daemon.child.exitCode, null, 'daemon still running');
});
