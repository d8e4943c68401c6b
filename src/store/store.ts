// The durable store: one SQLite file (node:sqlite, WAL, synchronous=FULL)
// holding events, the delivery queue, the attempts log and per-destination
// state. The daemon is the only writer; the CLI may open it read-only while the
// daemon runs (WAL lets readers and the writer proceed together).

import { DatabaseSync, type StatementSync } from 'node:sqlite';
import { closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import { MIGRATIONS, SCHEMA_VERSION } from './migrations.ts';
import { redactText } from '../log/redact.ts';
import { FALLBACK_AUTOCHECKPOINT_PAGES, startCheckpointer, type Checkpointer } from './checkpointer.ts';

/** Retention and size bounds (from config `store`); changeable on reload. */
export interface StoreLimits {
  /** Bound on the store's live size; at it intake stops (see isFull). */
  maxBytes: number;
  /** Attempts log rows, and delivered/dropped delivery rows, older than this are deleted. */
  logMaxAgeMs: number;
  /** At most this many attempts log rows are kept (oldest go first). */
  logMaxRows: number;
  /** Bodies of delivered/dropped deliveries are dropped this long after they finished. */
  bodyMaxAgeMs: number;
}

/** Defaults matching the config defaults (2 GiB, 30 days, 1M rows, bodies 1 day). */
export const DEFAULT_LIMITS: StoreLimits = {
  maxBytes: 2 * 1024 ** 3,
  logMaxAgeMs: 30 * 86_400_000,
  logMaxRows: 1_000_000,
  bodyMaxAgeMs: 86_400_000,
};

/** What changed in the queue, so a dispatcher in the same process can react at once. */
export type StoreChange =
  | { kind: 'enqueued'; lanes: { destination: string; repoKey: string }[] }
  | { kind: 'requeued'; destinations: string[] }
  /** The operator asked to send now: an open circuit's probe is due at once. */
  | { kind: 'probe-now'; destination: string }
  | { kind: 'paused' | 'resumed'; destination: string };

/** Listener for queue changes made through this Store handle. */
export type StoreListener = (change: StoreChange) => void;

/** An open store. */
export interface Store {
  readonly path: string;
  readonly readOnly: boolean;
  readonly db: DatabaseSync;
  limits: StoreLimits;
  /** A prepared statement, cached per SQL text. */
  statement(sql: string): StatementSync;
  /**
   * Run `fn` inside BEGIN IMMEDIATE … COMMIT (ROLLBACK if it throws). Commits
   * are fsync'd (synchronous=FULL) unless `durable: false`: then the commit
   * survives a process crash but may be lost with the machine's power — fine
   * for delivery bookkeeping, whose loss only means a resend. A later durable
   * commit makes earlier ones durable too (the WAL is sequential).
   */
  transaction<T>(fn: () => T, options?: { durable?: boolean }): T;
  /**
   * The next FIFO sequence number: the writer's counter, re-read from the
   * store at the first call in each transaction (so a number another writer
   * used is never handed out again).
   */
  nextSeq(): number;
  /**
   * Masks secrets in text the store keeps from receivers and the network
   * (attempt errors, response excerpts, locations, URLs, last errors): the
   * daemon sets it from the config (configRedactor) at start and on reload.
   */
  redact: (text: string) => string;
  /** Subscribe to queue changes; returns the unsubscribe function. */
  onChange(listener: StoreListener): () => void;
  /** Tell subscribers about a change (called by the store's own functions). */
  notify(change: StoreChange): void;
  close(): void;
}

/** Options of openStore. */
export interface OpenStoreOptions {
  /** Open without writing (CLI while the daemon runs). Fails if the file is missing. */
  readOnly?: boolean;
  limits?: Partial<StoreLimits>;
  /** How long to wait on a lock held by another connection (ms). */
  busyTimeoutMs?: number;
  /** Checkpoint the WAL once a second (default for writers); false: SQLite's inline auto-checkpoint only. */
  checkpointTimer?: boolean;
}

/** A store problem an operator can act on (message names the file and the fix). */
export class StoreError extends Error {
  override name = 'StoreError';
}

/** Open (creating and migrating, unless readOnly) the store at `path`. */
export function openStore(path: string, options: OpenStoreOptions = {}): Store {
  const readOnly = options.readOnly ?? false;
  if (readOnly && !existsSync(path)) {
    throw new StoreError(`store ${path} does not exist; start the daemon once to create it, or check store.path`);
  }
  if (!readOnly && !existsSync(path)) createPrivateFile(path);

  let db: DatabaseSync;
  try {
    db = new DatabaseSync(path, { readOnly, timeout: options.busyTimeoutMs ?? 5000 });
  } catch (err) {
    throw new StoreError(`cannot open store ${path}: ${(err as Error).message}; check the path and that the service user may ${readOnly ? 'read' : 'write'} it and its directory`);
  }
  try {
    if (!readOnly) {
      db.exec('PRAGMA journal_mode = WAL');
      db.exec('PRAGMA synchronous = FULL');
      // Keep a checkpointed WAL from staying huge after a burst.
      db.exec('PRAGMA journal_size_limit = 67108864');
      if (options.checkpointTimer !== false) db.exec(`PRAGMA wal_autocheckpoint = ${FALLBACK_AUTOCHECKPOINT_PAGES}`);
      migrate(db, path);
    } else {
      checkReadableVersion(db, path);
    }
  } catch (err) {
    db.close();
    throw err;
  }
  const checkpointer = readOnly || options.checkpointTimer === false ? null : startCheckpointer(db);
  return wrapStore(db, path, readOnly, { ...DEFAULT_LIMITS, ...options.limits }, checkpointer);
}

/** Replace the retention/size bounds (config reload). */
export function setStoreLimits(store: Store, limits: Partial<StoreLimits>): void {
  store.limits = { ...store.limits, ...limits };
}

function createPrivateFile(path: string): void {
  const dir = dirname(path);
  try {
    // mode applies only to directories this call creates.
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    closeSync(openSync(path, 'a', 0o600));
  } catch (err) {
    throw new StoreError(`cannot create store ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}; check that ${dir} exists and the service user may write it (store.path)`);
  }
}

function userVersion(db: DatabaseSync): number {
  return Number((db.prepare('PRAGMA user_version').get() as { user_version: number }).user_version);
}

function migrate(db: DatabaseSync, path: string): void {
  const current = userVersion(db);
  if (current > SCHEMA_VERSION) {
    throw new StoreError(`store ${path} has schema version ${current}, newer than this relay understands (${SCHEMA_VERSION}); upgrade bitbucket-relay or point store.path at another file`);
  }
  for (const m of MIGRATIONS) {
    if (m.version <= current) continue;
    db.exec('BEGIN IMMEDIATE');
    try {
      db.exec(m.sql);
      db.exec(`PRAGMA user_version = ${m.version}`);
      if (m.version === 1) {
        db.prepare('INSERT OR IGNORE INTO meta(key, value) VALUES (?, ?)').run('created_at', new Date().toISOString());
      }
      db.exec('COMMIT');
    } catch (err) {
      db.exec('ROLLBACK');
      throw new StoreError(`store ${path}: migration to schema ${m.version} (${m.description}) failed: ${(err as Error).message}`);
    }
  }
}

function checkReadableVersion(db: DatabaseSync, path: string): void {
  const v = userVersion(db);
  if (v === SCHEMA_VERSION) return;
  if (v > SCHEMA_VERSION) throw new StoreError(`store ${path} has schema version ${v}, newer than this relay understands (${SCHEMA_VERSION}); upgrade bitbucket-relay`);
  throw new StoreError(`store ${path} has schema version ${v}, older than this relay (${SCHEMA_VERSION}); start the daemon once so it migrates the store`);
}

function wrapStore(db: DatabaseSync, path: string, readOnly: boolean, limits: StoreLimits, checkpointer: Checkpointer | null): Store {
  const statements = new Map<string, StatementSync>();
  const listeners = new Set<StoreListener>();
  const maxSeq = readOnly ? null : db.prepare('SELECT coalesce(max(seq), 0) AS s FROM deliveries');
  let seq = maxSeq ? Number((maxSeq.get() as { s: number }).s) : 0;
  let seqChecked = false;
  let depth = 0;
  // Changes announced inside a transaction reach listeners only after COMMIT
  // (a listener reading the same connection earlier would see rows a rollback
  // then takes away: a delivery sent with its body already gone).
  let held: StoreChange[] = [];
  const announce = (change: StoreChange): void => {
    for (const l of listeners) l(change);
  };
  const store: Store = {
    path,
    readOnly,
    db,
    limits,
    redact: (text) => redactText(text, []),
    statement(sql) {
      let s = statements.get(sql);
      if (!s) {
        s = db.prepare(sql);
        statements.set(sql, s);
      }
      return s;
    },
    transaction(fn, options) {
      // Nested calls join the outer transaction.
      if (depth > 0) return fn();
      const relaxed = options?.durable === false && !readOnly;
      if (relaxed) db.exec('PRAGMA synchronous = NORMAL');
      db.exec('BEGIN IMMEDIATE');
      seqChecked = false;
      depth++;
      let committed = false;
      try {
        const out = fn();
        db.exec('COMMIT');
        committed = true;
        return out;
      } catch (err) {
        if (db.isTransaction) db.exec('ROLLBACK');
        throw err;
      } finally {
        depth--;
        if (relaxed) db.exec('PRAGMA synchronous = FULL');
        const changes = held;
        held = [];
        if (committed) for (const c of changes) announce(c);
      }
    },
    nextSeq() {
      if (readOnly) throw new StoreError(`store ${path} is open read-only; only the daemon writes it`);
      if (!seqChecked && maxSeq && db.isTransaction) {
        // Under the write lock: cheap (the unique index's last entry).
        seq = Math.max(seq, Number((maxSeq.get() as { s: number }).s));
        seqChecked = true;
      }
      return ++seq;
    },
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    notify(change) {
      if (depth > 0) held.push(change);
      else announce(change);
    },
    close() {
      statements.clear();
      listeners.clear();
      checkpointer?.stop();
      if (db.isOpen) db.close();
    },
  };
  return store;
}
