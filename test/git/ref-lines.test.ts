import t from 'tap';
import { changeOf, describeRef, isZeroSha, matchesAnyRefGlob, parseRefLines, refGlobToRegExp, uniqueRefLines } from '../../src/git/ref-lines.ts';

const A = 'a'.repeat(40);
const Z = '0'.repeat(40);

t.test('parses hook stdin; reports malformed lines by number', async (t) => {
  const { lines, problems } = parseRefLines(`${Z} ${A} refs/heads/main\r\n\n${A} ${Z} refs/tags/v1\nnot a line\n${A} ${A}\n`);
  t.same(lines, [{ before: Z, after: A, ref: 'refs/heads/main' }, { before: A, after: Z, ref: 'refs/tags/v1' }]);
  t.equal(problems.length, 2);
  t.match(problems[0], /ref line 4/);
  t.match(problems[1], /ref line 5/);
  t.same(parseRefLines(''), { lines: [], problems: [] }, 'empty stdin is an empty push');
  t.same(parseRefLines(`${'0'.repeat(64)} ${'b'.repeat(64)} refs/heads/x`).problems, [], 'SHA-256 object names');
});

t.test('change, kind and name', async (t) => {
  t.ok(isZeroSha(Z) && isZeroSha('0'.repeat(64)) && !isZeroSha(A));
  t.equal(changeOf({ before: Z, after: A, ref: 'r' }), 'create');
  t.equal(changeOf({ before: A, after: Z, ref: 'r' }), 'delete');
  t.equal(changeOf({ before: A, after: 'b'.repeat(40), ref: 'r' }), 'update');
  t.same(describeRef('refs/heads/feature/x'), { kind: 'branch', name: 'feature/x' });
  t.same(describeRef('refs/tags/v1.0'), { kind: 'tag', name: 'v1.0' });
  t.same(describeRef('refs/notes/commits'), { kind: 'other', name: 'refs/notes/commits' });
});

t.test('ref globs', async (t) => {
  t.ok(matchesAnyRefGlob('refs/pull-requests/12/from', ['refs/pull-requests/**']));
  t.ok(matchesAnyRefGlob('refs/pull-requests', ['refs/pull-requests/**']));
  t.notOk(matchesAnyRefGlob('refs/pull-requestsX/1', ['refs/pull-requests/**']));
  t.notOk(matchesAnyRefGlob('refs/heads/main', ['refs/pull-requests/**']));
  t.ok(refGlobToRegExp('refs/heads/release-*').test('refs/heads/release-1.2'));
  t.notOk(refGlobToRegExp('refs/heads/*').test('refs/heads/a/b'), '* stays within one segment');
  t.ok(refGlobToRegExp('refs/heads/v?').test('refs/heads/v1'));
  t.notOk(refGlobToRegExp('refs/heads/a.b').test('refs/heads/axb'), 'dots are literal');
});

t.test('uniqueRefLines: one (ref, before, after) listed twice is one update; order and distinct updates kept', async (t) => {
  const A = 'a'.repeat(40);
  const B = 'b'.repeat(40);
  const Z = '0'.repeat(40);
  const lines = [
    { ref: 'refs/tags/t', before: A, after: Z },
    { ref: 'refs/heads/main', before: A, after: B },
    { ref: 'refs/tags/t', before: A, after: Z },
    { ref: 'refs/heads/main', before: B, after: A },
  ];
  t.same(uniqueRefLines(lines), [lines[0], lines[1], lines[3]]);
});
