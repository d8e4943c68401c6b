// Smaller things an admin tripped over (issue 15 item 11): our own words for
// option mistakes instead of node:util parseArgs' text, and a short id prefix
// named as such.

import t from 'tap';
import { relay } from './cli-helpers.ts';

t.test('unknown option, missing value: our message and the usage line, exit 2', async (t) => {
  const unknown = await relay(['deliveries', '--frob']);
  t.equal(unknown.code, 2);
  t.match(unknown.stderr, /^relay deliveries: unknown option --frob\nusage: relay deliveries \[--dest D\]/);
  t.notMatch(unknown.stderr, /positional argument|ERR_PARSE_ARGS|To specify/, 'none of parseArgs\' own advice');
  const missing = await relay(['status', '--timeout']);
  t.equal(missing.code, 2);
  t.match(missing.stderr, /^relay status: --timeout needs a value\nusage: relay status /);
});

t.test('show with a 2-character id: says a prefix needs 4 characters', async (t) => {
  const r = await relay(['show', 'ab']);
  t.equal(r.code, 2);
  t.match(r.stderr, 'relay show: "ab" is too short: give the full delivery id or a prefix of at least 4 characters');
});
