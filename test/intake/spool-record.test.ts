// parseSpoolRecord against records written by the real hook under dash and
// bash --posix, hand-made broken records, and fast-check fuzzing.

import t from 'tap';
import type { Test } from 'tap';
import fc from 'fast-check';
import path from 'node:path';
import { escapeInvalidUtf8, parseSpoolRecord, refNameProblem, spoolRecordId } from '../../src/intake/spool-record.ts';
import { parseShellExports } from '../../src/intake/shell-exports.ts';
import { SHELLS, baseEnv, incomingFiles, makeSpool, readRecordFile, runHook, tempDir } from '../hook/hook-helpers.ts';

const A = 'a'.repeat(40);
const B = 'b'.repeat(40);
const Z = '0'.repeat(40);

const TRICKY: Record<string, string> = {
  BB_NEWLINES: 'line1\nline2\n\nline4',
  BB_QUOTES: `he said "hi" and 'bye' ''' """`,
  BB_SHELLY: '$HOME `id` $(id) ${X} \\ back\\slash \\n not-a-newline',
  BB_CONTROL: '\t\x01\x02\x1b[31mred\x1b[0m\x7f\x0b\x0c',
  BB_UNICODE: 'é ü ß 日本語 🎉 \u200b',
  BB_EMPTY: '',
  BB_SINGLE_QUOTE: "'",
  BB_TRAILING_NL: 'ends with newline\n',
  BB_MARKERS: '\nrefs fake\nend fake\nbitbucket-relay-spool 1 x\n',
  BB_EQUALS: 'a=b=c',
  BB_CRLF: 'windows\r\nline',
  BB_LONG: 'x'.repeat(20000),
  STASH_USER_NAME: 'stash user',
};

function hookRecord(t: Test, shell: string[], env: Record<string, string>, stdin: string) {
  const root = tempDir(t);
  const spool = makeSpool(root);
  const r = runHook(shell, { env: baseEnv(root, { RELAY_SPOOL_DIR: spool, ...env }), stdin, cwd: root });
  t.equal(r.status, 0, 'hook exits 0');
  t.equal(r.stderr, '', 'hook prints nothing on success');
  const files = incomingFiles(spool);
  t.equal(files.length, 1, 'exactly one record');
  return readRecordFile(path.join(spool, 'incoming', files[0]));
}

for (const [label, shell] of Object.entries(SHELLS)) {
  t.test(`hook under ${label}: env values survive byte-exact`, async (t) => {
    const stdin = `${Z} ${A} refs/heads/main\n${A} ${B} refs/tags/v1.0\n`;
    const { bytes, meta } = hookRecord(t, shell, { ...TRICKY, SECRET_TOKEN: 's3cr3t-value', GIT_DIR: '.' }, stdin);
    const parsed = parseSpoolRecord(bytes, meta);
    if (!parsed.ok) throw new Error(parsed.reason);
    const rec = parsed.record;
    t.same(rec.env, TRICKY, 'exactly the BB_*/STASH_* variables, byte-exact');
    t.notOk('SECRET_TOKEN' in rec.env, 'other variables dropped');
    t.same(rec.refLines, [
      { before: Z, after: A, ref: 'refs/heads/main' },
      { before: A, after: B, ref: 'refs/tags/v1.0' },
    ]);
    t.equal(rec.version, 1);
    t.equal(rec.id, spoolRecordId(meta.name));
    t.match(rec.id, /^\d{12}-\d{7}-[0-9a-f-]{36}$/, 'name: uptime-pid-uuid');
    t.equal(rec.timeNs, meta.mtimeNs, 'time is the file mtime');
    t.ok(path.isAbsolute(rec.repoPath));
    t.ok(rec.host.length > 0, 'host name recorded');
  });

  t.test(`hook under ${label}: every truncation is incomplete, never a record`, async (t) => {
    const { bytes, meta } = hookRecord(t, shell, { BB_USER_NAME: 'alice', BB_X: 'a\nb' }, `${Z} ${A} refs/heads/main\n`);
    t.ok(parseSpoolRecord(bytes, meta).ok, 'the whole file parses');
    let wrong = 0;
    for (let len = 0; len < bytes.length; len++) {
      const r = parseSpoolRecord(bytes.subarray(0, len), meta);
      if (r.ok || !r.incomplete) wrong++;
    }
    t.equal(wrong, 0, 'all prefixes reported as incomplete');
  });

  t.test(`hook under ${label}: empty stdin gives a record with no refs`, async (t) => {
    const { bytes, meta } = hookRecord(t, shell, {}, '');
    const r = parseSpoolRecord(bytes, meta);
    t.ok(r.ok && r.record.refLines.length === 0);
  });

  t.test(`hook under ${label}: random env values round-trip (property)`, async (t) => {
    const root = tempDir(t);
    const value = fc.string({ unit: 'binary', maxLength: 60 }).filter((s) => !s.includes('\0'));
    await fc.assert(
      fc.asyncProperty(fc.dictionary(fc.stringMatching(/^BB_[A-Z0-9_]{1,8}$/), value, { maxKeys: 4 }), async (vars) => {
        const spool = makeSpool(root, `s${Math.random().toString(36).slice(2)}`);
        const r = runHook(shell, { env: baseEnv(root, { RELAY_SPOOL_DIR: spool, ...vars }), stdin: '', cwd: root });
        if (r.status !== 0) return false;
        const [file] = incomingFiles(spool);
        const { bytes, meta } = readRecordFile(path.join(spool, 'incoming', file));
        const parsed = parseSpoolRecord(bytes, meta);
        if (!parsed.ok) throw new Error(parsed.reason);
        t.same(parsed.record.env, vars);
        return JSON.stringify(parsed.record.env) === JSON.stringify(Object.fromEntries(Object.entries(vars).sort()));
      }),
      { numRuns: 15 },
    );
  });
}

