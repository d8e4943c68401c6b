// Hostile pushes, end to end through the real hook and the daemon process:
// commit messages of 5 MB, a commit touching 100,000 files, and Bitbucket
// environment values full of control characters. The daemon must cap what it
// relays (with explicit totals), stay up, and keep values byte-exact without
// letting raw control bytes into its log.

import t from 'tap';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createRelayFixture, quarantinedReasons, waitUntil } from '../helpers/relay-fixture.ts';
import { assertValidPushEvent } from '../helpers/validate-event.ts';

const MiB = 1024 * 1024;
const MESSAGE_CAP = 65_536; // analysis.maxMessageBytes default
const FILES_CAP = 3_000; // analysis.maxFilesPerCommit default

/** Archived events, whole lines only (a big event may be half-appended when we look). */
function readJsonLines(file: string): any[] {
  if (!existsSync(file)) return [];
  const text = readFileSync(file, 'utf8');
  return text.slice(0, text.lastIndexOf('\n') + 1).split('\n').filter(Boolean).map((l) => JSON.parse(l));
}

t.test('5 MB commit messages are capped (messageTruncated), the title too; events stay small', async (t) => {
  const fx = createRelayFixture({ prefix: 'relay-hostile-msg-' });
  t.teardown(() => fx.cleanup());
  const daemon = await fx.startDaemon();
  const repo = fx.createRepo('big-message');
  const git = (args: string[]): string => execFileSync('git', args, { cwd: repo.work, env: fx.pushEnv, maxBuffer: 1 << 26 }).toString().trim();

  // Many lines, then a single 5 MB line (the title alone is huge).
  const line = 'PROJ-1 lorem ipsum dolor sit amet, consectetur adipiscing elit\n';
  const manyLines = 'PROJ-1 huge message\n\n' + line.repeat(Math.ceil((5 * MiB) / line.length));
  const oneLine = 'PROJ-2 ' + 'x'.repeat(5 * MiB);
  const shas: string[] = [];
  for (const [i, message] of [manyLines, oneLine].entries()) {
    writeFileSync(path.join(repo.work, 'a.txt'), `v${i}\n`);
    const file = path.join(fx.root, `message-${i}.txt`);
    writeFileSync(file, message);
    git(['add', '-A']);
    git(['commit', '--quiet', '--no-verify', '--cleanup=verbatim', '-F', file]);
    shas.push(git(['rev-parse', 'HEAD']));
  }
  repo.push(['origin', 'main']);

  const archive = path.join(fx.root, 'events.jsonl');
  const [event] = await waitUntil(() => {
    const e = readJsonLines(archive);
    return e.length ? e : null;
  }, 'the event archived', 60_000);
  assertValidPushEvent(t, event);
  for (const sha of shas) {
    const c = event.commits[sha];
    t.ok(c, `commit ${sha.slice(0, 8)} in the event`);
    t.equal(c.messageTruncated, true, 'messageTruncated');
    t.ok(Buffer.byteLength(c.message) <= MESSAGE_CAP, `message capped to ${MESSAGE_CAP} bytes (got ${Buffer.byteLength(c.message)})`);
    t.ok(Buffer.byteLength(c.title) <= MESSAGE_CAP, `title capped too (got ${Buffer.byteLength(c.title)} bytes)`);
  }
  t.same(event.commits[shas[0]].issueKeys, ['PROJ-1'], 'issue keys still found in the capped message');
  const eventBytes = Buffer.byteLength(JSON.stringify(event));
  t.ok(eventBytes < 512 * 1024, `the whole event stays small (${eventBytes} bytes for 10 MB of messages)`);
  t.ok(daemon.output().length < 1 * MiB, 'the daemon log did not swallow the messages');
  t.equal(daemon.child.exitCode, null, 'daemon still running');
});

