// hooks/post-receive through real `git push`es to real bare repositories:
// placements, byte-exact env, spool location, failures that must not fail the push.

import t from 'tap';
import type { Test } from 'tap';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, realpathSync, statSync, symlinkSync, writeFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { parseSpoolRecord, type SpoolRecord } from '../../src/intake/spool-record.ts';
import {
  SHELLS, baseEnv, canMount, commit, fillUp, git, incomingFiles, isRoot, makeBareRepo, makeSpool, makeWorkRepo, mountTmpfs, push, readRecordFile, runHook, tempDir,
} from './hook-helpers.ts';



/** Parses the only record in the spool (fails the test if there is not exactly one). */
function onlyRecord(t: Test, spool: string): SpoolRecord {
  const files = incomingFiles(spool);
  t.equal(files.length, 1, 'exactly one record in incoming/');
  const { bytes, meta } = readRecordFile(path.join(spool, 'incoming', files[0]));
  const r = parseSpoolRecord(bytes, meta);
  if (!r.ok) throw new Error(`record does not parse: ${r.reason}`);
  return r.record;
}

/** The `remote:` lines of a push's stderr. */
function remoteLines(stderr: string): string[] {
  return stderr.split('\n').filter((l) => l.startsWith('remote:')).map((l) => l.replace(/\s+$/, ''));
}

const ENV_VALUES: Record<string, string> = {
  BB_USER_DISPLAY_NAME: 'Zoë "the pusher" O\'Brien',
  BB_COMMENT: 'multi\nline\n\nvalue\n',
  BB_CONTROL: 'tab\there \x01\x1b[0m bell\x07 del\x7f',
  BB_UNICODE: '日本語 🎉 Ünïcödé',
  BB_SHELL: '$(rm -rf /) `id` ${HOME} \\',
  BB_EMPTY: '',
  STASH_REPO_NAME: 'legacy name',
};

const placements = [
  { label: 'hooks/post-receive under /bin/sh', placement: 'post-receive' as const, shell: undefined },
  { label: 'hooks/post-receive under bash --posix', placement: 'post-receive' as const, shell: '/bin/bash --posix' },
  { label: 'hooks/post-receive.d/ via a Bitbucket-style trampoline', placement: 'post-receive.d' as const, shell: undefined },
];

for (const { label, placement, shell } of placements) {
  t.test(`${label}: one record per push, env byte-exact, refs verbatim`, async (t) => {
    const root = tempDir(t);
    const spool = makeSpool(root);
    const env = baseEnv(root);
    const bare = makeBareRepo(root, 'repo.git', placement, env, shell);
    const work = makeWorkRepo(root, 'work', env);
    const main = git(work, ['rev-parse', 'HEAD'], env).trim();

    const r = push(work, bare, ['main:refs/heads/main', 'main:refs/heads/feature/ü', 'main:refs/tags/v1'], { ...env, ...ENV_VALUES, RELAY_SPOOL_DIR: spool, SECRET_PASSWORD: 'pw-123' });
    t.equal(r.status, 0, 'push succeeds');
    t.same(remoteLines(r.stderr), [], 'the hook prints nothing');
    const rec = onlyRecord(t, spool);
    t.same(rec.env, ENV_VALUES, 'BB_*/STASH_* exactly as the pusher set them; nothing else');
    t.same(
      rec.refLines.map((l) => `${l.before} ${l.after} ${l.ref}`).sort(),
      [`${'0'.repeat(40)} ${main} refs/heads/feature/ü`, `${'0'.repeat(40)} ${main} refs/heads/main`, `${'0'.repeat(40)} ${main} refs/tags/v1`],
      'three ref lines, verbatim',
    );
    t.equal(rec.repoPath, realpathSync(bare), 'repository path resolved');
    const file = path.join(spool, 'incoming', incomingFiles(spool)[0]);
    t.equal(statSync(file).mode & 0o777, 0o640, 'record readable by owner and group only');
    const text = readFileSync(file, 'latin1');
    const nonce = /^bitbucket-relay-spool 1 (\S+)\n/.exec(text)?.[1];
    t.ok(nonce && text.endsWith(`\nend ${nonce}\n`), 'header and end marker carry the same nonce');

    // A second push: a second record, the repository path again.
    commit(work, env);
    const head = git(work, ['rev-parse', 'HEAD'], env).trim();
    rmSync(file);
    t.equal(push(work, bare, ['main:refs/heads/main'], { ...env, RELAY_SPOOL_DIR: spool }).status, 0);
    const rec2 = onlyRecord(t, spool);
    t.same(rec2.refLines, [{ before: main, after: head, ref: 'refs/heads/main' }]);
  });
}