/** A hand-made record (what the hook writes, with a given nonce). */
function record(env: string, refs: string, nonce = 'n0nce', version = 1): Buffer {
  return Buffer.from(`bitbucket-relay-spool ${version} ${nonce}\n${env}refs ${nonce}\n${refs}end ${nonce}\n`, 'latin1');
}
const META = { name: '000000000001-0000001-x.push', mtimeNs: 1_700_000_000_123_456_789n };
const REPO = "export RELAY_RECORD_REPO='/srv/repos/1'\n";

t.test('hand-made records: accepted shapes', async (t) => {
  const r = parseSpoolRecord(
    record(`${REPO}declare -x BB_A="x\\"y\\\\z\\$"\nexport BB_B=$'\\101\\x42\\u00e9\\cA'\nexport BB_UNSET\nexport RELAY_RECORD_HOST=node1\n`, `${A} ${B} refs/heads/x\n`),
    META,
  );
  if (!r.ok) throw new Error(r.reason);
  t.same(r.record.env, { BB_A: 'x"y\\z$', BB_B: 'ABé\x01' });
  t.equal(r.record.host, 'node1');
  t.equal(r.record.repoPath, '/srv/repos/1');
  t.equal(r.record.id, '000000000001-0000001-x');
  t.equal(r.record.timeNs, META.mtimeNs);
  const sha256 = 'c'.repeat(64);
  const r2 = parseSpoolRecord(record(REPO, `${'0'.repeat(64)} ${sha256} refs/heads/sha256\n`), META);
  t.ok(r2.ok, 'SHA-256 object names accepted');
});

