// `relay analyze`: hook-style ref lines in, the PushEvent out.
import t from 'tap';
import type { Test } from 'tap';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { run } from '../../src/cli/analyze.ts';
import type { PushEvent } from '../../src/event/push-event.ts';
import { gitFixtureFor, type GitFixture } from '../helpers/git-fixture.ts';
import { assertValidPushEvent } from '../helpers/validate-event.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

function fixtureWithPush(t: Test, message = 'first PROJ-4 #build'): { fx: GitFixture; stdin: string; sha: string } {
  const fx = gitFixtureFor(t, 'relay-cli-');
  fx.write('a', '1\n');
  const sha = fx.commit(message);
  const [line] = fx.push(['origin', 'main']);
  return { fx, stdin: `${line.before} ${line.after} ${line.ref}\n`, sha };
}

/** Runs the command in-process with captured streams. */
async function cli(args: string[], stdin: string, env: NodeJS.ProcessEnv = {}) {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  stdout.on('data', (c: Buffer) => out.push(c));
  stderr.on('data', (c: Buffer) => err.push(c));
  const code = await run(args, { stdin: Readable.from([stdin]), stdout, stderr, env });
  return { code, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() };
}

t.test('prints the PushEvent for ref lines on stdin, with BB_* from the environment', async (t) => {
  const { fx, stdin, sha } = fixtureWithPush(t);
  const env = { BB_USER_NAME: 'jdoe', BB_PROJECT_KEY: 'CORE', BB_REPO_SLUG: 'api', HOME: '/nowhere', RELAY_CONFIG: undefined };
  const r = await cli(['--repo', fx.bare, '--stats', '--config', path.join(fx.root, 'none.yaml')], stdin, env);
  t.equal(r.code, 3, 'an explicit config that does not exist is a config error');
  t.match(r.stderr, /none\.yaml.*file not found/);

  const ok = await cli(['--repo', fx.bare, '--stats'], stdin, env);
  t.equal(ok.code, 0, ok.stderr);
  const event = JSON.parse(ok.stdout) as PushEvent;
  assertValidPushEvent(t, event);
  t.match(event.repository, { projectKey: 'CORE', slug: 'api' });
  t.equal(event.actor.name, 'jdoe');
  t.same(event.refs[0].commits, [sha]);
  t.same(event.commits[sha].issueKeys, ['PROJ-4']);
  t.same(event.commits[sha].triggers, ['#build']);
  t.match(ok.stderr, /1 ref\(s\), 1 commit\(s\) in [\d.]+ ms; 1 git process\(es\)/);
  t.ok(ok.stdout.startsWith('{\n  "id"'), 'pretty JSON');
});

t.test('--ref-lines FILE, --config FILE and --trigger', async (t) => {
  const { fx, stdin, sha } = fixtureWithPush(t, `first PROJ-4 #build ${'x'.repeat(300)}`);
  const lines = path.join(fx.root, 'lines.txt');
  writeFileSync(lines, stdin);
  const config = path.join(fx.root, 'relay.yaml');
  writeFileSync(config, [
    'node: node-7',
    'bitbucket:',
    '  baseUrl: https://bb.example.com/',
    'analysis:',
    '  maxMessageBytes: 256',
    '  issueKeys: { ignore: [PROJ-4] }',
    '  triggerTags: ["#ship"]',
    '',
  ].join('\n'));
  const r = await cli(['--repo', fx.bare, '--ref-lines', lines, '--config', config, '--trigger', 'backfill'], '', {});
  t.equal(r.code, 0, r.stderr);
  const event = JSON.parse(r.stdout) as PushEvent;
  assertValidPushEvent(t, event);
  t.equal(event.node, 'node-7');
  t.equal(event.trigger, 'backfill');
  t.equal(event.commits[sha].url, `https://bb.example.com/projects/PROJ/repos/repo/commits/${sha}`);
  t.equal(Buffer.byteLength(event.commits[sha].message), 256, 'config message cap applied');
  t.equal(event.commits[sha].messageTruncated, true);
  t.same(event.commits[sha].issueKeys, [], 'config ignore list applied');
  t.same(event.commits[sha].triggers, [], 'config trigger tags replace the defaults');
});

t.test('usage and input errors are reported with exit status', async (t) => {
  const { fx, stdin } = fixtureWithPush(t);
  const noRepo = await cli([], stdin);
  t.equal(noRepo.code, 2);
  t.match(noRepo.stderr, /--repo is required/);
  const unknown = await cli(['--repo', fx.bare, '--bogus'], stdin);
  t.equal(unknown.code, 2);
  const badTrigger = await cli(['--repo', fx.bare, '--trigger', 'nope'], stdin);
  t.equal(badTrigger.code, 2);
  t.match(badTrigger.stderr, /--trigger must be one of push,/);
  const badLine = await cli(['--repo', fx.bare], 'not a ref line\n');
  t.equal(badLine.code, 2);
  t.match(badLine.stderr, /ref line 1 is not/);
  const notRepo = await cli(['--repo', path.join(fx.root, 'missing')], stdin);
  t.equal(notRepo.code, 4);
  t.match(notRepo.stderr, /cannot be read \(ENOENT\)/);
  const ghost = await cli(['--repo', fx.bare], `${'0'.repeat(40)} ${'1'.repeat(40)} refs/heads/ghost\n`);
  t.equal(ghost.code, 1, 'an event with errors exits 1');
  assertValidPushEvent(t, JSON.parse(ghost.stdout));
  const help = await cli(['--help'], '');
  t.equal(help.code, 0);
  t.match(help.stdout, /usage: relay analyze --repo R/);
});

t.test('through the real `relay` command', async (t) => {
  const { fx, stdin, sha } = fixtureWithPush(t);
  const node = process.execPath;
  const result = spawnSync(node, [path.join(ROOT, 'bin/relay.js'), 'analyze', '--repo', fx.bare], {
    input: stdin,
    env: { PATH: process.env.PATH, HOME: fx.root, BB_BASE_URL: 'https://bb.example.com' },
    encoding: 'utf8',
  });
  t.equal(result.status, 0, result.stderr);
  const event = JSON.parse(result.stdout) as PushEvent;
  assertValidPushEvent(t, event);
  t.same(Object.keys(event.commits), [sha]);
  t.equal(event.repository.baseUrl, 'https://bb.example.com');
});
