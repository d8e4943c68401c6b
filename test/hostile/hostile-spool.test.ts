// Hostile spool entries, end to end through the daemon process: binary
// garbage, truncated and empty records, symlinks (never followed: the target's
// content never shows up anywhere), FIFOs and directories, records naming a
// repository outside bitbucket.home, and a property-based fuzz (fast-check,
// seeded; CHAOS_SEED=n replays) of records fed to the running daemon. The
// daemon must never crash, never process what it should refuse, and move
// everything it refuses to quarantine/ with a reason.

import t from 'tap';
import fc from 'fast-check';
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, symlinkSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createRelayFixture, HOOK_PATH, readJsonLines, waitUntil, type RelayFixture } from '../helpers/relay-fixture.ts';
import { parseSpoolRecord } from '../../src/intake/spool-record.ts';
import { chaosSeed } from '../chaos/chaos-kit.ts';

const ZERO = '0'.repeat(40);

/** A spool record as the hook writes it (dash's `export -p` quoting). */
function recordText(repoPath: string, refLines: string[], env: Record<string, string> = {}, nonce = 'n0nce'): string {
  const q = (v: string): string => `'${v.replace(/'/g, `'\\''`)}'`;
  const exports = [['RELAY_RECORD_REPO', repoPath], ['RELAY_RECORD_HOST', 'fuzz-host'], ...Object.entries(env)].map(([k, v]) => `export ${k}=${q(v)}\n`).join('');
  return `bitbucket-relay-spool 1 ${nonce}\n${exports}refs ${nonce}\n${refLines.map((l) => l + '\n').join('')}end ${nonce}\n`;
}

/** Entries of quarantine/ by record name → reason text. */
function quarantined(fx: RelayFixture): Map<string, string> {
  const dir = path.join(fx.spoolDir, 'quarantine');
  const out = new Map<string, string>();
  const names = readdirSync(dir);
  for (const n of names) {
    const entry = n.slice(0, -'.reason.txt'.length);
    // Counted once moved in: the reason file is written (still empty for a moment) before the move.
    if (n.endsWith('.reason.txt') && names.includes(entry)) out.set(entry, readFileSync(path.join(dir, n), 'utf8'));
  }
  return out;
}

/** Set a file's times into the past (no grace: judged at once). */
function age(file: string, seconds = 600): void {
  const past = new Date(Date.now() - seconds * 1000);
  utimesSync(file, past, past);
}

/** Everything the relay wrote that an operator or consumer could see: logs, quarantine reasons, archive, store bytes. */
function everythingVisible(fx: RelayFixture, daemonOutput: string): string {
  const parts = [daemonOutput];
  for (const reason of quarantined(fx).values()) parts.push(reason);
  const archive = path.join(fx.root, 'events.jsonl');
  if (existsSync(archive)) parts.push(readFileSync(archive, 'utf8'));
  for (const f of [fx.storePath, fx.storePath + '-wal']) if (existsSync(f)) parts.push(readFileSync(f).toString('latin1'));
  return parts.join('\n');
}

t.test('garbage, truncated, empty records, symlinks, FIFOs, directories: quarantined with reasons; targets never read', async (t) => {
  const fx = createRelayFixture({ prefix: 'relay-hostile-spool-' });
  t.teardown(() => fx.cleanup());
  fx.writeConfig({ spool: { dir: fx.spoolDir, incompleteGrace: '500ms' } });
  const incoming = path.join(fx.spoolDir, 'incoming');
  const repo = fx.createRepo('app');

  // A real record, cut before its end marker: what a crash or a full disk leaves.
  const first = repo.commit('a.txt', '1\n', 'first');
  repo.push(['origin', 'main']);
  const [hookName] = fx.incoming();
  const whole = readFileSync(path.join(incoming, hookName));
  unlinkSync(path.join(incoming, hookName));
  const cut = whole.subarray(0, whole.lastIndexOf(Buffer.from('\nend ')) + 1);

  // Found by the start-up scan.
  writeFileSync(path.join(incoming, 'garbage.push'), Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0, 0, 0xff, 0xfe, 10, 0x1b, 0x5b, 0x32, 0x4a, 10]));
  writeFileSync(path.join(incoming, 'truncated.push'), cut);
  writeFileSync(path.join(incoming, 'empty.push'), '');
  for (const n of ['garbage.push', 'truncated.push', 'empty.push']) age(path.join(incoming, n));

  const daemon = await fx.startDaemon();

  // Arrive while it runs (the watcher's path).
  const secretFile = path.join(fx.root, 'secret.txt');
  const SECRET = 'TOPSECRET-7d1f0c2e-symlink-target';
  writeFileSync(secretFile, `${SECRET}\n`);
  symlinkSync(secretFile, path.join(incoming, 'to-secret.push'));
  // A symlink to a record that WOULD be valid: following it would relay a push nobody made here.
  const outside = path.join(fx.root, 'outside');
  mkdirSync(outside);
  const decoyRef = 'refs/heads/decoy-via-symlink';
  writeFileSync(path.join(outside, 'decoy.push'), recordText(repo.bare.replace(/\/$/, ''), [`${ZERO} ${first} ${decoyRef}`]));
  symlinkSync(path.join(outside, 'decoy.push'), path.join(incoming, 'to-record.push'));
  symlinkSync('/nonexistent/dangling', path.join(incoming, 'dangling.push'));
  mkdirSync(path.join(incoming, 'dir.push'));
  execFileSync('mkfifo', [path.join(incoming, 'fifo.push')]);

  // A good push afterwards still goes through.
  const second = repo.commit('a.txt', '2\n', 'second');
  repo.push(['origin', 'main']);
  const archive = path.join(fx.root, 'events.jsonl');
  await waitUntil(() => readJsonLines(archive).some((e) => e.refs[0].after === second), 'the good push archived');

  const expected: Record<string, RegExp> = {
    'garbage.push': /not a spool record/,
    'truncated.push': /end marker/,
    'empty.push': /empty|end marker/,
    'to-secret.push': /symbolic link/,
    'to-record.push': /symbolic link/,
    'dangling.push': /symbolic link/,
    'dir.push': /directory/,
    'fifo.push': /not a regular file|FIFO|fifo/,
  };
  const reasons = await waitUntil(() => {
    const q = quarantined(fx);
    return Object.keys(expected).every((n) => q.has(n)) ? q : null;
  }, 'every hostile entry in quarantine/', 10_000);
  for (const [name, pattern] of Object.entries(expected)) {
    t.match(reasons.get(name), pattern, `${name}: quarantined, reason says why`);
  }
  t.same(fx.incoming(), [], 'nothing left in incoming/');
  t.ok(lstatSync(path.join(fx.spoolDir, 'quarantine', 'to-secret.push')).isSymbolicLink(), 'the symlink was moved as a link, not copied through');
  t.equal(readFileSync(secretFile, 'utf8'), `${SECRET}\n`, 'the link target is untouched');
  t.ok(existsSync(path.join(outside, 'decoy.push')), 'the decoy record outside the spool is untouched');

  const events = readJsonLines(archive);
  t.same(events.map((e) => e.refs.map((r: { ref: string }) => r.ref)), [['refs/heads/main']], 'only the real push became an event (no decoy via symlink)');
  t.notOk(everythingVisible(fx, daemon.output()).includes(SECRET), 'the symlink target content appears nowhere (logs, reasons, archive, store)');
  t.equal(daemon.child.exitCode, null, 'daemon still running');
});

t.test('bitbucket.home set: records naming a repository outside it are refused with a reason', async (t) => {
  const fx = createRelayFixture({ prefix: 'relay-hostile-home-' });
  t.teardown(() => fx.cleanup());
  const home = path.join(fx.root, 'bbhome');
  const repos = path.join(home, 'shared', 'data', 'repositories');
  mkdirSync(repos, { recursive: true });
  fx.writeConfig({ bitbucket: { home } });
  const incoming = path.join(fx.spoolDir, 'incoming');

  // A repository where Bitbucket keeps them, with the real hook, and a clone.
  const git = (cwd: string, args: string[]): string => execFileSync('git', args, { cwd, env: fx.pushEnv }).toString().trim();
  const inside = path.join(repos, '1');
  mkdirSync(inside);
  git(inside, ['init', '--quiet', '--bare', '--initial-branch=main']);
  copyFileSync(HOOK_PATH, path.join(inside, 'hooks', 'post-receive'));
  chmodSync(path.join(inside, 'hooks', 'post-receive'), 0o755);
  const work = path.join(fx.root, 'work-inside');
  git(fx.root, ['clone', '--quiet', inside, work]);
  writeFileSync(path.join(work, 'a.txt'), 'in\n');
  git(work, ['add', '-A']);
  git(work, ['commit', '--quiet', '-m', 'inside']);
  const insideSha = git(work, ['rev-parse', 'HEAD']);

  // One outside the home (same hook), and a symlink inside the home that points at it.
  const stranger = fx.createRepo('stranger');
  const strangerSha = stranger.commit('b.txt', 'out\n', 'outside');
  symlinkSync(stranger.bare, path.join(repos, '2'));

  const daemon = await fx.startDaemon();
  git(work, ['push', '--quiet', 'origin', 'main']);
  stranger.push(['origin', 'main']);
  // Hand-made records: a "..", and the symlink's path (the hook itself would record the resolved path).
  writeFileSync(path.join(incoming, 'dotdot.push'), recordText(`${repos}/../../../../repos/stranger.git`, [`${ZERO} ${strangerSha} refs/heads/dotdot`]));
  writeFileSync(path.join(incoming, 'via-link.push'), recordText(path.join(repos, '2'), [`${ZERO} ${strangerSha} refs/heads/via-link`]));

  const archive = path.join(fx.root, 'events.jsonl');
  await waitUntil(() => readJsonLines(archive).some((e) => e.refs[0].after === insideSha), 'the push inside the home archived');
  const q = await waitUntil(() => {
    const m = quarantined(fx);
    return m.size >= 3 ? m : null;
  }, 'three refused records in quarantine/', 10_000).catch(() => quarantined(fx));
  const reasons = [...q.entries()];
  const hookRecord = reasons.find(([n]) => n !== 'dotdot.push' && n !== 'via-link.push');
  t.ok(hookRecord, 'the hook record of the outside push was quarantined');
  t.match(hookRecord?.[1], /outside the configured repository roots/, 'its reason says so');
  t.match(hookRecord?.[1], new RegExp(stranger.bare.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')), 'and names the path');
  t.match(q.get('dotdot.push'), /outside the configured repository roots/, 'a ".." path is judged where it really points');
  t.match(q.get('via-link.push'), /outside the configured repository roots/, 'a symlink inside the home that leads outside is refused');

  await new Promise((r) => setTimeout(r, 500));
  const events = readJsonLines(archive);
  t.same(events.map((e) => e.refs[0].after), [insideSha], 'only the repository inside the home produced an event');
  t.equal(events[0].repository.id, 1, 'repository id from the Bitbucket layout');
  t.same(fx.incoming(), [], 'nothing left waiting');
  t.equal(daemon.child.exitCode, null, 'daemon still running');
});

t.test('fuzz (fast-check): arbitrary and mutated records fed to the running daemon — no crash, each one processed or quarantined with a reason', async (t) => {
  const seed = chaosSeed(t);
  const fx = createRelayFixture({ prefix: 'relay-hostile-fuzz-' });
  t.teardown(() => fx.cleanup());
  fx.writeConfig({ spool: { dir: fx.spoolDir, incompleteGrace: '300ms' }, log: { format: 'json', level: 'info' } });
  const incoming = path.join(fx.spoolDir, 'incoming');
  const repo = fx.createRepo('fuzz');
  const sha = repo.commit('a.txt', 'a\n', 'base');
  repo.push(['origin', 'main']);
  const [hookName] = fx.incoming();
  const template = readFileSync(path.join(incoming, hookName));
  unlinkSync(path.join(incoming, hookName));
  const repoPath = parseSpoolRecord(template, { name: hookName, mtimeNs: 0n });
  if (!repoPath.ok) throw new Error(`template record does not parse: ${repoPath.reason}`);

  const bytes = (s: string): Buffer => Buffer.from(s, 'utf8');
  const anyString = fc.string({ unit: 'binary', maxLength: 60 });
  const record = fc.oneof(
    // arbitrary bytes
    fc.uint8Array({ maxLength: 600 }).map((b) => Buffer.from(b)),
    // the hook's record with bytes flipped
    fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 }).map((flips) => {
      const b = Buffer.from(template);
      for (const [at, v] of flips) b[at % b.length] = v;
      return b;
    }),
    // cut short
    fc.nat().map((n) => template.subarray(0, n % template.length)),
    // bytes inserted
    fc.tuple(fc.nat(), fc.uint8Array({ minLength: 1, maxLength: 40 })).map(([at, ins]) => {
      const i = at % template.length;
      return Buffer.concat([template.subarray(0, i), Buffer.from(ins), template.subarray(i)]);
    }),
    // well-formed, with arbitrary BB_* values (newlines, quotes, control characters, non-UTF-8)
    fc.dictionary(fc.stringMatching(/^BB_[A-Z_]{1,12}$/), anyString, { maxKeys: 4 }).map((env) =>
      bytes(recordText(repoPath.record.repoPath, [`${ZERO} ${sha} refs/heads/main`], env)),
    ),
    // well-formed envelope, arbitrary ref lines
    fc.array(fc.oneof(anyString, fc.constantFrom(`${ZERO} ${sha} refs/heads/x`, `${sha} ${ZERO} refs/tags/t`, `${sha} ${sha} refs/heads/same`, `${'f'.repeat(40)} ${sha} refs/heads/unknown-old`, `${ZERO} ${'e'.repeat(40)} refs/heads/missing-object`)), { maxLength: 4 }).map((lines) =>
      bytes(recordText(repoPath.record.repoPath, lines)),
    ),
    // another repository path: absolute nonsense, relative, a file, the spool itself
    fc.constantFrom('/nonexistent/repo.git', 'relative/repo', '/etc/passwd', incoming).map((p) => bytes(recordText(p, [`${ZERO} ${sha} refs/heads/main`]))),
  );
  const samples = fc.sample(record, { seed, numRuns: 120 });

  // Predict each one's fate with the parser; the daemon must match.
  const fates = new Map<string, 'quarantine' | 'process' | 'retained'>();
  samples.forEach((buf, i) => {
    const name = `fuzz-${String(i).padStart(3, '0')}.push`;
    const file = path.join(incoming, name);
    writeFileSync(file, buf);
    age(file);
    const parsed = parseSpoolRecord(buf, { name, mtimeNs: 0n });
    if (!parsed.ok) fates.set(name, 'quarantine');
    else if (parsed.record.repoPath === repoPath.record.repoPath) fates.set(name, 'process');
    else fates.set(name, 'retained'); // not a repository: kept (retried) or quarantined, never dropped
  });
  const count = (f: string): number => [...fates.values()].filter((v) => v === f).length;
  t.comment(`fuzz: ${samples.length} records — ${count('quarantine')} unparseable, ${count('process')} for the real repository, ${count('retained')} for other paths`);

  const daemon = await fx.startDaemon();
  const archive = path.join(fx.root, 'events.jsonl');
  // incoming/ first: a record moved to quarantine/ between the two reads is then seen in quarantine/, not lost from both.
  const settled = (): boolean => {
    const left = new Set(fx.incoming());
    const q = quarantined(fx);
    return [...fates].every(([name, fate]) => (fate === 'quarantine' ? q.has(name) : fate === 'process' ? !left.has(name) : true));
  };
  await waitUntil(settled, 'every fuzz record processed or quarantined', 60_000, 100).catch(() => {});
  const left = new Set(fx.incoming());
  const q = quarantined(fx);
  const wrong: string[] = [];
  for (const [name, fate] of fates) {
    const where = q.has(name) ? 'quarantine' : left.has(name) ? 'incoming' : 'processed';
    if (fate === 'quarantine' && where !== 'quarantine') wrong.push(`${name}: unparseable but ${where}`);
    if (fate === 'process' && where !== 'processed') wrong.push(`${name}: valid but ${where}${where === 'quarantine' ? ` (${q.get(name)?.split('\n')[0]})` : ''}`);
    if (fate === 'retained' && where === 'processed') wrong.push(`${name}: names no repository, yet was processed`);
    if (where === 'quarantine' && !(q.get(name) ?? '').trim()) wrong.push(`${name}: quarantined without a reason`);
  }
  t.same(wrong, [], `every record met its predicted fate (seed ${seed})`);
  const events = readJsonLines(archive);
  // One (repository, ref, before, after), one event (issue 11): many fuzzed records repeat the same update
  // (e.g. 0→sha on main with other BB_* values); each update is relayed once, every valid record processed.
  t.ok(events.length >= 1 && events.length <= count('process'), `at most one archived event per valid record (${events.length} of ${count('process')})`);
  const updates = events.flatMap((e) => e.refs.map((r: { ref: string; before: string; after: string }) => `${r.ref} ${r.before} ${r.after}`));
  t.same(updates.filter((u, i) => updates.indexOf(u) !== i), [], 'no ref update in two events');

  // Still alive and working.
  t.equal(daemon.child.exitCode, null, 'daemon still running');
  const next = repo.commit('a.txt', 'b\n', 'after the fuzz');
  repo.push(['origin', 'main']);
  await waitUntil(() => readJsonLines(archive).some((e) => e.refs.some((r: { after: string }) => r.after === next)), 'a normal push still goes through', 20_000);
  const internal = daemon.logLines().filter((l) => /internal error|uncaught|unhandled/i.test(String(l.message)));
  t.same(internal, [], 'no internal errors logged');
});