t.test('hand-made records: rejected with a reason, not incomplete', async (t) => {
  const cases: [string, Buffer, RegExp][] = [
    ['garbage', Buffer.from('hello world\n'), /not a spool record/],
    ['binary', Buffer.from([0xff, 0x00, 0x12, 0x0a, 0x00]), /not a spool record/],
    ['future version', record(REPO, '', 'n', 2), /version 2 is not supported/],
    ['no refs marker', Buffer.from(`bitbucket-relay-spool 1 n\n${REPO}end n\n`), /"refs <nonce>" line/],
    ['no repo', record("export BB_X='1'\n", ''), /RELAY_RECORD_REPO/],
    ['relative repo', record("export RELAY_RECORD_REPO='srv/x'\n", ''), /absolute/],
    ['bad sha', record(REPO, `${A.slice(1)} ${B} refs/heads/x\n`), /40 or 64 lowercase hex/],
    ['upper-case sha', record(REPO, `${A.toUpperCase()} ${B} refs/heads/x\n`), /lowercase hex/],
    ['mixed lengths', record(REPO, `${A} ${'b'.repeat(64)} refs/heads/x\n`), /differ in length/],
    ['two fields', record(REPO, `${A} ${B}\n`), /is not "<old-sha> <new-sha> <ref>"/],
    ['not refs/', record(REPO, `${A} ${B} heads/x\n`), /refs\//],
    ['dot dot', record(REPO, `${A} ${B} refs/heads/a..b\n`), /"\.\."/],
    ['lock', record(REPO, `${A} ${B} refs/heads/x.lock\n`), /\.lock/],
    ['invalid utf-8 ref', record(REPO, `${A} ${B} refs/heads/\xff\n`), /UTF-8/], // latin1: one byte 0xff
    ['command, not export', record("rm -rf /\n" + REPO, ''), /expected an `export`/],
    ['unquoted $', record(REPO + 'export BB_X=$HOME\n', ''), /unquoted "\$"/],
    ['operator', record(REPO + 'export BB_X=a;b\n', ''), /operator/],
  ];
  for (const [label, bytes, re] of cases) {
    const r = parseSpoolRecord(bytes, META);
    t.notOk(r.ok, `${label}: rejected`);
    if (!r.ok) {
      t.match(r.reason, re, `${label}: reason says why`);
      t.notOk(r.incomplete, `${label}: not mistaken for in progress`);
    }
  }
});

t.test('reasons never quote environment values', async (t) => {
  const secret = 'hunter2-SECRET-value';
  const bad = [
    record(`${REPO}export API_TOKEN='${secret}'\nexport BB_X='${secret}\n`, ''),
    record(`${REPO}export API_TOKEN="${secret}\n`, ''),
    record(`${REPO}export BB_X=$'${secret}\n`, ''),
    record(`${REPO}export BB_X=${secret}$(x)\n`, ''),
  ];
  for (const b of bad) {
    const r = parseSpoolRecord(b, META);
    t.notOk(r.ok);
    if (!r.ok) t.notMatch(r.reason, /hunter2/, r.reason);
  }
});

t.test('incomplete: empty, header in progress, no end marker', async (t) => {
  for (const b of ['', 'bitbucket-re', 'bitbucket-relay-spool 1 abc', `bitbucket-relay-spool 1 n\n${REPO}`, `bitbucket-relay-spool 1 n\n${REPO}refs n\n${A} ${B} refs/heads/x\nend n`]) {
    const r = parseSpoolRecord(Buffer.from(b), META);
    t.ok(!r.ok && r.incomplete, JSON.stringify(b.slice(0, 30)));
  }
  const appended = Buffer.concat([record(REPO, ''), Buffer.from('junk')]);
  const r = parseSpoolRecord(appended, META);
  t.ok(!r.ok && r.incomplete, 'bytes after the end marker: not taken as a record');
});

t.test('refNameProblem follows git check-ref-format', async (t) => {
  for (const ok of ['refs/heads/main', 'refs/heads/feature/ü-日本', 'refs/tags/v1.0.0', 'refs/pull-requests/1/from', 'refs/heads/a.b']) {
    t.equal(refNameProblem(ok), null, ok);
  }
  for (const bad of ['main', 'refs/heads/', 'refs/heads/a.', 'refs//x', 'refs/heads/a b', 'refs/heads/a~1', 'refs/heads/a^', 'refs/heads/a:b',
    'refs/heads/a?', 'refs/heads/a*', 'refs/heads/a[', 'refs/heads/a\\b', 'refs/heads/.hidden', 'refs/heads/x@{1}', 'refs/heads/\x01', 'refs/heads/\x7f']) {
    t.not(refNameProblem(bad), null, JSON.stringify(bad));
  }
});

t.test('fuzz: arbitrary bytes never throw', async (t) => {
  let checked = 0;
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 3000 }), (bytes) => {
      const r = parseSpoolRecord(bytes, META);
      checked++;
      return typeof r.ok === 'boolean' && (r.ok || (typeof r.reason === 'string' && r.reason.length > 0));
    }),
    { numRuns: 2000 },
  );
  t.equal(checked, 2000);
});