t.test('a commit touching 100,000 files: files capped with totals, analysis bounded', async (t) => {
  const fx = createRelayFixture({ prefix: 'relay-hostile-files-' });
  t.teardown(() => fx.cleanup());
  const daemon = await fx.startDaemon();
  const repo = fx.createRepo('wide');
  const base = repo.commit('README', 'base\n', 'base');
  repo.push(['origin', 'main']);

  // git fast-import writes the 100,000-entry tree in well under a second.
  const N = 100_000;
  const lines: string[] = ['blob', 'mark :1', 'data 6', 'hello', ''];
  lines.push('commit refs/heads/main', 'author Wide Author <wide@example.com> 1700000000 +0000', 'committer Wide Author <wide@example.com> 1700000000 +0000');
  const msg = 'PROJ-9 touch 100,000 files';
  lines.push(`data ${Buffer.byteLength(msg)}`, msg, `from ${base}`);
  for (let i = 0; i < N; i++) lines.push(`M 100644 :1 d${String(i % 100).padStart(3, '0')}/f${String(i).padStart(6, '0')}.txt`);
  execFileSync('git', ['fast-import', '--quiet'], { cwd: repo.work, env: fx.pushEnv, input: lines.join('\n') + '\n', maxBuffer: 1 << 26 });
  const wide = repo.git(['rev-parse', 'refs/heads/main']);

  const started = Date.now();
  repo.push(['origin', 'main']);
  const archive = path.join(fx.root, 'events.jsonl');
  const events = await waitUntil(() => {
    const e = readJsonLines(archive);
    return e.length === 2 ? e : null;
  }, 'both events archived', 90_000, 100);
  const elapsed = Date.now() - started;
  const event = events[1];
  assertValidPushEvent(t, event);
  const c = event.commits[wide];
  t.ok(c, 'the wide commit is in the event');
  t.equal(c.totalFiles, N, 'totalFiles counts all 100,000');
  t.equal(c.files.length, FILES_CAP, `files capped at ${FILES_CAP}`);
  t.equal(c.filesTruncated, true, 'filesTruncated');
  t.ok(c.files.every((f: { status: string }) => f.status === 'added'), 'the kept entries are real (added)');
  const eventBytes = Buffer.byteLength(JSON.stringify(event));
  t.ok(eventBytes < 2 * MiB, `event size bounded (${eventBytes} bytes)`);
  t.comment(`100,000-file commit: push → archived in ${elapsed} ms; event ${eventBytes} bytes`);
  // The log destination writes to stdout, which reaches us after the archive's fsync.
  const line = await waitUntil(() => daemon.logLines().find((l) => l.message === 'push event' && l.eventId === event.id), 'the push event in the daemon log', 10_000).catch(() => undefined);
  t.ok(line, 'logged as a push event');
  t.equal(daemon.child.exitCode, null, 'daemon still running');
});

t.test('environment values with control characters: byte-exact in the event, never raw in the log', async (t) => {
  const fx = createRelayFixture({ prefix: 'relay-hostile-env-' });
  t.teardown(() => fx.cleanup());
  const daemon = await fx.startDaemon();
  const repo = fx.createRepo('ctl');
  const sha = repo.commit('a.txt', 'a\n', 'first');
  const nasty = {
    BB_USER_NAME: 'evil\u001b[2J\u001b[31mroot\u0007',
    BB_USER_DISPLAY_NAME: "Ev\til\r\nNew: line\u0000?\u007f\u0085 'quoted' \"double\" $(id) `id` \\ end",
    BB_USER_EMAIL: 'a@b\u0008\u0008\u0008c.example',
    BB_PROJECT_KEY: 'PROJ',
    BB_REPO_SLUG: 'ctl',
  };
  // A NUL cannot travel through an environment variable; the shell sees the value up to it.
  const expectedDisplay = nasty.BB_USER_DISPLAY_NAME.split('\u0000')[0];
  const stderr = repo.push(['origin', 'main'], { ...nasty, BB_USER_DISPLAY_NAME: expectedDisplay });
  void stderr;
  const [event] = await waitUntil(() => {
    const e = readJsonLines(path.join(fx.root, 'events.jsonl'));
    return e.length ? e : null;
  }, 'the event archived');
  assertValidPushEvent(t, event);
  t.equal(event.refs[0].after, sha);
  t.equal(event.actor.name, nasty.BB_USER_NAME, 'escape sequences kept byte-exact in the event');
  t.equal(event.actor.displayName, expectedDisplay, 'tab, CR, LF, DEL, C1, quotes and $(...) kept byte-exact, nothing executed');
  t.equal(event.actor.email, nasty.BB_USER_EMAIL);
  t.equal(event.repository.projectKey, 'PROJ');
  await daemon.waitForLog((l) => l.message === 'push event');
  // Every log line is JSON; control characters inside values are escaped, never written raw.
  const raw = daemon.output();
  // eslint-disable-next-line no-control-regex
  const control = raw.replace(/\n/g, '').match(/[\u0000-\u001f\u007f]/g) ?? [];
  t.same(control, [], 'no raw control character in the daemon output');
  t.notOk(raw.split('\n').filter(Boolean).some((l) => { try { JSON.parse(l); return false; } catch { return true; } }), 'every log line is whole JSON (no line broken by a value)');
});

