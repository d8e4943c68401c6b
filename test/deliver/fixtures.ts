// Shared test fixtures for store and delivery tests: temp dirs, minimal
// PushEvents, rendered requests, http destinations with small delays, polling.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { HttpDestination } from '../../src/destinations/http/config.ts';
import type { PushEvent } from '../../src/event/push-event.ts';
import type { RenderedRequest } from '../../src/formats/format-types.ts';
import type { EnqueueItem } from '../../src/store/enqueue.ts';

/** Something with teardown (a tap Test). */
export interface HasTeardown {
  teardown(fn: () => unknown): void;
}

/** A temp dir removed when the test ends. */
export function tempDir(t: HasTeardown, prefix = 'relay-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A minimal valid PushEvent for repository PROJ/slug. */
export function makeEvent(id: string, repo: { projectKey?: string; slug?: string; id?: number | null } = {}): PushEvent {
  const projectKey = repo.projectKey ?? 'PROJ';
  const slug = repo.slug ?? 'repo';
  return {
    id,
    schemaVersion: 1,
    time: new Date(0).toISOString(),
    node: 'test-node',
    trigger: 'push',
    triggerId: null,
    actor: { name: 'alice' },
    repository: {
      projectKey,
      slug,
      id: repo.id === undefined ? 7 : repo.id,
      name: slug,
      path: `/tmp/${slug}.git`,
      baseUrl: null,
      links: { self: null, clone: null },
      public: null,
      fork: null,
      identitySource: 'env',
    },
    refs: [],
    commits: {},
    totalCommits: 0,
    truncated: false,
    errors: [],
  };
}

/** A rendered JSON request whose body is `{"event": id, ...extra}`. */
export function jsonRequest(payload: unknown, label = 'push', signatureHeader: string | null = 'X-Hub-Signature'): RenderedRequest {
  return { headers: { 'Content-Type': 'application/json', 'X-Event-Key': 'repo:refs_changed' }, body: Buffer.from(JSON.stringify(payload)), signatureHeader, label };
}

/** Enqueue items for events to destinations, one request each (body names the event). */
export function items(events: PushEvent[], destinations: string[]): EnqueueItem[] {
  return events.map((event) => ({
    event,
    deliveries: destinations.map((destination) => ({ destination, requests: [jsonRequest({ event: event.id, repo: event.repository.slug })] })),
  }));
}

/** An http destination with test-sized timeouts and retry delays. */
export function httpDest(name: string, url: string, overrides: Partial<HttpDestination> = {}): HttpDestination {
  return {
    name,
    type: 'http',
    enabled: true,
    url,
    method: 'POST',
    format: 'cloudevents',
    formatOptions: {},
    headers: {},
    timeout: { connectMs: 1000, responseMs: 1000, totalMs: 60_000 },
    concurrency: 4,
    tls: { verify: true },
    retry: { baseDelayMs: 20, maxDelayMs: 100, horizonMs: 60_000 },
    followRedirects: false,
    ...overrides,
  };
}

/** Poll `check` until it returns true (rejects after timeoutMs with `what`). */
export async function waitUntil(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