t.test('the repository path is the physical path even when pushed through a symlink', async (t) => {
  const root = tempDir(t);
  const spool = makeSpool(root);
  const env = baseEnv(root);
  const bare = makeBareRepo(root, 'real.git', 'post-receive', env);
  symlinkSync(bare, path.join(root, 'alias.git'));
  const work = makeWorkRepo(root, 'work', env);
  t.equal(push(work, path.join(root, 'alias.git'), ['main'], { ...env, RELAY_SPOOL_DIR: spool }).status, 0);
  t.equal(onlyRecord(t, spool).repoPath, realpathSync(bare));
});

t.test('missing spool directory: the push succeeds with exactly one "remote: relay:" line', async (t) => {
  const root = tempDir(t);
  const env = baseEnv(root);
  const bare = makeBareRepo(root, 'repo.git', 'post-receive', env);
  const work = makeWorkRepo(root, 'work', env);
  const missing = path.join(root, 'no-such-spool');
  const r = push(work, bare, ['main'], { ...env, RELAY_SPOOL_DIR: missing });
  t.equal(r.status, 0, 'push succeeds');
  const lines = remoteLines(r.stderr);
  t.equal(lines.length, 1, `one remote line: ${JSON.stringify(lines)}`);
  t.match(lines[0], /^remote: relay: /);
  t.match(lines[0], new RegExp(`${missing}/incoming is missing`));
  t.match(lines[0], /from RELAY_SPOOL_DIR/, 'says where the path came from');
  t.equal(git(bare, ['rev-parse', 'refs/heads/main'], env).trim(), git(work, ['rev-parse', 'HEAD'], env).trim(), 'the ref was updated');
});

