// `relay quarantine list|retry|drop` (issue 15 item 11) against a real daemon
// and real quarantined records: pushes whose repository vanished (retryable
// once it is back) and a malformed spool file (its bytes are the cause).

import t from 'tap';
import { existsSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createRelayFixture, readJsonLines, waitUntil } from '../helpers/relay-fixture.ts';
import { recordBytes } from '../intake/intake-helpers.ts';

type Row = { id: string; record: string; type: string; bytes: number; quarantinedAt: string; ageMs: number; reason: string | null; permanent: boolean };

t.test('list with reason and age, retry in push order while the daemon runs, drop by id', async (t) => {
  const fx = createRelayFixture({ prefix: 'relay-quarantine-' });
  t.teardown(() => fx.cleanup());
  const quarantine = path.join(fx.spoolDir, 'quarantine');
  const archive = path.join(fx.root, 'events.jsonl');
  const entries = (): string[] => readdirSync(quarantine).filter((n) => !n.endsWith('.reason.txt'));

  // Nothing yet: exit 0.
  const empty = fx.relay(['quarantine', 'list']);
  t.equal(empty.status, 0);
  t.match(empty.stdout, 'nothing quarantined in');

  // Two pushes while the daemon is down; then the repository goes away, and a malformed file lands in the spool.
  const repo = fx.createRepo('app');
  const shas = [1, 2].map((i) => {
    const sha = repo.commit('a.txt', `v${i}\n`, `change ${i}`);
    repo.push(['origin', 'main']);
    return sha;
  });
  renameSync(repo.bare, repo.bare + '.away');
  writeFileSync(path.join(fx.spoolDir, 'incoming', 'garbage-1.push'), Buffer.from([0, 1, 2, 255, 10, 10]));
  // A record whose only ref name is not UTF-8: its own bytes are the cause, moving it back cannot help.
  const [head, tail] = recordBytes({ repo: repo.bare, refs: ['REF'] }).toString('latin1').split('REF');
  writeFileSync(path.join(fx.spoolDir, 'incoming', 'bad-ref.push'), Buffer.concat([Buffer.from(head, 'latin1'), Buffer.from(`${'0'.repeat(40)} ${'a'.repeat(40)} refs/heads/`), Buffer.from([0xff, 0xfe]), Buffer.from(tail, 'latin1')]));
  const daemon = await fx.startDaemon();
  await waitUntil(() => entries().length === 4, 'four entries in quarantine/', 30_000);

  const listed = fx.relay(['quarantine', 'list']);
  t.equal(listed.status, 1, 'entries listed: exit 1');
  t.match(listed.stdout, /^ID +AGE +SIZE +REASON$/m);
  t.match(listed.stdout, /garbage-1\.push +\S+ ago +6 B +cannot parse garbage-1\.push/);
  t.match(listed.stdout, /bad-ref\.push +\S+ ago +\d+ B +\[permanent\] /);
  t.match(listed.stdout, '4 quarantined entries in');
  const rows: Row[] = JSON.parse(fx.relay(['quarantine', 'list', '--json']).stdout);
  const pushes = rows.filter((r) => !['garbage-1.push', 'bad-ref.push'].includes(r.id));
  t.match(rows.find((r) => r.id === 'bad-ref.push'), { permanent: true });
  t.equal(pushes.length, 2);
  for (const r of pushes) {
    t.match(r, { type: 'file', permanent: false, reason: /app\.git/ }, 'a push whose repository is gone, with the reason');
    t.ok(r.ageMs >= 0 && r.ageMs < 600_000 && Date.parse(r.quarantinedAt) > 0, 'age from the reason file');
  }

  // Clear errors.
  const unknown = fx.relay(['quarantine', 'retry', 'nope.push']);
  t.equal(unknown.status, 1);
  t.match(unknown.stderr, 'no quarantined entry "nope.push"; there are 4: see `relay quarantine list`');
  const noWhich = fx.relay(['quarantine', 'drop']);
  t.equal(noWhich.status, 2);
  t.match(noWhich.stderr, 'say which entries');
  const noYes = fx.relay(['quarantine', 'drop', '--all']);
  t.equal(noYes.status, 2);
  t.match(noYes.stderr, '--all removes 4 quarantined entries');
  t.equal(entries().length, 4, 'nothing removed by the refused commands');
  const permanent = fx.relay(['quarantine', 'retry', 'bad-ref.push']);
  t.equal(permanent.status, 1);
  t.match(permanent.stderr, "bad-ref.push: the record's own bytes are the cause");
  t.ok(existsSync(path.join(quarantine, 'bad-ref.push')), 'a permanent record stays unless --force');
  // Retrying what cannot be a record is safe: the running daemon sets it aside again.
  const again = fx.relay(['quarantine', 'retry', 'garbage-1.push']);
  t.equal(again.status, 0, again.stderr);
  t.match(again.stdout, `moved garbage-1.push back to ${path.join(fx.spoolDir, 'incoming', 'garbage-1.push')}`);
  await waitUntil(() => existsSync(path.join(quarantine, 'garbage-1.push')) && fx.incoming().length === 0, 'garbage-1.push quarantined again', 30_000);

  // The cause fixed: both pushes back, processed by the running daemon in push order.
  renameSync(repo.bare + '.away', repo.bare);
  const retried = fx.relay(['quarantine', 'retry', ...pushes.map((r) => r.id).reverse()]);
  t.equal(retried.status, 0, retried.stderr);
  t.match(retried.stdout, '2 entries moved back to incoming/');
  const events = await waitUntil(() => {
    const e = readJsonLines(archive);
    return e.length === 2 ? e : null;
  }, 'the two retried pushes archived', 30_000);
  t.same(events.map((e) => e.refs[0].after), shas, 'in push order');
  await waitUntil(() => fx.incoming().length === 0, 'spool drained');
  t.same(entries().sort(), ['bad-ref.push', 'garbage-1.push'], 'only the malformed records are left');

  const dropped = fx.relay(['quarantine', 'drop', 'garb', 'bad-ref.push']);
  t.equal(dropped.status, 0, dropped.stderr);
  t.match(dropped.stdout, 'dropped 2 quarantined entries');
  t.same(readdirSync(quarantine), [], 'the record and its reason file are gone');
  await waitUntil(() => JSON.parse(fx.relay(['status', '--json']).stdout).intake.quarantined === 0, 'the running daemon\'s status counts what quarantine/ holds now');
  t.equal(daemon.child.exitCode, null, 'the daemon kept running');
});

t.test('usage: listed in relay --help; its own --help; unknown subcommand', async (t) => {
  const fx = createRelayFixture({ prefix: 'relay-quarantine-usage-' });
  t.teardown(() => fx.cleanup());
  t.match(fx.relay(['--help']).stdout, /^  quarantine +spool records the daemon set aside: list \(with reason and age\), retry or drop$/m);
  const help = fx.relay(['quarantine', '--help']);
  t.equal(help.status, 0);
  t.match(help.stdout, 'usage: relay quarantine list [--wide] [--json]');
  const bad = fx.relay(['quarantine', 'purge']);
  t.equal(bad.status, 2);
  t.match(bad.stderr, 'unknown subcommand "purge"; use list, retry or drop');
});