t.test('a ref name that is not UTF-8: the valid refs of the push are relayed, the bad one is an errors[] entry; alone it is quarantined without a retry hint', async (t) => {
  const fx = createRelayFixture({ prefix: 'relay-hostile-utf8-' });
  t.teardown(() => fx.cleanup());
  const daemon = await fx.startDaemon();
  const repo = fx.createRepo('latin1-refs');
  repo.commit('a.txt', '1\n', 'PROJ-1 first');
  // bash's $'\xe9' gives the raw byte: git accepts it in a ref name, Node's argv could not carry it.
  const push = (refspecs: string): void => {
    execFileSync('bash', ['-c', `git push --quiet origin ${refspecs}`], { cwd: repo.work, env: fx.pushEnv, stdio: 'ignore' });
  };
  push(`main HEAD:refs/heads/caf$'\\xe9'`);
  const archive = path.join(fx.root, 'events.jsonl');
  const [event] = await waitUntil(() => {
    const e = readJsonLines(archive);
    return e.length ? e : null;
  }, 'the event of the push archived', 20_000);
  assertValidPushEvent(t, event);
  t.same(event.refs.map((r: { ref: string }) => r.ref), ['refs/heads/main'], 'the valid ref is relayed');
  const bad = event.errors.find((e: { ref?: string }) => e.ref === 'refs/heads/caf\\xe9');
  t.ok(bad, 'the undecodable ref is an errors[] entry, its byte escaped');
  t.match(bad?.message, /not valid UTF-8/);
  t.same(readdirSync(path.join(fx.spoolDir, 'quarantine')), [], 'nothing quarantined');

  // A push of nothing but undecodable refs cannot be relayed: quarantined, and the note does not suggest moving it back.
  push(`HEAD:refs/heads/na$'\\xefve'`);
  const reasons = await waitUntil(() => {
    const r = quarantinedReasons(path.join(fx.spoolDir, 'quarantine'));
    return r.length ? r : null;
  }, 'the record quarantined', 20_000);
  t.match(reasons[0], /not valid UTF-8/);
  t.match(reasons[0], /refs\/heads\/na\\xefve/, 'the name is in the note, escaped');
  t.notMatch(reasons[0], /to retry once the cause is fixed: mv/, 'no retry that cannot succeed');
  t.match(reasons[0], /moving it back unchanged fails the same way/);
  t.equal(readJsonLines(archive).length, 1, 'no event for it');
  t.notOk(daemon.output().includes('\xe9'), 'the raw byte never reaches the log');
});

t.test('branch names with U+0085 / U+2028 / U+2029 never appear raw in the log; 3,000 refs make one bounded log line; BB_* values are capped with errors[] saying so', async (t) => {
  const fx = createRelayFixture({ prefix: 'relay-hostile-bounds-' });
  t.teardown(() => fx.cleanup());
  const daemon = await fx.startDaemon();
  const repo = fx.createRepo('bounds');
  const sha = repo.commit('a.txt', '1\n', 'first');
  const git = (args: string[], input?: string): string => execFileSync('git', args, { cwd: repo.work, env: fx.pushEnv, input, maxBuffer: 1 << 26 }).toString().trim();
  // Separators in ref names (git accepts them), and many refs in one push.
  const odd = ['nel\u0085x', 'ls\u2028x', 'ps\u2029x'];
  const refCount = 3000;
  const names = [...odd, ...Array.from({ length: refCount - odd.length }, (_, i) => `many/b${i}`)];
  git(['update-ref', '--stdin'], names.map((n) => `create refs/heads/${n} ${sha}\n`).join(''));
  const big = 100_000; // an environment string must stay under Linux's 128 KiB per-string limit
  const env = { BB_USER_DISPLAY_NAME: 'D'.repeat(big), BB_USER_NAME: 'u'.repeat(big), BB_PROJECT_KEY: 'PROJ', BB_REPO_SLUG: 'bounds' };
  repo.push(['origin', 'refs/heads/*:refs/heads/*'], env);

  const [event] = await waitUntil(() => {
    const e = readJsonLines(path.join(fx.root, 'events.jsonl'));
    return e.length ? e : null;
  }, 'the event archived', 45_000);
  t.equal(event.refs.length, refCount + 1, 'every ref relayed (main and the others)');
  t.ok(event.refs.some((r: { ref: string }) => r.ref === 'refs/heads/ls\u2028x'), 'the name kept exact in the event');
  const CAP = 1024;
  t.ok(Buffer.byteLength(event.actor.displayName) <= CAP, `BB_USER_DISPLAY_NAME capped (${Buffer.byteLength(event.actor.displayName)} bytes)`);
  t.ok(Buffer.byteLength(event.actor.name) <= CAP, 'BB_USER_NAME capped');
  const cut = event.errors.map((e: { message: string }) => e.message).join('\n');
  t.match(cut, new RegExp(`BB_USER_DISPLAY_NAME was ${big} bytes; cut to ${CAP}`));
  t.match(cut, new RegExp(`BB_USER_NAME was ${big} bytes; cut to ${CAP}`));

  const pushLine = await daemon.waitForLog((l) => l.message === 'push event');
  t.equal(pushLine.refsTotal, refCount + 1, 'the log line counts every ref');
  t.ok(pushLine.refs.length <= 21, `and lists a few (${pushLine.refs.length})`);
  const raw = daemon.output();
  t.same(raw.match(/[\u0085\u2028\u2029]/g) ?? [], [], 'no raw U+0085 / U+2028 / U+2029 in the daemon output');
  const longest = Math.max(...raw.split('\n').map((l) => Buffer.byteLength(l)));
  t.ok(longest <= 16 * 1024, `every log line at most 16 KiB (longest ${longest} bytes)`);
  t.notOk(raw.split('\n').filter(Boolean).some((l) => { try { JSON.parse(l); return false; } catch { return true; } }), 'every log line is whole JSON');
});
