import t from 'tap';
import { decodeCommitText, truncateUtf8 } from '../../src/git/decode-text.ts';

t.test('UTF-8 as is; else declared encodings; else replacement characters', async (t) => {
  t.equal(decodeCommitText(Buffer.from('Grüße ✓', 'utf8')), 'Grüße ✓');
  const latin1 = Buffer.from([0x47, 0x72, 0xfc, 0xdf, 0x65]); // "Grüße" in ISO-8859-1
  t.equal(decodeCommitText(latin1, [null, 'ISO-8859-1']), 'Grüße');
  t.equal(decodeCommitText(latin1, ['no-such-encoding', 'latin1']), 'Grüße', 'unknown names are skipped');
  t.equal(decodeCommitText(latin1), 'Gr\uFFFD\uFFFDe');
  t.equal(decodeCommitText(Buffer.from([0x82, 0xa0]), ['Shift_JIS']), 'あ');
});

t.test('truncates at a character boundary', async (t) => {
  t.same(truncateUtf8('abc', 3), { text: 'abc', truncated: false });
  t.same(truncateUtf8('abcd', 3), { text: 'abc', truncated: true });
  t.same(truncateUtf8('aé✓', 4), { text: 'aé', truncated: true }, 'never splits é or ✓');
  t.same(truncateUtf8('✓✓', 5), { text: '✓', truncated: true });
  t.same(truncateUtf8('😀x', 3), { text: '', truncated: true });
});
