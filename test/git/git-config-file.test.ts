import t from 'tap';
import { gitConfigValue, parseGitConfig } from '../../src/git/git-config-file.ts';

t.test("reads Bitbucket's repository-config", async (t) => {
  const text = [
    '#>***********************************************',
    '# THIS FILE IS MAINTAINED BY ATLASSIAN BITBUCKET',
    '#>***********************************************',
    '[bitbucket]',
    '\thierarchy = 8597e1f873a45c2b9d3f',
    '\tproject = ATLAS',
    '\trepository = jira',
  ].join('\n');
  const entries = parseGitConfig(text);
  t.equal(gitConfigValue(entries, 'bitbucket.project'), 'ATLAS');
  t.equal(gitConfigValue(entries, 'bitbucket.repository'), 'jira');
  t.equal(gitConfigValue(entries, 'bitbucket.missing'), null);
});

t.test('git-config syntax: case, subsections, quotes, comments, continuation, last wins', async (t) => {
  const text = [
    '[I18N]',
    '  CommitEncoding = latin1 ; comment',
    '[remote "Origin"]',
    '  url = "/srv/a b" # comment',
    '[core]',
    '  bare',
    '  name = "quoted \\"x\\" \\\\ ;not comment"',
    '  long = one \\',
    'two',
    '[i18n] commitEncoding = ISO-8859-1',
    '[Section.Sub]',
    '  key = v',
  ].join('\n');
  const e = parseGitConfig(text);
  t.equal(gitConfigValue(e, 'i18n.commitencoding'), 'ISO-8859-1', 'last one wins; key on the header line');
  t.equal(gitConfigValue(e, 'remote.Origin.url'), '/srv/a b');
  t.equal(gitConfigValue(e, 'remote.origin.url'), null, 'subsections are case-sensitive');
  t.equal(gitConfigValue(e, 'core.bare'), 'true');
  t.equal(gitConfigValue(e, 'core.name'), 'quoted "x" \\ ;not comment');
  t.equal(gitConfigValue(e, 'core.long'), 'one two');
  t.equal(gitConfigValue(e, 'section.sub.key'), 'v');
});
