// `relay show` of a delivery being retried (issue 15 item 11): when it is
// given up if every try fails — the retry policy's horizon from the first
// try — the same time in text and --json, and the receiver's response
// headers, redacted; a real daemon, a real push and a real receiver
// answering 503.

import t from 'tap';
import { existsSync, readFileSync } from 'node:fs';
import { createGitFixture } from '../helpers/git-fixture.ts';
import { startReceiver } from '../helpers/receiver.ts';
import { formatTimestamp } from '../../src/cli/table.ts';
import { eventually, makeRelayHome, pushChange, relay, startDaemon } from './cli-helpers.ts';
import { SHOW_JSON_SCHEMA } from './json-schemas.ts';
import { Ajv } from 'ajv';

t.test('a retried delivery shows when it is given up, the same in text and JSON, and the response headers redacted', async (t) => {
  const SECRET = 'showhdr-SECRET-9';
  const rx = await startReceiver({
    respond: () => ({ status: 503, headers: { 'retry-after': '600', 'x-served-by': 'ci-7', 'set-cookie': 'session=abc123', 'x-echo': `you sent token=${SECRET}` }, body: 'down for maintenance' }),
  });
  t.teardown(() => rx.close());
  const home = makeRelayHome(t, 'relay-show-giveup-');
  home.writeConfig(`destinations:
  - name: ci
    type: http
    url: "${rx.url}/hook?token=${SECRET}"
    retry: { baseDelay: 10m, maxDelay: 1h, horizon: 2h }
`);
  const C = ['--config', home.configFile];
  await startDaemon(t, home);
  const git = createGitFixture('relay-show-giveup-git-');
  t.teardown(() => git.cleanup());
  pushChange(git, home, 'change', { file: 'f.txt', env: { BB_PROJECT_KEY: 'PRJ', BB_REPO_SLUG: 'app' } });

  let id = '';
  await eventually(async () => {
    const list = JSON.parse((await relay(['deliveries', ...C, '--dest', 'ci', '--json'])).stdout);
    id = list[0]?.attempts > 0 ? list[0].id : '';
    return id !== '';
  }, 'a failed first attempt', 30_000);

  const json = JSON.parse((await relay(['show', ...C, id, '--json'])).stdout);
  t.ok(new Ajv({ strict: false }).validate(SHOW_JSON_SCHEMA, json), 'show --json matches its schema');
  t.equal(json.delivery.state, 'pending');
  const first = Date.parse(json.delivery.firstAttemptAt);
  t.same(json.giveUp, { at: new Date(first + 2 * 3_600_000).toISOString(), horizonMs: 2 * 3_600_000 }, 'given up 2h (retry.horizon) after the first try');

  t.match(json.attempts[0].responseHeaders, { 'retry-after': '600', 'x-served-by': 'ci-7', 'set-cookie': '***', 'x-echo': 'you sent token=***' }, 'response headers, secrets masked');
  const text = await relay(['show', ...C, id], { env: { TZ: 'UTC' } });
  t.equal(text.code, 0, text.stderr);
  t.match(text.stdout, new RegExp(`^gives up +${formatTimestamp(json.giveUp.at).replace(/[-:]/g, '\\$&')} \\(in 1h 5\\dm( \\d+s)?\\), if every try fails until then \\(retry\\.horizon 2h from the first try\\)$`, 'm'));
  t.match(text.stdout, /^      < x-served-by: ci-7$/m);
  t.match(text.stdout, /^      < set-cookie: \*\*\*$/m);
  t.match(text.stdout, /^      < x-echo: you sent token=\*\*\*$/m);
  t.notOk((text.stdout + JSON.stringify(json)).includes(SECRET), 'the secret is in no output');
  t.notOk([home.storePath, home.storePath + '-wal'].some((f) => existsSync(f) && readFileSync(f).includes(SECRET)), 'nor in the store');

});