t.test('fuzz: mutated valid records never throw; accepted ones are valid', async (t) => {
  const base = record(`${REPO}export BB_A='x'"'"'y'\nexport BB_B=$'\\n\\t'\ndeclare -x BB_C="q\\"q"\n`, `${Z} ${A} refs/heads/main\n${A} ${B} refs/tags/t\n`);
  fc.assert(
    fc.property(
      fc.array(fc.record({ at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }), op: fc.constantFrom('set', 'insert', 'delete') }), { minLength: 1, maxLength: 5 }),
      (edits) => {
        let b = Buffer.from(base);
        for (const e of edits) {
          const at = e.at % (b.length + 1);
          if (e.op === 'set' && at < b.length) b[at] = e.byte;
          else if (e.op === 'insert') b = Buffer.concat([b.subarray(0, at), Buffer.from([e.byte]), b.subarray(at)]);
          else if (e.op === 'delete') b = Buffer.concat([b.subarray(0, at), b.subarray(at + 1)]);
        }
        const r = parseSpoolRecord(b, META);
        if (!r.ok) return r.reason.length > 0;
        return r.record.repoPath.startsWith('/') && r.record.refLines.every((l) => refNameProblem(l.ref) === null && /^[0-9a-f]+$/.test(l.before + l.after)) &&
          Object.keys(r.record.env).every((k) => /^(BB|STASH)_/.test(k));
      },
    ),
    { numRuns: 3000 },
  );
  t.pass('no throw over 3000 mutations');
});

t.test('parseShellExports: line numbers in reasons, never values', async (t) => {
  const r = parseShellExports("export A='1'\nexport B='2\n", 10);
  t.notOk(r.ok);
  if (!r.ok) t.match(r.reason, /line 11: unterminated single quote in the value of B/);
  const ok = parseShellExports("export A='multi\nline'\nexport B=\"x\\\ny\"\n");
  t.ok(ok.ok && ok.vars.get('A') === 'multi\nline' && ok.vars.get('B') === 'xy', 'quoted newline kept, backslash-newline removed');
});

t.test('ref names that are not UTF-8: that line becomes a refError (bytes escaped), the others stay; none left → permanent failure', async (t) => {
  const nonce = 'n1';
  const record = (refs: Buffer[]): Buffer =>
    Buffer.concat([Buffer.from(`bitbucket-relay-spool 1 ${nonce}\nexport RELAY_RECORD_REPO='/r/a'\nrefs ${nonce}\n`), ...refs.flatMap((r) => [r, Buffer.from('\n')]), Buffer.from(`end ${nonce}\n`)]);
  const line = (ref: Buffer): Buffer => Buffer.concat([Buffer.from(`${'0'.repeat(40)} ${'a'.repeat(40)} `), ref]);
  const mixed = parseSpoolRecord(record([line(Buffer.from('refs/heads/main')), line(Buffer.from([...Buffer.from('refs/heads/caf'), 0xe9, ...Buffer.from('-é')]))]), { name: 'x.push', mtimeNs: 1n });
  t.ok(mixed.ok);
  if (!mixed.ok) return;
  t.same(mixed.record.refLines.map((l) => l.ref), ['refs/heads/main']);
  t.same(mixed.record.refErrors?.map((e) => e.ref), ['refs/heads/caf\\xe9-é'], 'only the invalid byte escaped; valid UTF-8 kept');
  t.match(mixed.record.refErrors?.[0].message, /ref line 2 .*not valid UTF-8/);
  const none = parseSpoolRecord(record([line(Buffer.from([...Buffer.from('refs/heads/x'), 0xff]))]), { name: 'y.push', mtimeNs: 1n });
  t.match(none, { ok: false, permanent: true, reason: /no ref update of this push can be relayed: .*refs\/heads\/x\\xff/ });
  t.equal(escapeInvalidUtf8(Buffer.from([0x61, 0xc3, 0xa9, 0xc3, 0x28, 0xf0, 0x9f, 0x98, 0x80])), 'aé\\xc3(😀');
});
