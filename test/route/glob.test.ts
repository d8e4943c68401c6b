// The glob dialect of `match:` — a table of pattern, text, expected.

import t from 'tap';
import { compileGlob, matchesAnyGlob } from '../../src/route/glob.ts';

const TABLE: [pattern: string, text: string, expected: boolean][] = [
  ['refs/heads/release/**', 'refs/heads/release/2.0', true],
  ['refs/heads/release/**', 'refs/heads/release/2.0/hotfix', true],
  ['refs/heads/release/**', 'refs/heads/release', false],
  ['refs/heads/release/**', 'refs/heads/releases/2.0', false],
  ['refs/heads/release/*', 'refs/heads/release/a/b', false],
  ['refs/heads/*', 'refs/heads/main', true],
  ['PROJ/api-*', 'PROJ/api-gateway', true],
  ['PROJ/api-*', 'PROJ/web', false],
  ['PROJ/api-*', 'PROJX/api-gateway', false],
  ['**/*.yml', '.github/workflows/ci.yml', true],
  ['**/*.yml', 'ci.yml', true],
  ['src/**/*.ts', 'src/a.ts', true],
  ['src/**/*.ts', 'src/a/b/c.ts', true],
  ['src/**/*.ts', 'srcx/a.ts', false],
  ['docs/**', 'docs/.hidden/x.md', true],
  ['*.md', 'docs/x.md', false],
  ['*.md', 'README.md', true],
  ['v?.?', 'v1.2', true],
  ['v?.?', 'v1.22', false],
  ['{main,master}', 'master', true],
  ['{main,master}', 'mainline', false],
  ['release/{1.*,2.{0,1}}', 'release/2.1', true],
  ['release/{1.*,2.{0,1}}', 'release/2.2', false],
  ['[abc]x', 'bx', true],
  ['[!abc]x', 'dx', true],
  ['[!abc]x', 'ax', false],
  ['[!abc]x', '/x', false],
  ['a.b', 'axb', false],
  ['a+b(c)', 'a+b(c)', true],
  ['\\*', '*', true],
  ['\\*', 'x', false],
  ['**', 'anything/at/all', true],
  ['unclosed[', 'unclosed[', true],
  ['unclosed{a', 'unclosed{a', true],
  ['unclosed{a*', 'unclosed{abc', true],
  ['docs/(old)/*', 'docs/(old)/x.md', true],
  ['docs/(old)/*', 'docs/old/x.md', false],
  ['a|b', 'a', false],
  ['a|b', 'a|b', true],
  ['!main', 'main', false],
  ['!main', '!main', true],
  ['@(a)', 'a', false],
];

t.test('glob table', async (t) => {
  for (const [pattern, text, expected] of TABLE) {
    t.equal(compileGlob(pattern).test(text), expected, `${pattern} ~ ${text} → ${expected}`);
  }
});

t.test('case folding only when asked', async (t) => {
  t.notOk(compileGlob('PROJ/api-*').test('proj/api-x'));
  t.ok(compileGlob('PROJ/api-*', true).test('proj/api-x'));
  t.ok(matchesAnyGlob('b', ['a', 'b']));
  t.notOk(matchesAnyGlob('c', ['a', 'b']));
  t.notOk(matchesAnyGlob('c', []));
});
