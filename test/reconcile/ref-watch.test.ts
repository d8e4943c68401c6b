// RefWatch on real bare repositories: a ref moved by git is noticed; the
// watch budget is kept (repositories beyond it are left to the interval, one
// warning); ignored ref namespaces are not watched; a read that races a ref
// change is detected by its own bracket.

import t from 'tap';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { RefWatch } from '../../src/reconcile/ref-watch.ts';
import { readRefFiles, refSignature } from '../../src/reconcile/ref-files.ts';
import { waitUntil } from '../helpers/relay-fixture.ts';

const GIT_ENV = { ...process.env, GIT_AUTHOR_NAME: 'W', GIT_AUTHOR_EMAIL: 'w@example.com', GIT_COMMITTER_NAME: 'W', GIT_COMMITTER_EMAIL: 'w@example.com', GIT_CONFIG_NOSYSTEM: '1' };

function bareRepo(root: string, name: string): { dir: string; git: (args: string[], input?: string) => string; commit: (msg: string) => string } {
  const dir = path.join(root, `${name}.git`);
  execFileSync('git', ['init', '--quiet', '--bare', dir], { env: { ...GIT_ENV, HOME: root } });
  const git = (args: string[], input?: string): string => execFileSync('git', [`--git-dir=${dir}`, ...args], { env: { ...GIT_ENV, HOME: root }, input, stdio: ['pipe', 'pipe', 'pipe'] }).toString().trim();
  const commit = (msg: string): string => {
    const blob = git(['hash-object', '-w', '--stdin'], `${msg}\n`);
    const tree = git(['mktree'], `100644 blob ${blob}\tf\n`);
    return git(['commit-tree', tree, '-m', msg]);
  };
  return { dir, git, commit };
}

function logCollector(): { warn: (m: string, f?: object) => void; info: () => void; warnings: string[] } {
  const warnings: string[] = [];
  return { warn: (m: string) => void warnings.push(m), info: () => undefined, warnings };
}

t.test('a ref moved by git update-ref is noticed; the budget leaves the rest to the interval; ignored namespaces are not watched', async (t) => {
  const root = mkdtempSync(path.join(tmpdir(), 'relay-ref-watch-'));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  const a = bareRepo(root, 'a');
  const b = bareRepo(root, 'b');
  const c1 = a.commit('one');
  a.git(['update-ref', 'refs/heads/main', c1]);
  a.git(['update-ref', 'refs/pull-requests/1/from', c1]);
  b.git(['update-ref', 'refs/heads/main', b.commit('b')]);

  const noticed: string[] = [];
  const log = logCollector();
  const dirsA = readRefFiles(a.dir).dirs;
  t.ok(dirsA.includes('refs/pull-requests/1'), 'the read lists the pull-request directory');
  const wanted = 1 + dirsA.filter((d) => !d.startsWith('refs/pull-requests')).length; // the repository + refs dirs not ignored
  const w = new RefWatch({ onNotice: (r) => noticed.push(r), ignoreRefs: () => ['refs/pull-requests/**'], limit: wanted, log });
  t.teardown(() => w.close());
  w.sync(a.dir, dirsA);
  t.equal(w.directories, wanted, 'every directory of a but the ignored namespace');
  t.equal(w.repositories, 1);
  w.sync(b.dir, readRefFiles(b.dir).dirs);
  t.equal(w.directories, wanted, 'budget kept');
  t.equal(w.repositories, 1, 'b is not (fully) watched');
  t.equal(log.warnings.length, 1, 'one warning');
  t.match(log.warnings[0], /max_user_watches/);

  a.git(['update-ref', 'refs/heads/main', a.commit('two'), c1]);
  await waitUntil(() => (noticed.includes(a.dir) ? true : null), 'a notice for a');
  t.notOk(noticed.includes(b.dir), 'b is left to the interval');
  noticed.length = 0;

  // pack-refs replaces packed-refs in the repository directory: noticed too.
  a.git(['pack-refs', '--all']);
  await waitUntil(() => (noticed.includes(a.dir) ? true : null), 'a notice for pack-refs');

  // Dropping a frees its watches for b.
  w.drop(a.dir);
  t.equal(w.directories, 0);
  w.sync(b.dir, readRefFiles(b.dir).dirs);
  t.equal(w.repositories, 1, 'b watched now');
});

t.test('a read brackets itself: its signature before equals the one after when nothing moved, and differs when a ref moved meanwhile', async (t) => {
  const root = mkdtempSync(path.join(tmpdir(), 'relay-ref-read-'));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  const a = bareRepo(root, 'a');
  const c1 = a.commit('one');
  a.git(['update-ref', 'refs/heads/main', c1]);
  a.git(['update-ref', 'refs/tags/v1', c1]);
  const snap = readRefFiles(a.dir);
  t.equal(refSignature(a.dir, snap.dirs), snap.sigBefore, 'consistent read');
  t.same([...snap.refs.keys()].sort(), ['refs/heads/main', 'refs/tags/v1']);
  // A ref moved after the read: the signature after differs from the one the read took.
  a.git(['update-ref', 'refs/heads/main', a.commit('two'), c1]);
  t.not(refSignature(a.dir, snap.dirs), snap.sigBefore, 'a move after the read shows');
});
