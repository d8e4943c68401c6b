// The object-store reader against git itself: for every object of real
// repositories (loose, packed with OFS and REF deltas, 64-bit pack offsets,
// alternates) it gives git's type, and whole tag bodies byte for byte; where
// it is not sure it says so (null) and analysis asks git instead.
import t from 'tap';
import type { Test } from 'tap';
import { execFileSync } from 'node:child_process';
import { closeSync, openSync, readdirSync, readSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { analyzePushWithStats } from '../../src/git/analyze-push.ts';
import { ObjectStore } from '../../src/git/object-store.ts';
import { GitRunner } from '../../src/git/run-git.ts';
import { readTagObjects, readTagObjectsFromStore } from '../../src/git/tag-objects.ts';
import { gitFixtureFor, type GitFixture } from '../helpers/git-fixture.ts';
import { assertValidPushEvent } from '../helpers/validate-event.ts';

/** Every object git sees in a git dir: sha → type. */
function allObjects(fx: GitFixture, gitDir: string): Map<string, string> {
  const out = execFileSync('git', ['--git-dir', gitDir, 'cat-file', '--batch-all-objects', '--batch-check=%(objectname) %(objecttype)'], { env: fx.env }).toString();
  return new Map(out.trim().split('\n').map((l) => l.split(' ') as [string, string]));
}

/** A history whose commits and annotated tags are alike, so an aggressive repack deltifies some of them. */
function similarHistory(fx: GitFixture): void {
  const text = Array.from({ length: 60 }, (_, i) => `line ${i} of a long and repetitive release note\n`).join('');
  for (let i = 0; i < 24; i++) {
    fx.write('notes.txt', `${text}change ${i}\n`);
    fx.commit(`change ${i}\n\n${text}`);
    if (i % 2 === 0) fx.git(['tag', '-a', `v${i}`, '-m', `Release ${i}\n\n${text}`]);
  }
  fx.git(['tag', 'light']);
  fx.git(['tag', '-a', 'outer', '-m', 'a tag of a tag', 'v0']);
  fx.git(['tag', '-a', 'of-tree', '-m', 'a tag of a tree', 'HEAD^{tree}']);
  fx.git(['tag', '-a', 'of-blob', '-m', 'a tag of a blob', 'HEAD:notes.txt']);
}

/** Reads every object through the store and compares with git; returns how tag bodies were answered. */
async function compareWithGit(t: Test, fx: GitFixture, gitDir: string, label: string): Promise<{ tagBodies: number; tagsWithoutBody: number }> {
  const objects = allObjects(fx, gitDir);
  const store = (await ObjectStore.open(gitDir))!;
  t.ok(store, `${label}: store opens`);
  let wrong = 0;
  let tagBodies = 0;
  let tagsWithoutBody = 0;
  try {
    for (const [sha, type] of objects) {
      const read = await store.read(sha, { body: type === 'tag' });
      if (read?.type !== type) wrong++;
      if (type !== 'tag' || !read) continue;
      if (read.body === null) {
        tagsWithoutBody++;
        continue;
      }
      tagBodies++;
      const expected = execFileSync('git', ['--git-dir', gitDir, 'cat-file', 'tag', sha], { env: fx.env });
      if (!read.body.equals(expected)) wrong++;
    }
  } finally {
    await store.close();
  }
  t.equal(wrong, 0, `${label}: all ${objects.size} objects have git's type (tag bodies byte for byte)`);
  return { tagBodies, tagsWithoutBody };
}

/** verify-pack of the only pack: deltified entries by type, and the pack and index paths. */
function packInfo(fx: GitFixture, gitDir: string): { pack: string; idx: string; deltas: Record<string, number>; firstDeltaOffset: number } {
  const packDir = path.join(gitDir, 'objects', 'pack');
  const idxName = readdirSync(packDir).filter((n) => n.endsWith('.idx'));
  if (idxName.length !== 1) throw new Error(`expected one pack, found ${idxName.length}`);
  const idx = path.join(packDir, idxName[0]);
  const deltas: Record<string, number> = {};
  let firstDeltaOffset = -1;
  for (const line of execFileSync('git', ['verify-pack', '-v', idx], { env: fx.env }).toString().split('\n')) {
    const f = line.split(/\s+/);
    if (f.length >= 7 && /^[0-9a-f]{40}$/.test(f[0])) {
      deltas[f[1]] = (deltas[f[1]] ?? 0) + 1;
      if (firstDeltaOffset < 0) firstDeltaOffset = Number(f[4]);
    }
  }
  return { pack: idx.replace(/\.idx$/, '.pack'), idx, deltas, firstDeltaOffset };
}

/** Pack entry kind (6 = OFS_DELTA, 7 = REF_DELTA) at an offset. */
function entryKind(pack: string, offset: number): number {
  const fd = openSync(pack, 'r');
  const b = Buffer.alloc(1);
  readSync(fd, b, 0, 1, offset);
  closeSync(fd);
  return (b[0] >> 4) & 7;
}

t.test('loose, packed with deltas, REF deltas, 64-bit offsets: the types and tag bodies git has', async (t) => {
  const fx = gitFixtureFor(t, 'relay-objects-');
  similarHistory(fx);
  const gitDir = path.join(fx.work, '.git');
  t.equal(readdirSync(path.join(gitDir, 'objects')).includes('pack'), true);
  const loose = await compareWithGit(t, fx, gitDir, 'loose');
  t.equal(loose.tagsWithoutBody, 0, 'every loose tag body is read');

  fx.git(['repack', '-a', '-d', '-f', '-q', '--depth=50', '--window=250']);
  const ofs = packInfo(fx, gitDir);
  t.ok((ofs.deltas.tag ?? 0) > 0 && (ofs.deltas.commit ?? 0) > 0, `deltified tags (${ofs.deltas.tag}) and commits (${ofs.deltas.commit}) in the pack`);
  t.equal(entryKind(ofs.pack, ofs.firstDeltaOffset), 6, 'OFS_DELTA entries');
  const packed = await compareWithGit(t, fx, gitDir, 'packed');
  t.ok(packed.tagBodies > 0, `whole tags read from the pack (${packed.tagBodies})`);
  t.equal(packed.tagsWithoutBody, ofs.deltas.tag, 'a deltified tag has its type but no body (git reads it)');

  fx.git(['-c', 'repack.useDeltaBaseOffset=false', 'repack', '-a', '-d', '-f', '-q', '--depth=50', '--window=250']);
  const ref = packInfo(fx, gitDir);
  t.equal(entryKind(ref.pack, ref.firstDeltaOffset), 7, 'REF_DELTA entries');
  await compareWithGit(t, fx, gitDir, 'REF deltas');

  // index-pack can write 64-bit offsets for every object past a threshold.
  const sizeBefore = statSync(ref.idx).size;
  rmSync(ref.idx);
  execFileSync('git', ['index-pack', '--index-version=2,0x40', '-o', `${ref.idx}.tmp`, ref.pack], { env: fx.env, cwd: gitDir });
  renameSync(`${ref.idx}.tmp`, ref.idx);
  t.ok(statSync(ref.idx).size > sizeBefore, 'index now has a 64-bit offset table');
  await compareWithGit(t, fx, gitDir, '64-bit offsets');
});

t.test('tag objects from the store = tag objects from git cat-file', async (t) => {
  const fx = gitFixtureFor(t, 'relay-objects-');
  similarHistory(fx);
  const gitDir = path.join(fx.work, '.git');
  const refs = new Map(fx.git(['for-each-ref', '--format=%(objectname) %(refname:short)', 'refs/tags']).split('\n').map((l) => l.split(' ') as [string, string]));
  const names = [...refs.keys()];
  const fromGit = await readTagObjects(new GitRunner(gitDir), names, null);
  t.equal(fromGit.size, names.length);
  const looseStore = (await ObjectStore.open(gitDir))!;
  const fromLoose = await readTagObjectsFromStore(looseStore, names, null);
  await looseStore.close();
  t.same(fromLoose, fromGit, 'all loose: the store answers every tag (a tag of a tag, of a tree, of a blob) as git does');

  fx.git(['repack', '-a', '-d', '-f', '-q', '--depth=50', '--window=250']);
  const store = (await ObjectStore.open(gitDir))!;
  t.teardown(() => store.close());
  const fromStore = await readTagObjectsFromStore(store, names, null);
  t.ok(fromStore.size > 1 && fromStore.size < names.length, `store answered ${fromStore.size} of ${names.length} (deltified ones left to git)`);
  for (const [name, object] of fromStore) t.same(object, fromGit.get(name), `same answer for ${refs.get(name)}`);
  const outer = fx.rev('outer');
  t.match(fromStore.get(outer) ?? fromGit.get(outer), { type: 'tag', peeled: fx.rev('v0^{}'), peeledType: 'commit' }, 'a tag of a tag is peeled to the commit');
});

t.test('alternates are followed; what the store cannot be sure of is null', async (t) => {
  const fx = gitFixtureFor(t, 'relay-objects-');
  fx.write('a', '1\n');
  const c1 = fx.commit('one');
  fx.git(['tag', '-a', 'v1', '-m', 'one']);
  fx.push(['origin', 'main', 'v1']);
  // A fork as Bitbucket keeps them: objects shared through objects/info/alternates.
  const fork = path.join(fx.root, 'fork.git');
  execFileSync('git', ['clone', '--quiet', '--bare', '--shared', fx.bare, fork], { env: fx.env });
  t.same(readdirSync(path.join(fork, 'objects')).filter((n) => /^[0-9a-f]{2}$/.test(n)), [], 'the fork has no objects of its own');
  const store = (await ObjectStore.open(fork))!;
  t.equal((await store.read(c1, { body: false }))?.type, 'commit');
  t.equal((await store.read(fx.rev('v1'), { body: true }))?.body?.toString().includes('tag v1\n'), true);
  t.equal(await store.read('1234567890abcdef1234567890abcdef12345678', { body: false }), null, 'not found: null (git reports what is missing)');
  t.equal(await store.read('not-a-sha', { body: false }), null);
  await store.close();

  writeFileSync(path.join(fork, 'objects', 'info', 'alternates'), `../../server/PROJ/repo.git/objects\n`);
  const relative = (await ObjectStore.open(fork))!;
  t.equal((await relative.read(c1, { body: false }))?.type, 'commit', 'relative alternates resolve against objects/');
  await relative.close();
  writeFileSync(path.join(fork, 'objects', 'info', 'alternates'), `"/quoted/path"\n`);
  t.equal(await ObjectStore.open(fork), null, 'quoted alternates: not sure, no store');
  t.equal(await ObjectStore.open(fx.bare, 'sha256'), null, 'SHA-256 repositories are left to git');

  // A damaged index makes the store unsure, never wrong.
  fx.gitBare(['repack', '-a', '-d', '-q']);
  const packDir = path.join(fx.bare, 'objects', 'pack');
  const idx = path.join(packDir, readdirSync(packDir).find((n) => n.endsWith('.idx'))!);
  writeFileSync(idx, Buffer.alloc(2048, 0xab));
  const damaged = (await ObjectStore.open(fx.bare))!;
  t.equal(await damaged.read(c1, { body: false }), null);
  await damaged.close();
});

t.test('tag pushes: one git process when the store answers, cat-file when it cannot', async (t) => {
  const fx = gitFixtureFor(t, 'relay-objects-');
  fx.write('a', '1\n');
  const c1 = fx.commit('one');
  fx.push(['origin', 'main']);
  const analyze = async (lines: ReturnType<GitFixture['push']>) => {
    const result = await analyzePushWithStats({ repoPath: fx.bare, refLines: lines, env: {}, timeNs: 1n, host: 'h' });
    assertValidPushEvent(t, result.event);
    return result;
  };
  fx.git(['tag', 'light']);
  const light = await analyze(fx.push(['origin', 'refs/tags/light']));
  t.same(light.event.refs[0].tag, { annotated: false, message: null, tagger: null, target: c1 });
  t.equal(light.stats.spawns, 2, 'a lightweight tag on an existing commit: the walk, and one log of the tip (tipCommits)');

  // Many alike annotated tags, repacked hard in the server repository: some become deltas.
  const text = Array.from({ length: 60 }, (_, i) => `line ${i} of a long and repetitive release note\n`).join('');
  for (let i = 0; i < 12; i++) fx.git(['tag', '-a', `r${i}`, '-m', `Release ${i}\n\n${text}`]);
  const lines = fx.push(['origin', '--tags']);
  t.equal(lines.length, 12);
  const loose = await analyze(lines);
  t.equal(loose.stats.spawns, 2, 'annotated tags read from the store: the walk, and one log of their (existing) target');
  fx.gitBare(['repack', '-a', '-d', '-f', '-q', '--depth=50', '--window=250']);
  const packed = await analyze(lines);
  t.equal(packed.stats.spawns, 3, 'deltified tag objects: cat-file for those, then the walk and the log of the target');
  t.same(packed.event.refs, loose.event.refs, 'same refs, tags described alike');
  t.ok(packed.event.refs.every((r) => r.tag?.annotated && r.tag.target === c1 && r.tag.message?.startsWith('Release ')));
});
