// Versioned schema of the store. Each migration runs once, in order, inside
// one transaction with the `PRAGMA user_version` bump, so a crash mid-way
// leaves the previous version intact. Append new migrations; never edit one
// that has shipped.

/** One schema step: `version` is the user_version after it ran. */
export interface Migration {
  version: number;
  description: string;
  sql: string;
}

/** Every migration, oldest first. */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'events, deliveries, attempts log, destination state, meta',
    sql: `
      CREATE TABLE events (
        id          TEXT PRIMARY KEY,
        time        TEXT NOT NULL,
        repo_key    TEXT NOT NULL,          -- "PROJ/slug"
        project_key TEXT NOT NULL,
        repo_slug   TEXT NOT NULL,
        repo_id     INTEGER,
        trigger     TEXT NOT NULL,
        json        TEXT,                   -- NULL once every delivery finished and was pruned
        created_at  INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX events_created ON events(created_at);

      -- One row per request a destination receives. seq orders a lane
      -- (destination, repo_key) FIFO; replays get a fresh seq (back of lane).
      CREATE TABLE deliveries (
        id               TEXT PRIMARY KEY,
        seq              INTEGER NOT NULL UNIQUE,
        event_id         TEXT NOT NULL REFERENCES events(id),
        request_index    INTEGER NOT NULL,
        destination      TEXT NOT NULL,
        repo_key         TEXT NOT NULL,
        label            TEXT NOT NULL,
        headers          TEXT NOT NULL,     -- format headers (JSON), never secrets
        signature_header TEXT,
        body_id          INTEGER,           -- bodies.id; NULL once pruned after delivery
        body_bytes       INTEGER NOT NULL,
        state            TEXT NOT NULL CHECK (state IN ('pending','in_flight','delivered','dead','dropped')),
        attempts         INTEGER NOT NULL DEFAULT 0,
        next_attempt_at  INTEGER NOT NULL,
        first_attempt_at INTEGER,
        last_attempt_at  INTEGER,
        last_status      INTEGER,
        last_error       TEXT,
        created_at       INTEGER NOT NULL,
        delivered_at     INTEGER,
        finished_at      INTEGER            -- delivered, dead or dropped
      ) STRICT;

      -- Request bodies live apart so state updates rewrite small rows only.
      CREATE TABLE bodies (
        id   INTEGER PRIMARY KEY,
        body BLOB NOT NULL
      ) STRICT;

      -- Lane heads: next pending row per (destination, repo) in FIFO order.
      CREATE INDEX deliveries_lane ON deliveries(destination, repo_key, seq)
        WHERE state IN ('pending', 'in_flight');
      -- Status counts and filtered listings.
      CREATE INDEX deliveries_state ON deliveries(destination, state, created_at);
      CREATE INDEX deliveries_created ON deliveries(created_at);
      CREATE INDEX deliveries_event ON deliveries(event_id);
      CREATE INDEX deliveries_finished ON deliveries(finished_at) WHERE finished_at IS NOT NULL;

      -- The delivery log: every attempt, bounded by age and rows.
      CREATE TABLE attempts (
        id               INTEGER PRIMARY KEY,
        delivery_id      TEXT NOT NULL,
        destination      TEXT NOT NULL,
        time             INTEGER NOT NULL,
        outcome          TEXT NOT NULL CHECK (outcome IN ('delivered','retry','dead')),
        status           INTEGER,
        latency_ms       INTEGER NOT NULL,
        error            TEXT,
        response_excerpt TEXT,
        location         TEXT,
        url              TEXT NOT NULL      -- redacted
      ) STRICT;
      CREATE INDEX attempts_delivery ON attempts(delivery_id, time);
      CREATE INDEX attempts_destination ON attempts(destination, time);

      CREATE TABLE destination_state (
        name                 TEXT PRIMARY KEY,
        paused               INTEGER NOT NULL DEFAULT 0,
        circuit_open         INTEGER NOT NULL DEFAULT 0,
        consecutive_failures INTEGER NOT NULL DEFAULT 0,
        circuit_opened_at    INTEGER,
        next_probe_at        INTEGER,
        last_success_at      INTEGER,
        last_error           TEXT,
        last_error_at        INTEGER
      ) STRICT;

      CREATE TABLE meta (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL
      ) STRICT;
    `,
  },
  {
    version: 2,
    description: 'events.deliveries: how many delivery rows enqueue wrote (store invariant check)',
    sql: `ALTER TABLE events ADD COLUMN deliveries INTEGER;`,
  },
  {
    version: 3,
    description: 'indexes for the web pages: filtered delivery listings and the attempts log by time',
    sql: `
      -- Filters of the deliveries page, each newest first without a sort.
      CREATE INDEX deliveries_repo ON deliveries(repo_key, created_at);
      CREATE INDEX deliveries_status ON deliveries(last_status, created_at) WHERE last_status IS NOT NULL;
      CREATE INDEX deliveries_state_created ON deliveries(state, created_at);
      CREATE INDEX events_trigger ON events(trigger, created_at);
      -- Chart series start at "7 days ago" without scanning the whole log.
      CREATE INDEX attempts_time ON attempts(time);
    `,
  },
  {
    version: 4,
    description: 'attempts: kind-neutral target (was url) and a short detail (e.g. a broker ack)',
    // RENAME keeps every existing row readable: an http attempt's url is its target.
    sql: `
      ALTER TABLE attempts RENAME COLUMN url TO target;
      ALTER TABLE attempts ADD COLUMN detail TEXT;
    `,
  },
  {
    version: 5,
    description: 'indexes bounding status and the failed-deliveries listing with 1,000,000 rows',
    sql: `
      -- Status: a destination's last success and last failure in one seek each.
      CREATE INDEX attempts_outcome ON attempts(destination, outcome, time);
      -- Status counts (queued, retrying, dead) from the index alone: with attempts in it, counting
      -- 100,000 dead letters reads no table rows. Same name, so nothing else changes.
      DROP INDEX deliveries_state;
      CREATE INDEX deliveries_state ON deliveries(destination, state, created_at, attempts);
      -- "failed" (listDeliveries): only the failing rows, newest first; the expression must stay
      -- word for word the one listDeliveries uses, or SQLite will not use this index.
      CREATE INDEX deliveries_failed ON deliveries(created_at, seq) WHERE (state = 'dead' OR (state IN ('pending', 'in_flight') AND attempts > 0));
    `,
  },
  {
    version: 6,
    description: 'known refs per repository and the ref updates already relayed (reconciliation, one event per update)',
    sql: `
      -- A repository the daemon has seen (first sight records refs without events).
      CREATE TABLE known_repos (
        repo_path  TEXT PRIMARY KEY,
        first_seen INTEGER NOT NULL
      ) STRICT;
      -- Refs as the relay last knew them: updated in the transaction of each event.
      CREATE TABLE known_refs (
        repo_path TEXT NOT NULL,
        ref       TEXT NOT NULL,
        sha       TEXT NOT NULL,
        PRIMARY KEY (repo_path, ref)
      ) STRICT, WITHOUT ROWID;
      -- One row per (repository, ref, before, after) relayed: the same update reported again
      -- (hook and hook script, hook and reconciliation, a retried hook) makes no second event.
      CREATE TABLE ref_updates (
        repo_path TEXT NOT NULL,
        ref       TEXT NOT NULL,
        before    TEXT NOT NULL,
        after     TEXT NOT NULL,
        event_id  TEXT,
        source    TEXT NOT NULL,            -- 'hook' | 'reconciled'
        time      INTEGER NOT NULL,
        PRIMARY KEY (repo_path, ref, before, after)
      ) STRICT, WITHOUT ROWID;
      CREATE INDEX ref_updates_time ON ref_updates(source, time);
    `,
  },
  {
    version: 7,
    description: 'who paused a destination and since when (status shows it)',
    sql: `
      ALTER TABLE destination_state ADD COLUMN paused_at INTEGER;
      ALTER TABLE destination_state ADD COLUMN paused_by TEXT;
    `,
  },
  {
    version: 8,
    description: "attempts: the receiver's response headers (JSON, redacted and capped) for relay show",
    sql: `
      ALTER TABLE attempts ADD COLUMN response_headers TEXT;
    `,
  },
  {
    version: 9,
    description: "attempts: per-phase timings of an http attempt (JSON: dnsMs, tcpMs, tlsMs, firstByteMs, totalMs, reused)",
    sql: `
      ALTER TABLE attempts ADD COLUMN timings TEXT;
    `,
  },
];

/** The schema version this build writes. */
export const SCHEMA_VERSION: number = MIGRATIONS[MIGRATIONS.length - 1].version;
