// The one way to Bitbucket's REST API (`bitbucket.api`): JSON and multipart
// requests with the admin's bearer token read from `tokenFile`, bounded by
// the configured timeout, paged GETs followed to the last page. Failures come
// back as RestError values the operator can act on (what was asked, what
// Bitbucket said, what to do); the token never appears in any of them.
// Requests go through got (no retries here: callers decide).

import { readFileSync } from 'node:fs';
import got, { type Method } from 'got';
import type { BitbucketApiConfig } from '../config/config-types.ts';
import { redactText } from '../log/redact.ts';

/** Why a request failed, for the operator. `status` is null when no HTTP answer came. */
export class RestError extends Error {
  readonly method: string;
  readonly path: string;
  readonly status: number | null;
  /** Bitbucket's own error messages (`errors[].message`), if it sent any. */
  readonly bitbucketMessages: string[];
  constructor(method: string, path: string, status: number | null, message: string, bitbucketMessages: string[] = []) {
    super(`${method} ${path}: ${message}`);
    this.name = 'RestError';
    this.method = method;
    this.path = path;
    this.status = status;
    this.bitbucketMessages = bitbucketMessages;
  }
}

/** A multipart form field: text, or a file's bytes with a file name. */
export type FormField = string | { content: string | Uint8Array; filename: string; type?: string };

/** One request as the client will send it (what `--dry-run` prints). */
export interface RestRequest {
  method: Method;
  /** Path under the base URL, with its query, e.g. `/rest/api/latest/projects?start=0`. */
  path: string;
  json?: unknown;
  form?: Record<string, FormField>;
}

/** A page of Bitbucket's paged APIs (`values`, `isLastPage`, `nextPageStart`). */
export interface Page<T> {
  values: T[];
  isLastPage: boolean;
  nextPageStart?: number;
  start?: number;
  size?: number;
  limit?: number;
}

/** What the REST client offers (typed surface used by hooks install and pull-request enrichment). */
export interface RestClient {
  /** Base URL, for messages. */
  readonly url: string;
  /** Sends one request; resolves with the parsed JSON body (null for an empty body), rejects with RestError. */
  request(req: RestRequest, signal?: AbortSignal): Promise<unknown>;
  get(path: string, signal?: AbortSignal): Promise<unknown>;
  post(path: string, json?: unknown): Promise<unknown>;
  put(path: string, json?: unknown): Promise<unknown>;
  delete(path: string): Promise<unknown>;
  /** POST or PUT multipart/form-data. */
  multipart(method: 'POST' | 'PUT', path: string, form: Record<string, FormField>): Promise<unknown>;
  /** Every value of a paged GET, following `nextPageStart` until `isLastPage` (bounded by `maxPages`). */
  getAll<T = unknown>(path: string, opts?: { limit?: number; maxPages?: number }): Promise<T[]>;
  /** Text body of a GET (e.g. a hook script's content). */
  getText(path: string): Promise<string>;
}

/** Options beyond the config block. */
export interface RestClientOptions {
  /** The token itself (tests); default: read from config.tokenFile at each request, so a rotated token applies. */
  token?: string | null;
}

/** Reads the token file; throws an operator-facing message when it is unusable. */
export function readTokenFile(file: string): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(`bitbucket.api.tokenFile ${file}: cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); put an HTTP access token in it, readable by the service user only`);
  }
  const token = text.trim();
  if (!token) throw new Error(`bitbucket.api.tokenFile ${file} is empty; put an HTTP access token in it (Bitbucket: Manage account > HTTP access tokens)`);
  if (/\s/.test(token)) throw new Error(`bitbucket.api.tokenFile ${file}: a token is one word without spaces`);
  return token;
}

/** Bitbucket's error body: `{ errors: [{ message, exceptionName, context }] }`. */
function bitbucketMessages(body: string): string[] {
  try {
    const json = JSON.parse(body) as { errors?: { message?: unknown }[] };
    if (Array.isArray(json?.errors)) return json.errors.map((e) => (typeof e?.message === 'string' ? e.message : '')).filter(Boolean);
  } catch {
    /* not JSON */
  }
  return [];
}

/** What an HTTP status means to the operator of this tool. */
function statusHint(status: number): string {
  if (status === 401) return 'not authenticated: the token in bitbucket.api.tokenFile is missing, wrong or expired';
  if (status === 403) return 'forbidden: the token lacks the permission this needs (hook scripts need a system admin token)';
  if (status === 404) return 'not found';
  return `HTTP ${status}`;
}

/** Appends start/limit to a path with or without a query. */
function withPaging(path: string, start: number, limit: number): string {
  return `${path}${path.includes('?') ? '&' : '?'}start=${start}&limit=${limit}`;
}