t.test('spool directory from hook.env (parsed, not sourced)', async (t) => {
  const root = tempDir(t);
  const spool = makeSpool(root, 'spool dir');
  const env = baseEnv(root);
  const bare = makeBareRepo(root, 'repo.git', 'post-receive', env);
  const work = makeWorkRepo(root, 'work', env);
  const hookEnv = path.join(root, 'hook.env');
  const marker = path.join(root, 'sourced-marker');
  // Comments, a command that sourcing would run, quotes, CRLF, a later line winning.
  writeFileSync(hookEnv, `# relay hook settings\ntouch ${marker}\nRELAY_SPOOL_DIR=/wrong/first\n  export RELAY_SPOOL_DIR="${spool}"  \r\nOTHER=1\n`);
  const r = push(work, bare, ['main'], { ...env, RELAY_HOOK_ENV: hookEnv });
  t.equal(r.status, 0);
  t.same(remoteLines(r.stderr), []);
  t.equal(onlyRecord(t, spool).refLines.length, 1);
  t.throws(() => statSync(marker), 'the file was not executed');

  // Missing hook.env → default spool, named in the message.
  const r2 = push(work, bare, ['main:refs/heads/other'], { ...env, RELAY_HOOK_ENV: path.join(root, 'absent.env') });
  t.equal(r2.status, 0);
  const lines = remoteLines(r2.stderr);
  t.equal(lines.length, isDefaultSpoolWritable() ? 0 : 1);
  if (lines.length) t.match(lines[0], /relay: .*\/var\/spool\/bitbucket-relay\/incoming is missing \(default; set RELAY_SPOOL_DIR in .*absent\.env/);
});

function isDefaultSpoolWritable(): boolean {
  try {
    return statSync('/var/spool/bitbucket-relay/incoming').isDirectory();
  } catch {
    return false;
  }
}

t.test('empty stdin (a hook script told of no refs) still writes a record', async (t) => {
  const root = tempDir(t);
  const spool = makeSpool(root);
  for (const shell of Object.values(SHELLS)) {
    const r = runHook(shell, { env: baseEnv(root, { RELAY_SPOOL_DIR: spool }), stdin: '', cwd: root });
    t.equal(r.status, 0);
    t.equal(r.stderr, '');
  }
  const files = incomingFiles(spool);
  t.equal(files.length, 2, 'one record per run');
  for (const f of files) {
    const { bytes, meta } = readRecordFile(path.join(spool, 'incoming', f));
    const p = parseSpoolRecord(bytes, meta);
    t.ok(p.ok && p.record.refLines.length === 0, 'record with no refs');
  }
});

t.test('Bitbucket hook script style: no GIT_DIR, cwd elsewhere, no PATH: the hook starts no program', async (t) => {
  const root = tempDir(t);
  const spool = makeSpool(root);
  const cwd = path.join(root, 'some-cwd');
  mkdirSync(cwd);
  const env = { RELAY_SPOOL_DIR: spool, BB_PROJECT_KEY: 'PRJ', BB_REPO_SLUG: 'repo', PATH: '/nonexistent' };
  for (const shell of [['/bin/dash'], ['/bin/bash', '--posix']]) {
    const r = spawnSync(shell[0], [...shell.slice(1), path.resolve('hooks/post-receive')], { cwd, env, input: `${'0'.repeat(40)} ${'1'.repeat(40)} refs/heads/x\n`, encoding: 'utf8' });
    t.equal(r.status, 0);
    t.equal(r.stderr, '', 'no "command not found": only builtins are used');
  }
  const files = incomingFiles(spool);
  t.equal(files.length, 2);
  const { bytes, meta } = readRecordFile(path.join(spool, 'incoming', files[0]));
  const p = parseSpoolRecord(bytes, meta);
  if (!p.ok) throw new Error(p.reason);
  t.equal(p.record.repoPath, realpathSync(cwd), 'falls back to the physical cwd');
  t.same(p.record.env, { BB_PROJECT_KEY: 'PRJ', BB_REPO_SLUG: 'repo' });
});

t.test('unwritable incoming/: push succeeds, one "relay:" line naming the permission problem', { skip: isRoot && !canMount ? 'root without mount permission cannot make a directory unwritable' : false }, async (t) => {
  const root = tempDir(t);
  const env = baseEnv(root);
  const bare = makeBareRepo(root, 'repo.git', 'post-receive', env);
  const work = makeWorkRepo(root, 'work', env);
  const spool = makeSpool(root);
  const incoming = path.join(spool, 'incoming');
  if (isRoot) {
    // root ignores modes; a read-only mount is the honest equivalent.
    if (!mountTmpfs(t, incoming, 'ro,size=64k')) throw new Error('mounting a read-only tmpfs failed');
  } else {
    spawnSync('chmod', ['0555', incoming]);
    t.teardown(() => { spawnSync('chmod', ['0755', incoming]); });
  }
  const r = push(work, bare, ['main'], { ...env, RELAY_SPOOL_DIR: spool });
  t.equal(r.status, 0, 'push succeeds');
  const lines = remoteLines(r.stderr);
  t.equal(lines.length, 1, JSON.stringify(lines));
  t.match(lines[0], new RegExp(`^remote: relay: .*no permission to create files in ${incoming}`));
});

t.test('disk full (a small tmpfs): push succeeds, one "relay:" line; works again once space returns', { skip: canMount ? false : 'needs root with mount permission for a real ENOSPC on a small tmpfs' }, async (t) => {
  const root = tempDir(t);
  const env = baseEnv(root);
  const bare = makeBareRepo(root, 'repo.git', 'post-receive', env);
  const work = makeWorkRepo(root, 'work', env);
  const spool = path.join(root, 'spool');
  mkdirSync(spool);
  if (!mountTmpfs(t, spool, 'size=64k,mode=0755')) throw new Error('mounting a small tmpfs failed');
  mkdirSync(path.join(spool, 'incoming'));
  const filler = path.join(spool, 'filler');
  fillUp(filler);
  const r = push(work, bare, ['main'], { ...env, RELAY_SPOOL_DIR: spool, BB_LONG: 'x'.repeat(8192) });
  t.equal(r.status, 0, 'push succeeds');
  const lines = remoteLines(r.stderr);
  t.equal(lines.length, 1, JSON.stringify(lines));
  t.match(lines[0], /^remote: relay: .*writing .*\.push failed \(disk full\?\)/);
  // The partial file has no end marker: the daemon will not act on it.
  const [partial] = incomingFiles(spool);
  const { bytes, meta } = readRecordFile(path.join(spool, 'incoming', partial));
  const p = parseSpoolRecord(bytes, meta);
  t.ok(!p.ok && p.incomplete, 'partial record is not a record');

  rmSync(filler);
  rmSync(path.join(spool, 'incoming', partial));
  commit(work, env);
  const r2 = push(work, bare, ['main'], { ...env, RELAY_SPOOL_DIR: spool });
  t.equal(r2.status, 0);
  t.same(remoteLines(r2.stderr), [], 'no message once space is back');
  t.equal(onlyRecord(t, spool).refLines.length, 1);
});

t.test('stdin: a last line without newline is kept; thousands of refs stream into one record', async (t) => {
  const root = tempDir(t);
  const Z = '0'.repeat(40);
  const A = 'a'.repeat(40);
  for (const [label, shell] of Object.entries(SHELLS)) {
    const spool = makeSpool(root, `spool-${label.replace(/\W/g, '')}`);
    const many = Array.from({ length: 3000 }, (_, i) => `${Z} ${A} refs/heads/b${i}`).join('\n'); // no final newline
    const started = Date.now();
    const r = runHook(shell, { env: baseEnv(root, { RELAY_SPOOL_DIR: spool }), stdin: many, cwd: root });
    t.equal(r.status, 0);
    t.equal(r.stderr, '');
    const rec = onlyRecord(t, spool);
    t.equal(rec.refLines.length, 3000, `${label}: every ref line`);
    t.equal(rec.refLines[2999].ref, 'refs/heads/b2999', `${label}: the unterminated last line too`);
    t.ok(Date.now() - started < 15_000, `${label}: linear time (${Date.now() - started} ms)`);
  }
});
