// Pull-request details from the local Bitbucket REST API
// (`GET /rest/api/latest/projects/{key}/repos/{slug}/pull-requests/{id}`),
// once per merge, for what the hook environment lacks: title, description,
// version, dates, author, reviewers, participants, link. The request goes
// through the shared REST client (rest-client.ts: base URL, token, TLS); this
// module bounds it by the timeout, caches answers, and turns anything that
// goes wrong into an `errors[]` entry — delivery is never held longer than
// the timeout, and the event keeps what the hook knew.

import type { AnalysisError, BitbucketUser, PullRequestInfo, PullRequestParticipant, PushEvent } from '../event/push-event.ts';
import type { RelayConfig } from '../config/config-types.ts';
import { createRestClient } from './rest-client.ts';

/** GETs one REST path (under the Bitbucket base URL) and returns its JSON; rejects with a message fit for the operator (no token in it). */
export type FetchJson = (path: string, signal: AbortSignal) => Promise<unknown>;

/** What the pull-request details of the REST API fill in. */
export type RestPullRequestDetails = Pick<PullRequestInfo, 'title' | 'description' | 'version' | 'createdDate' | 'updatedDate' | 'closedDate' | 'author' | 'reviewers' | 'participants' | 'url'> & {
  fromRef: string | null;
  fromHash: string | null;
  mergeHash: string | null;
};

/** The fields the hook cannot give, named in errors[] when they stay unfilled. */
export const REST_ONLY_FIELDS = 'description, reviewers, participants, dates and version';

/** REST path of a pull request (the API version Bitbucket 5 to 9 all serve). */
export function pullRequestPath(projectKey: string, slug: string, id: number): string {
  return `/rest/api/latest/projects/${encodeURIComponent(projectKey)}/repos/${encodeURIComponent(slug)}/pull-requests/${id}`;
}

const ROLES = new Set(['AUTHOR', 'REVIEWER', 'PARTICIPANT']);
const STATUSES = new Set(['APPROVED', 'UNAPPROVED', 'NEEDS_WORK']);

function record(v: unknown): Record<string, unknown> | null {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
}
function str(v: unknown): string | null {
  return typeof v === 'string' ? v : null;
}
function int(v: unknown): number | null {
  return typeof v === 'number' && Number.isInteger(v) ? v : null;
}

function user(v: unknown): BitbucketUser | null {
  const u = record(v);
  const name = str(u?.name);
  if (!u || name === null) return null;
  return { name, displayName: str(u.displayName), email: str(u.emailAddress), id: int(u.id), slug: str(u.slug) };
}

function participant(v: unknown, fallbackRole: PullRequestParticipant['role']): PullRequestParticipant | null {
  const p = record(v);
  const u = user(p?.user);
  if (!p || !u) return null;
  const role = str(p.role);
  const status = str(p.status);
  return {
    user: u,
    role: role !== null && ROLES.has(role) ? (role as PullRequestParticipant['role']) : fallbackRole,
    approved: p.approved === true,
    status: status !== null && STATUSES.has(status) ? (status as PullRequestParticipant['status']) : p.approved === true ? 'APPROVED' : 'UNAPPROVED',
  };
}

function participants(v: unknown, role: PullRequestParticipant['role']): PullRequestParticipant[] {
  return Array.isArray(v) ? v.map((p) => participant(p, role)).filter((p): p is PullRequestParticipant => p !== null) : [];
}

/**
 * Bitbucket's pull-request JSON (REST entity, as in its webhooks) → the
 * details the event takes; throws when it is not a pull request (no numeric id).
 */
export function detailsFromRest(json: unknown): RestPullRequestDetails {
  const pr = record(json);
  if (!pr || int(pr.id) === null) throw new Error('the answer is not a pull request (no numeric "id")');
  const links = record(pr.links);
  const self = Array.isArray(links?.self) ? record(links.self[0]) : null;
  const fromRef = record(pr.fromRef);
  const properties = record(pr.properties);
  return {
    title: str(pr.title),
    description: str(pr.description),
    version: int(pr.version),
    createdDate: int(pr.createdDate),
    updatedDate: int(pr.updatedDate),
    closedDate: int(pr.closedDate),
    author: participant(pr.author, 'AUTHOR'),
    reviewers: participants(pr.reviewers, 'REVIEWER'),
    participants: participants(pr.participants, 'PARTICIPANT'),
    url: str(self?.href),
    fromRef: str(fromRef?.id),
    fromHash: str(fromRef?.latestCommit),
    mergeHash: str(record(properties?.mergeCommit)?.id),
  };
}

