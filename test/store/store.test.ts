// The store on real SQLite files: migrations, permissions, enqueue (batched,
// atomic, idempotent), read-only access, queue bookkeeping.

import t from 'tap';
import { statSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { openStore, StoreError } from '../../src/store/store.ts';
import { SCHEMA_VERSION, MIGRATIONS } from '../../src/store/migrations.ts';
import { enqueue } from '../../src/store/enqueue.ts';
import { assessStatus, collectStatus } from '../../src/admin/status-report.ts';
import { defaultConfig } from '../../src/config/load-config.ts';
import { findMissingDeliveries, describeMissingDeliveries, DeliveryRowsCheck } from '../../src/store/invariants.ts';
import { deliveryIdFor } from '../../src/route/delivery-id.ts';
import { showDelivery } from '../../src/store/queries.ts';
import { applyQueueWrites, laneHead, laneRows, pendingLanes, readBody, recoverInFlight } from '../../src/store/queue.ts';
import { items, jsonRequest, makeEvent, tempDir } from '../deliver/fixtures.ts';

t.test('migrates an empty file to the current schema, private modes', async (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'state', 'relay.db');
  const store = openStore(path);
  t.equal(SCHEMA_VERSION, MIGRATIONS.at(-1)!.version);
  const v = store.db.prepare('PRAGMA user_version').get() as { user_version: number };
  t.equal(v.user_version, SCHEMA_VERSION, 'user_version bumped');
  const tables = (store.db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name`).all() as { name: string }[]).map((r) => r.name);
  t.same(tables, ['attempts', 'bodies', 'deliveries', 'destination_state', 'events', 'known_refs', 'known_repos', 'meta', 'ref_updates']);
  const mode = (store.db.prepare('PRAGMA journal_mode').get() as { journal_mode: string }).journal_mode;
  t.equal(mode, 'wal');
  const sync = (store.db.prepare('PRAGMA synchronous').get() as { synchronous: number }).synchronous;
  t.equal(sync, 2, 'synchronous=FULL');
  enqueue(store, items([makeEvent('e1')], ['ci']));
  t.equal(statSync(path).mode & 0o777, 0o600, 'db file 0600');
  t.equal(statSync(path + '-wal').mode & 0o777, 0o600, 'WAL inherits 0600');
  t.equal(statSync(join(dir, 'state')).mode & 0o777, 0o700, 'created dir 0700');
  store.close();
  // Reopening runs no migration and keeps data.
  const again = openStore(path);
  t.equal((again.db.prepare('SELECT count(*) AS n FROM events').get() as { n: number }).n, 1);
  again.close();
});

t.test('a store written before destination kinds (attempts.url) migrates; its attempts stay readable as target', async (t) => {
  const path = join(tempDir(t), 'relay.db');
  const v1 = MIGRATIONS.find((m) => m.version === 1)!;
  const raw = new DatabaseSync(path);
  raw.exec(v1.sql);
  raw.exec('PRAGMA user_version = 1');
  raw.prepare(`INSERT INTO events (id, time, repo_key, project_key, repo_slug, repo_id, trigger, json, created_at) VALUES ('e1', 't', 'PROJ/r', 'PROJ', 'r', NULL, 'push', '{}', 1)`).run();
  raw.prepare(`INSERT INTO deliveries (id, seq, event_id, request_index, destination, repo_key, label, headers, body_bytes, state, next_attempt_at, created_at)
    VALUES ('d1', 1, 'e1', 0, 'ci', 'PROJ/r', 'push', '{}', 0, 'dead', 1, 1)`).run();
  raw.prepare(`INSERT INTO attempts (delivery_id, destination, time, outcome, status, latency_ms, error, url) VALUES ('d1', 'ci', 5, 'dead', 404, 7, 'HTTP 404', 'https://ci.example/hook?token=***')`).run();
  raw.close();

  const store = openStore(path);
  t.teardown(() => store.close());
  t.equal((store.db.prepare('PRAGMA user_version').get() as { user_version: number }).user_version, SCHEMA_VERSION);
  const shown = showDelivery(store, 'd1')!;
  t.match(shown.attemptLog, [{ target: 'https://ci.example/hook?token=***', status: 404, error: 'HTTP 404', detail: null }], 'the old url is the target');
});

t.test('refuses a store from a newer relay, naming the file and the fix', async (t) => {
  const path = join(tempDir(t), 'relay.db');
  const raw = new DatabaseSync(path);
  raw.exec(`PRAGMA user_version = ${SCHEMA_VERSION + 1}`);
  raw.close();
  let err: unknown;
  try {
    openStore(path);
  } catch (e) {
    err = e;
  }
  t.ok(err instanceof StoreError, 'StoreError');
  t.match((err as Error).message, path);
  t.match((err as Error).message, /newer than this relay understands.*upgrade bitbucket-relay/);
});

t.test('read-only open: missing file is an actionable error; sees the writer; cannot write', async (t) => {
  const path = join(tempDir(t), 'relay.db');
  t.throws(() => openStore(path, { readOnly: true }), /does not exist; start the daemon once/);
  t.notOk(existsSync(path), 'read-only open did not create the file');
  const writer = openStore(path);
  enqueue(writer, items([makeEvent('e1')], ['ci']));
  const reader = openStore(path, { readOnly: true });
  t.equal((reader.db.prepare('SELECT count(*) AS n FROM deliveries').get() as { n: number }).n, 1);
  enqueue(writer, items([makeEvent('e2')], ['ci']));
  t.equal((reader.db.prepare('SELECT count(*) AS n FROM deliveries').get() as { n: number }).n, 2, 'reader sees later commits');
  t.throws(() => enqueue(reader, items([makeEvent('e3')], ['ci'])), 'read-only handle cannot enqueue');
  reader.close();
  writer.close();
  // With the writer closed (WAL checkpointed away) a read-only open still works.
  const late = openStore(path, { readOnly: true });
  t.equal((late.db.prepare('SELECT count(*) AS n FROM deliveries').get() as { n: number }).n, 2);
  late.close();
});

t.test('enqueue: one row per request, stable ids, FIFO seq, idempotent, notifies', async (t) => {
  const store = openStore(join(tempDir(t), 'relay.db'));
  t.teardown(() => store.close());
  const changes: unknown[] = [];
  store.onChange((c) => changes.push(c));
  const e1 = makeEvent('e1', { slug: 'a' });
  const e2 = makeEvent('e2', { slug: 'b' });
  const r = enqueue(store, [
    { event: e1, deliveries: [{ destination: 'ci', requests: [jsonRequest(1, 'refs/heads/main'), jsonRequest(2, 'refs/tags/v1')] }, { destination: 'jira', requests: [jsonRequest(3)] }] },
    { event: e2, deliveries: [{ destination: 'ci', requests: [jsonRequest(4)] }] },
  ]);
  t.same(r, { events: 2, deliveries: 4, duplicates: 0 });
  const rows = store.db.prepare('SELECT id, seq, destination, repo_key, label, request_index FROM deliveries ORDER BY seq').all() as any[];
  t.same(rows.map((x) => x.id), [deliveryIdFor('e1', 'ci', 0), deliveryIdFor('e1', 'ci', 1), deliveryIdFor('e1', 'jira', 0), deliveryIdFor('e2', 'ci', 0)]);
  t.match(rows[0].id, /^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/, 'UUID-shaped (v8)');
  t.ok(rows.every((x, i) => i === 0 || x.seq > rows[i - 1].seq), 'seq grows in enqueue order');
  t.same(rows.map((x) => x.repo_key), ['PROJ/a', 'PROJ/a', 'PROJ/a', 'PROJ/b']);
  t.equal(deliveryIdFor('e1', 'ci', 0), deliveryIdFor('e1', 'ci', 0), 'deterministic');
  t.not(deliveryIdFor('e1', 'ci', 0), deliveryIdFor('e1', 'ci', 1));
  t.same(changes, [{ kind: 'enqueued', lanes: [{ destination: 'ci', repoKey: 'PROJ/a' }, { destination: 'jira', repoKey: 'PROJ/a' }, { destination: 'ci', repoKey: 'PROJ/b' }] }]);

  // A re-processed spool record (crash before removal) writes nothing new.
  const again = enqueue(store, [{ event: e1, deliveries: [{ destination: 'ci', requests: [jsonRequest(1)] }] }]);
  t.same(again, { events: 0, deliveries: 0, duplicates: 1 });
  t.equal((store.db.prepare('SELECT count(*) AS n FROM deliveries').get() as any).n, 4);
  const names = (store.db.prepare('SELECT name FROM destination_state ORDER BY name').all() as any[]).map((x) => x.name);
  t.same(names, ['ci', 'jira'], 'destinations registered for status');
});

t.test('enqueue is atomic for the whole batch', async (t) => {
  const store = openStore(join(tempDir(t), 'relay.db'));
  t.teardown(() => store.close());
  const bad = { headers: {}, body: undefined as unknown as Buffer, signatureHeader: null, label: 'x' };
  t.throws(() =>
    enqueue(store, [
      { event: makeEvent('ok'), deliveries: [{ destination: 'ci', requests: [jsonRequest(1)] }] },
      { event: makeEvent('broken'), deliveries: [{ destination: 'ci', requests: [bad] }] },
    ]),
  );
  t.equal((store.db.prepare('SELECT count(*) AS n FROM events').get() as any).n, 0, 'first event rolled back too');
  t.equal((store.db.prepare('SELECT count(*) AS n FROM deliveries').get() as any).n, 0);
  t.notOk(store.db.isTransaction, 'no transaction left open');
  enqueue(store, items([makeEvent('ok')], ['ci']));
  t.equal((store.db.prepare('SELECT count(*) AS n FROM deliveries').get() as any).n, 1, 'store usable afterwards');
});

t.test('lane heads, in-flight recovery and queued writes', async (t) => {
  const store = openStore(join(tempDir(t), 'relay.db'));
  t.teardown(() => store.close());
  enqueue(store, items([makeEvent('a1', { slug: 'a' }), makeEvent('b1', { slug: 'b' }), makeEvent('a2', { slug: 'a' })], ['ci']), 1000);
  t.same(pendingLanes(store, 'ci').sort(), ['PROJ/a', 'PROJ/b']);
  const head = laneHead(store, 'ci', 'PROJ/a', 0)!;
  t.equal(head.eventId, 'a1');
  t.equal(head.repoId, 7);
  t.same(JSON.parse(readBody(store, head.bodyId).toString()), { event: 'a1', repo: 'a' });
  t.same(laneRows(store, 'ci', 'PROJ/a', 0, 10).map((d) => d.eventId), ['a1', 'a2'], 'prefetch in FIFO order');
  t.equal(laneHead(store, 'ci', 'PROJ/a', head.seq)!.eventId, 'a2', 'cursor skips finished rows');

  applyQueueWrites(store, [{ kind: 'in_flight', id: head.id }]);
  t.equal(recoverInFlight(store), 1, 'crash-left in_flight row counted');
  t.equal((store.db.prepare('SELECT state FROM deliveries WHERE id = ?').get(head.id) as any).state, 'pending');

  const attempt = (outcome: 'delivered' | 'retry' | 'dead', status: number | null) => ({
    deliveryId: head.id, destination: 'ci', time: 2000, outcome, status, latencyMs: 5, error: status === 200 ? null : 'boom', responseExcerpt: null, location: null, detail: null, target: 'http://x/',
  });
  applyQueueWrites(store, [
    { kind: 'in_flight', id: head.id },
    { kind: 'attempt', attempt: attempt('retry', 503), attempts: 1, firstAttemptAt: 2000, nextAttemptAt: 5000 },
  ]);
  let row = store.db.prepare('SELECT * FROM deliveries WHERE id = ?').get(head.id) as any;
  t.match(row, { state: 'pending', attempts: 1, next_attempt_at: 5000, last_status: 503, last_error: 'boom', first_attempt_at: 2000 });
  applyQueueWrites(store, [{ kind: 'attempt', attempt: { ...attempt('delivered', 200), time: 6000 }, attempts: 2, firstAttemptAt: 2000, nextAttemptAt: 6000 }]);
  row = store.db.prepare('SELECT * FROM deliveries WHERE id = ?').get(head.id) as any;
  t.match(row, { state: 'delivered', attempts: 2, delivered_at: 6000, finished_at: 6000, last_error: null });
  t.equal((store.db.prepare('SELECT count(*) AS n FROM attempts WHERE delivery_id = ?').get(head.id) as any).n, 2, 'both attempts logged');
  t.same(pendingLanes(store, 'ci').sort(), ['PROJ/a', 'PROJ/b'], 'a2 still pending');
});

t.test('two writers on one store: no delivery row is ever dropped; a conflict is an error; the invariant check finds missing rows', async (t) => {
  const path = join(tempDir(t), 'relay.db');
  // Two handles, each with its own sequence counter (two daemons on one store, as found by the fault run).
  const a = openStore(path);
  const b = openStore(path);
  t.teardown(() => {
    a.close();
    b.close();
  });
  enqueue(a, items([makeEvent('from-a-1')], ['ci']));
  enqueue(b, items([makeEvent('from-b-1')], ['ci']));
  enqueue(a, items([makeEvent('from-a-2')], ['ci']));
  const perEvent = a.db.prepare('SELECT e.id, (SELECT count(*) FROM deliveries d WHERE d.event_id = e.id) AS n FROM events e ORDER BY e.id').all() as { id: string; n: number }[];
  t.same(perEvent.map((r) => [r.id, Number(r.n)]), [['from-a-1', 1], ['from-a-2', 1], ['from-b-1', 1]], 'every event kept its delivery row');
  const seqs = (a.db.prepare('SELECT seq FROM deliveries ORDER BY seq').all() as { seq: number }[]).map((r) => Number(r.seq));
  t.same(seqs, [1, 2, 3], 'each writer continues after the other\'s numbers');
  t.same(findMissingDeliveries(a).missing, [], 'invariant holds');

  // A row that cannot be inserted fails the whole batch (the spool record stays), it is not skipped.
  const orphanId = deliveryIdFor('clash', 'ci', 0);
  a.db.prepare(`INSERT INTO deliveries (id, seq, event_id, request_index, destination, repo_key, label, headers, body_bytes, state, next_attempt_at, created_at)
    VALUES (?, 100, 'from-a-1', 9, 'ci', 'PROJ/x', 'push', '{}', 0, 'delivered', 0, 0)`).run(orphanId);
  t.throws(() => enqueue(a, items([makeEvent('fine'), makeEvent('clash')], ['ci'])), { name: 'StoreError', message: /cannot queue delivery .* \(event clash → ci, seq \d+\): .*UNIQUE.*its spool records stay and are retried/ });
  t.equal((a.db.prepare(`SELECT count(*) AS n FROM events WHERE id IN ('fine', 'clash')`).get() as any).n, 0, 'nothing of the batch stored');

  // A row lost by any other means is reported by the check, naming the event.
  a.db.prepare('DELETE FROM deliveries WHERE event_id = ?').run('from-b-1');
  const found = findMissingDeliveries(a);
  t.same(found.missing, [{ eventId: 'from-b-1', repoKey: 'PROJ/repo', expected: 1, found: 0 }]);
  t.match(describeMissingDeliveries(a.path, found.missing), /is inconsistent: 1 event lacks 1 delivery row: from-b-1 \(PROJ\/repo, 0 of 1\)/);
  const check = new DeliveryRowsCheck(a);
  t.equal(check.run().length, 1);
  enqueue(a, items([makeEvent('later')], ['ci']));
  t.equal(check.run().length, 1, 'incremental run keeps what it found and checks only new events');
  // In chunks (the daemon's start-up check): a few events per run, until it reaches the newest.
  const chunked = new DeliveryRowsCheck(a, 2);
  const runs: [number, boolean][] = [];
  do runs.push([chunked.run().length, chunked.caughtUp]); while (!chunked.caughtUp && runs.length < 10);
  const newest = Number((a.db.prepare('SELECT max(rowid) AS n FROM events').get() as { n: number }).n);
  t.equal(runs.length, Math.ceil(newest / 2), `events up to rowid ${newest}, 2 rowids per run`);
  t.same(runs.map(([, caughtUp]) => caughtUp), [...Array(runs.length - 1).fill(false), true], 'caught up with the last run only');
  t.equal(runs.at(-1)![0], 1, 'and found the event lacking its row');
});

t.test('relay status (daemon down) reports events lacking delivery rows as attention', async (t) => {
  const path = join(tempDir(t), 'relay.db');
  const store = openStore(path);
  t.teardown(() => store.close());
  enqueue(store, items([makeEvent('kept'), makeEvent('lost')], ['ci']));
  const config = { ...defaultConfig(), store: { ...defaultConfig().store, path } };
  t.same(assessStatus(collectStatus({ config, store })).store.problems, [], 'consistent store: no problem');
  store.db.prepare('DELETE FROM deliveries WHERE event_id = ?').run('lost');
  const report = assessStatus(collectStatus({ config, store }));
  t.match(report.store.problems, [/is inconsistent: 1 event lacks 1 delivery row: lost \(PROJ\/repo, 0 of 1\)/]);
  t.ok(report.attention.some((a) => a.includes('lacks 1 delivery row')), 'an attention item');
  t.notOk(report.healthy);
});

t.test('changes announced inside a transaction reach listeners only after COMMIT, never after a rollback', async (t) => {
  const store = openStore(join(t.testdir(), 'relay.db'));
  t.teardown(() => store.close());
  const seen: string[] = [];
  store.onChange((c) => seen.push(c.kind));
  // The daemon's group commit nests enqueue in an outer transaction; a later
  // write of that transaction can fail (SQLITE_FULL) and roll the rows back.
  t.throws(() =>
    store.transaction(() => {
      store.transaction(() => store.notify({ kind: 'requeued', destinations: ['ci'] }));
      t.same(seen, [], 'not announced while the transaction is open');
      throw new Error('a later write failed');
    }),
  );
  t.same(seen, [], 'a rolled-back change is never announced');
  store.transaction(() => store.notify({ kind: 'paused', destination: 'ci' }));
  t.same(seen, ['paused'], 'announced once committed');
  store.notify({ kind: 'resumed', destination: 'ci' });
  t.same(seen, ['paused', 'resumed'], 'outside a transaction at once');
});