/** A REST client for `config` (see module comment). */
export function createRestClient(config: BitbucketApiConfig, opts: RestClientOptions = {}): RestClient {
  const token = (): string | null => (opts.token !== undefined ? opts.token : config.tokenFile ? readTokenFile(config.tokenFile) : null);

  async function send(req: RestRequest, signal: AbortSignal | undefined, responseText: boolean): Promise<unknown> {
    let secret: string | null = null;
    const headers: Record<string, string> = { accept: responseText ? '*/*' : 'application/json' };
    try {
      secret = token();
    } catch (err) {
      throw new RestError(req.method, req.path, null, (err as Error).message);
    }
    if (secret) headers.authorization = `Bearer ${secret}`;
    let body: FormData | undefined;
    if (req.form) {
      body = new FormData();
      for (const [name, field] of Object.entries(req.form)) {
        if (typeof field === 'string') body.append(name, field);
        else body.append(name, new Blob([typeof field.content === 'string' ? field.content : new Uint8Array(field.content)], { type: field.type ?? 'application/octet-stream' }), field.filename);
      }
      // Bitbucket refuses state-changing multipart requests from browsers without it (XSRF check).
      headers['x-atlassian-token'] = 'no-check';
    }
    const scrub = (text: string): string => (secret ? redactText(text, [secret]) : text);
    let res;
    try {
      res = await got(config.url + req.path, {
        method: req.method,
        headers,
        ...(req.json !== undefined ? { json: req.json } : {}),
        ...(body ? { body } : {}),
        timeout: { request: config.timeoutMs },
        retry: { limit: 0 },
        throwHttpErrors: false,
        followRedirect: false,
        responseType: 'text',
        ...(signal ? { signal } : {}),
      });
    } catch (err) {
      const e = err as Error & { code?: string };
      const why =
        e.code === 'ETIMEDOUT' || e.name === 'TimeoutError'
          ? `no answer within ${config.timeoutMs} ms (bitbucket.api.timeout)`
          : e.code === 'ECONNREFUSED'
            ? `connection refused at ${config.url}: is Bitbucket running, and is bitbucket.api.url its address as seen from this host?`
            : `${e.code ?? e.name}: ${e.message}`;
      throw new RestError(req.method, req.path, null, scrub(why));
    }
    const text = res.body;
    if (res.statusCode >= 400 || (res.statusCode >= 300 && res.statusCode < 400)) {
      const messages = bitbucketMessages(text).map(scrub);
      const said = messages.length ? `: Bitbucket says: ${messages.join('; ')}` : '';
      throw new RestError(req.method, req.path, res.statusCode, `${statusHint(res.statusCode)}${said}`, messages);
    }
    if (responseText) return text;
    if (!text) return null;
    try {
      return JSON.parse(text);
    } catch {
      throw new RestError(req.method, req.path, res.statusCode, `the answer is not JSON (starts ${JSON.stringify(scrub(text.slice(0, 60)))}); is bitbucket.api.url Bitbucket's base URL?`);
    }
  }

  const client: RestClient = {
    url: config.url,
    request: (req, signal) => send(req, signal, false),
    get: (path, signal) => send({ method: 'GET', path }, signal, false),
    post: (path, json) => send({ method: 'POST', path, json }, undefined, false),
    put: (path, json) => send({ method: 'PUT', path, json }, undefined, false),
    delete: (path) => send({ method: 'DELETE', path }, undefined, false),
    multipart: (method, path, form) => send({ method, path, form }, undefined, false),
    getText: async (path) => String(await send({ method: 'GET', path }, undefined, true)),
    async getAll<T>(path: string, o: { limit?: number; maxPages?: number } = {}): Promise<T[]> {
      const limit = o.limit ?? 100;
      const maxPages = o.maxPages ?? 10_000;
      const out: T[] = [];
      let start = 0;
      for (let pages = 0; pages < maxPages; pages++) {
        const page = (await send({ method: 'GET', path: withPaging(path, start, limit) }, undefined, false)) as Page<T> | null;
        if (!page || !Array.isArray(page.values)) throw new RestError('GET', path, 200, 'the answer is not a page (no "values" array)');
        out.push(...page.values);
        if (page.isLastPage !== false) return out;
        // A page that says it is not the last without nextPageStart (seen in some Bitbucket versions): go on by count.
        const next = typeof page.nextPageStart === 'number' ? page.nextPageStart : start + page.values.length;
        if (next <= start) throw new RestError('GET', path, 200, `paging does not advance (nextPageStart ${next} after start ${start})`);
        start = next;
      }
      throw new RestError('GET', path, 200, `more than ${maxPages} pages; stopped`);
    },
  };
  return client;
}

/** A request as text for `--dry-run` and logs: method, URL, JSON or form fields (file contents summarized), token shown as ***. */
export function describeRequest(baseUrl: string, req: RestRequest, hasToken: boolean): string {
  const auth = hasToken ? ' (Authorization: Bearer ***)' : '';
  let body = '';
  if (req.json !== undefined) body = ` ${JSON.stringify(req.json)}`;
  if (req.form) {
    body = ` multipart{${Object.entries(req.form)
      .map(([k, v]) => (typeof v === 'string' ? `${k}=${JSON.stringify(v)}` : `${k}=<${v.filename}, ${typeof v.content === 'string' ? Buffer.byteLength(v.content) : v.content.byteLength} bytes>`))
      .join(', ')}}`;
  }
  return `${req.method} ${baseUrl}${req.path}${auth}${body}`;
}