/** The event's pull request with REST details merged in: REST fills what the hook left open; hook values win for refs and hashes. */
export function withRestDetails(pr: PullRequestInfo, rest: RestPullRequestDetails): PullRequestInfo {
  return {
    ...pr,
    fromRef: pr.fromRef ?? rest.fromRef,
    fromHash: pr.fromHash ?? rest.fromHash,
    mergeHash: pr.mergeHash ?? rest.mergeHash,
    title: rest.title ?? pr.title ?? null,
    description: rest.description,
    version: rest.version,
    createdDate: rest.createdDate,
    updatedDate: rest.updatedDate,
    closedDate: rest.closedDate,
    // Bitbucket's own user (real id, slug) over the hook's name-only one.
    author: rest.author ?? pr.author ?? null,
    reviewers: rest.reviewers,
    participants: rest.participants,
    url: rest.url,
    source: 'rest',
  };
}

/** How the enricher reaches Bitbucket, or why it cannot. */
export type PullRequestSource =
  | { kind: 'rest'; fetchJson: FetchJson; timeoutMs: number }
  | { kind: 'none'; reason: string };

/** Answers kept, per merge (repository, id, merge commit). */
const CACHE_ENTRIES = 256;

/**
 * Fills a merged pull request's details from the REST API, once per merge.
 * `enrich` never rejects and never takes much longer than the timeout.
 */
export class PullRequestEnricher {
  readonly #source: PullRequestSource;
  readonly #cache = new Map<string, RestPullRequestDetails>();
  /** REST requests made (for tests and status). */
  requests = 0;

  constructor(source: PullRequestSource) {
    this.#source = source;
  }

  /** Adds REST details to `event.pullRequest` (a merge with a known id), or an errors[] entry saying what stayed unfilled and why. */
  async enrich(event: PushEvent): Promise<void> {
    const pr = event.pullRequest;
    if (event.trigger !== 'pull-request-merge' || !pr || pr.id === null || pr.source === 'rest') return;
    const unfilled = (why: string): AnalysisError => ({ message: `pull request #${pr.id}: ${REST_ONLY_FIELDS} not filled from Bitbucket's REST API: ${why}` });
    if (this.#source.kind === 'none') {
      event.errors.push(unfilled(this.#source.reason));
      return;
    }
    const { projectKey, slug } = event.repository;
    const key = `${projectKey}/${slug}#${pr.id}@${pr.mergeHash ?? ''}`;
    let details = this.#cache.get(key);
    if (!details) {
      const path = pullRequestPath(projectKey, slug, pr.id);
      try {
        details = detailsFromRest(await this.#fetch(path));
      } catch (err) {
        const text = err instanceof Error ? err.message : String(err);
        // The REST client's errors already name the request.
        event.errors.push(unfilled(text.startsWith(`GET ${path}`) ? text : `GET ${path}: ${text}`));
        return;
      }
      if (this.#cache.size >= CACHE_ENTRIES) this.#cache.delete(this.#cache.keys().next().value!);
      this.#cache.set(key, details);
    }
    event.pullRequest = withRestDetails(pr, details);
  }

  /** One GET, abandoned at the timeout whether or not the client honours the signal. */
  async #fetch(path: string): Promise<unknown> {
    const source = this.#source as Extract<PullRequestSource, { kind: 'rest' }>;
    this.requests++;
    const controller = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        controller.abort();
        reject(new Error(`no answer within ${source.timeoutMs} ms (bitbucket.api.timeout)`));
      }, source.timeoutMs);
    });
    try {
      return await Promise.race([source.fetchJson(path, controller.signal), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }
}

/** Where pull-request details come from under `config` (the REST API when bitbucket.api is configured). */
export function pullRequestSourceFor(config: RelayConfig): PullRequestSource {
  const api = config.bitbucket.api;
  if (!api) return { kind: 'none', reason: 'bitbucket.api is not configured' };
  const client = createRestClient(api);
  return { kind: 'rest', fetchJson: (path, signal) => client.get(path, signal), timeoutMs: api.timeoutMs };
}
