// Response headers kept per attempt (issue 15 item 11) go through the one
// redaction module: credential headers as ***, configured secrets masked in
// every form, and a bound on how much is kept.

import t from 'tap';
import { redactResponseHeaders, redactText, RESPONSE_HEADER_LIMITS } from '../../src/log/redact.ts';

const SECRET = 'rh-SECRET-42';
const mask = (text: string): string => redactText(text, [SECRET]);

t.test('credential headers and configured secrets are masked', async (t) => {
  const out = redactResponseHeaders({
    'set-cookie': ['session=abc', 'other=def'],
    'www-authenticate': 'Bearer realm="ci"',
    'x-echo': `you sent ${SECRET} and ${Buffer.from(SECRET).toString('base64')}`,
    location: `https://user:pw@ci.example/next`,
    'content-type': 'text/plain',
  }, mask);
  t.same(out, {
    'set-cookie': '***',
    'www-authenticate': 'Bearer realm="ci"',
    'x-echo': 'you sent *** and ***',
    location: 'https://***@ci.example/next',
    'content-type': 'text/plain',
  });
});

t.test('capped: value length, header count and total size', async (t) => {
  const long = redactResponseHeaders({ 'x-long': 'y'.repeat(1000) }, mask);
  t.equal(long['x-long'].length, RESPONSE_HEADER_LIMITS.valueChars);
  t.ok(long['x-long'].endsWith('…'));
  const many: Record<string, string> = {};
  for (let i = 0; i < 100; i++) many[`x-h${i}`] = 'v';
  const capped = redactResponseHeaders(many, mask);
  t.equal(Object.keys(capped).length, RESPONSE_HEADER_LIMITS.count + 1);
  t.equal(capped['(truncated)'], `${100 - RESPONSE_HEADER_LIMITS.count} more headers not kept`);
  const big: Record<string, string> = {};
  for (let i = 0; i < 20; i++) big[`x-b${i}`] = 'z'.repeat(250);
  const bounded = redactResponseHeaders(big, mask);
  const size = Object.entries(bounded).filter(([k]) => k !== '(truncated)').reduce((n, [k, v]) => n + k.length + v.length, 0);
  t.ok(size <= RESPONSE_HEADER_LIMITS.totalChars, `${size} characters kept`);
  t.match(bounded['(truncated)'], /^\d+ more headers not kept$/);
});
