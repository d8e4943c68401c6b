import t from 'tap';
import { compileIssueKeyMatcher, DEFAULT_ISSUE_KEY_OPTIONS, findIssueKeys } from '../../src/event/issue-keys.ts';

t.test('finds Jira-style keys with word boundaries, unique, in order', async (t) => {
  t.same(findIssueKeys('PROJ-12: fix login (see OPS-7, PROJ-12 again)'), ['PROJ-12', 'OPS-7']);
  t.same(findIssueKeys('Merge branch \'feature/PROJ-123-fix-login\''), ['PROJ-123']);
  t.same(findIssueKeys('GAME-123: Add new textures #ci'), ['GAME-123']);
  t.same(findIssueKeys('fixes [AB_C2-9].'), ['AB_C2-9']);
  t.same(findIssueKeys('xPROJ-1 PROJ-1x proj-1 P-1'), [], 'inside words, lower case and one-letter projects are not keys');
});

t.test('technical names shaped like keys are not keys by default', async (t) => {
  t.same(findIssueKeys('Convert to UTF-8, ISO-8859-1 and ISO-8859-15'), []);
  t.same(findIssueKeys('use SHA-256 not SHA-1; build for x86-64 and X86-64'), []);
  t.same(findIssueKeys('AES-256 RSA-2048 CVE-2024-3094 TLS-1.2'), []);
  t.same(findIssueKeys('UTF-8 fix for PROJ-5'), ['PROJ-5']);
});

t.test('restricts to configured project keys; deny list is configurable', async (t) => {
  const only = compileIssueKeyMatcher({ ...DEFAULT_ISSUE_KEY_OPTIONS, projectKeys: ['proj'] });
  t.same(only('PROJ-1 OPS-2 UTF-8'), ['PROJ-1']);
  const nothingDenied = compileIssueKeyMatcher({ ...DEFAULT_ISSUE_KEY_OPTIONS, deny: [] });
  t.same(nothingDenied('UTF-8 SHA-256'), ['UTF-8', 'SHA-256']);
  const custom = compileIssueKeyMatcher({ pattern: '[A-Z]{2,5}-[1-9]\\d*', projectKeys: [], deny: [] });
  t.same(custom('ABCDEF-1 ABC-0 ABC-10'), ['ABC-10']);
});

t.test('a bad pattern is an error naming the setting', async (t) => {
  t.throws(() => compileIssueKeyMatcher({ pattern: '([A-Z', projectKeys: [], deny: [] }), /analysis\.issueKeys\.pattern/);
});
