import t from 'tap';
import { isoFromGitTime, parseBatchOutput, parseIdentLine, parseTagBody } from '../../src/git/tag-objects.ts';

t.test('git times keep their offset', async (t) => {
  t.equal(isoFromGitTime(1_700_000_000, '+0000'), '2023-11-14T22:13:20+00:00');
  t.equal(isoFromGitTime(1_700_000_000, '+0530'), '2023-11-15T03:43:20+05:30');
  t.equal(isoFromGitTime(1_700_000_000, '-0800'), '2023-11-14T14:13:20-08:00');
  t.same(parseIdentLine('Tag Ger <t@example.com> 1700000000 +0100'), { name: 'Tag Ger', email: 't@example.com', date: '2023-11-14T23:13:20+01:00' });
  t.equal(parseIdentLine('garbage'), null);
});

t.test('tag bodies: tagger, message, signature dropped, declared encoding', async (t) => {
  const body = Buffer.from([
    'object ' + 'a'.repeat(40), 'type commit', 'tag v1', 'tagger T <t@x> 1700000000 +0000', '',
    'Release', '', 'Notes', '-----BEGIN PGP SIGNATURE-----', 'abc', '-----END PGP SIGNATURE-----', '',
  ].join('\n'));
  t.same(parseTagBody(body, null), { tagger: { name: 'T', email: 't@x', date: '2023-11-14T22:13:20+00:00' }, message: 'Release\n\nNotes\n' });
  const latin1 = Buffer.concat([Buffer.from('object x\ntype commit\ntag v\ntagger T <t@x> 1 +0000\nencoding ISO-8859-1\n\n'), Buffer.from('K\xf6ln\n', 'latin1')]);
  t.equal(parseTagBody(latin1, null).message, 'Köln\n');
});

t.test('cat-file --batch output, missing objects', async (t) => {
  const out = Buffer.from(`${'a'.repeat(40)} tag 5\nhello\nnope missing\n${'b'.repeat(40)} commit 0\n\n`);
  const parsed = parseBatchOutput(out, ['a', 'nope', 'b']);
  t.equal(parsed.length, 3);
  t.match(parsed[0], { sha: 'a'.repeat(40), type: 'tag' });
  t.equal(parsed[0]?.body.toString(), 'hello');
  t.equal(parsed[1], null);
  t.match(parsed[2], { type: 'commit' });
});
