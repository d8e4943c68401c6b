// A fake Bitbucket Data Center REST server for tests: a real HTTP server on
// 127.0.0.1 with pluggable routes and a log of every request. Bitbucket itself
// cannot run here, so this is the one mock the team allows, built from
// Atlassian's documented shapes (Bitbucket Data Center OpenAPI document 8.19
// and the REST reference's "Paged APIs" section):
//   - paged answers `{ size, limit, start, isLastPage, values, nextPageStart }`
//     with `start`/`limit` query parameters (limit default 25);
//   - errors `{ errors: [{ context, message, exceptionName }] }`;
//   - hook scripts (optional model, `hookScripts: true`):
//       POST   /rest/api/latest/hook-scripts (multipart content, name, description, type) → RestHookScript
//       GET    /rest/api/latest/hook-scripts/{id}            → RestHookScript
//       GET    /rest/api/latest/hook-scripts/{id}/content    → the script text
//       PUT    /rest/api/latest/hook-scripts/{id} (multipart) → RestHookScript
//       DELETE /rest/api/latest/hook-scripts/{id}            → 204
//       GET    /rest/api/latest/projects                      → page of projects
//       GET    /rest/api/latest/projects/{key}/hook-scripts   → page of RestHookScriptConfig
//       PUT    /rest/api/latest/projects/{key}/hook-scripts/{id} {triggerIds} → RestHookScriptConfig
//       DELETE /rest/api/latest/projects/{key}/hook-scripts/{id} → 204
//     SYS_ADMIN for the script itself, PROJECT_ADMIN for project configs (401 otherwise).
//   - pull requests (`pullRequests`, keyed "KEY/slug/id"; the REST entity as
//     Bitbucket documents it, e.g. test/fixtures/bitbucket/pull-request-57.json):
//       GET /rest/api/latest/projects/{key}/repos/{slug}/pull-requests/{id} → RestPullRequest
//     any valid token (401 otherwise); 404 NoSuchPullRequestException when unknown.
// What Bitbucket answers with hook scripts disabled (8.18+ without
// feature.hook.scripts=true) is not documented in what we found: the fake
// answers 403 with exceptionName FeatureDisabledException, an assumption.

import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** One request the fake got. */
export interface FakeRequest {
  method: string;
  /** Path with query. */
  url: string;
  path: string;
  query: URLSearchParams;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  /** Parsed JSON body, or multipart fields (text), or null. */
  json: unknown;
  form: Record<string, string> | null;
}

/** A route's answer. */
export interface FakeResponse {
  status: number;
  body?: unknown;
  /** Text body sent as is (else body is JSON). */
  text?: string;
  /** Never answer (the connection stays open until close()): a hung Bitbucket. */
  hang?: boolean;
  headers?: Record<string, string>;
}

/** Answers a request, or undefined to fall through to the next route. */
export type FakeRoute = (req: FakeRequest, match: RegExpMatchArray) => FakeResponse | undefined;

/** A Bitbucket project as the fake knows it. */
export interface FakeProject {
  id: number;
  key: string;
  name: string;
}

/** A registered hook script (RestHookScript plus its content). */
export interface FakeHookScript {
  id: number;
  name: string;
  description: string;
  type: 'PRE' | 'POST';
  pluginKey: string;
  content: string;
  createdDate: number;
  updatedDate: number;
  version: number;
}

/** Options of startFakeBitbucket. */
export interface FakeBitbucketOptions {
  /** Accepted bearer tokens and what they may do. */
  tokens?: Record<string, 'sysadmin' | 'project-admin' | 'user'>;
  projects?: string[];
  /** Serve the hook-scripts model (default true). */
  hookScripts?: boolean;
  /** Hook scripts turned off as in Bitbucket 8.18+ without feature.hook.scripts=true. */
  hookScriptsDisabled?: boolean;
  /** Page size cap (Bitbucket caps limit; default 25 when absent). */
  maxLimit?: number;
  /** Pull requests served, keyed "KEY/slug/id" (REST entities). */
  pullRequests?: Record<string, unknown>;
}

/** A running fake. */
export interface FakeBitbucket {
  url: string;
  requests: FakeRequest[];
  projects: FakeProject[];
  scripts: Map<number, FakeHookScript>;
  /** Project key → script id → trigger ids. */
  configs: Map<string, Map<number, string[]>>;
  options: Required<Omit<FakeBitbucketOptions, 'projects' | 'pullRequests'>>;
  /** Pull requests served, keyed "KEY/slug/id"; add or change entries at will. */
  pullRequests: Map<string, unknown>;
  /** Adds a route before the built-in ones. */
  route(method: string, path: RegExp, handler: FakeRoute): void;
  addProject(key: string): FakeProject;
  /** Requests other than GET (what changed something). */
  writes(): FakeRequest[];
  close(): Promise<void>;
}

/** Bitbucket's error body. */
export function errorBody(message: string, exceptionName: string | null = null): unknown {
  return { errors: [{ context: null, message, exceptionName }] };
}

/** A page of `values` for `start`/`limit` as Bitbucket pages it. */
export function page<T>(values: T[], query: URLSearchParams, maxLimit = 1000): unknown {
  const start = Number(query.get('start') ?? 0);
  const limit = Math.min(Number(query.get('limit') ?? 25), maxLimit);
  const slice = values.slice(start, start + limit);
  const isLastPage = start + slice.length >= values.length;
  return { size: slice.length, limit, start, isLastPage, values: slice, ...(isLastPage ? {} : { nextPageStart: start + slice.length }) };
}

/** Very small multipart/form-data parser (text fields and files as text). */
function parseMultipart(body: Buffer, contentType: string): Record<string, string> | null {
  const m = /boundary=(?:"([^"]+)"|([^;]+))/.exec(contentType);
  if (!m) return null;
  const boundary = `--${m[1] ?? m[2]}`;
  const out: Record<string, string> = {};
  for (const part of body.toString('latin1').split(boundary).slice(1)) {
    if (part.startsWith('--')) break;
    const [head, ...rest] = part.replace(/^\r\n/, '').split('\r\n\r\n');
    const name = /name="([^"]*)"/.exec(head)?.[1];
    if (name === undefined) continue;
    out[name] = Buffer.from(rest.join('\r\n\r\n').replace(/\r\n$/, ''), 'latin1').toString('utf8');
  }
  return out;
}

/** Start the fake on 127.0.0.1. */
export async function startFakeBitbucket(opts: FakeBitbucketOptions = {}): Promise<FakeBitbucket> {
  const requests: FakeRequest[] = [];
  const routes: { method: string; path: RegExp; handler: FakeRoute }[] = [];
  const projects: FakeProject[] = [];
  const scripts = new Map<number, FakeHookScript>();
  const configs = new Map<string, Map<number, string[]>>();
  const options = {
    tokens: opts.tokens ?? { 'admin-token': 'sysadmin' },
    hookScripts: opts.hookScripts ?? true,
    hookScriptsDisabled: opts.hookScriptsDisabled ?? false,
    maxLimit: opts.maxLimit ?? 1000,
  };
  let nextId = 1;
  const addProject = (key: string): FakeProject => {
    const p = { id: projects.length + 1, key, name: key };
    projects.push(p);
    return p;
  };
  for (const key of opts.projects ?? []) addProject(key);
  const pullRequests = new Map<string, unknown>(Object.entries(opts.pullRequests ?? {}));

  const role = (req: FakeRequest): string | null => {
    const auth = req.headers.authorization ?? '';
    const token = /^Bearer (.+)$/.exec(auth)?.[1];
    return token ? (options.tokens[token] ?? null) : null;
  };
  const unauthorized = (what: string): FakeResponse => ({ status: 401, body: errorBody(`You are not permitted to ${what}`, 'com.atlassian.bitbucket.AuthorisationException') });
  const disabled = (): FakeResponse => ({ status: 403, body: errorBody('Hook scripts are disabled on this instance.', 'com.atlassian.bitbucket.feature.FeatureDisabledException') });
  const scriptJson = (s: FakeHookScript): unknown => {
    const { content: _content, ...rest } = s;
    return { ...rest, size: Buffer.byteLength(s.content) };
  };
  const configJson = (key: string, s: FakeHookScript, triggerIds: string[]): unknown => ({
    scope: { type: 'PROJECT', resourceId: projects.find((p) => p.key === key)!.id },
    script: scriptJson(s),
    triggerIds,
  });
  const noScript = (id: string): FakeResponse => ({ status: 404, body: errorBody(`No hook script with ID ${id} exists.`, 'com.atlassian.bitbucket.hook.script.NoSuchHookScriptException') });
  const noProject = (key: string): FakeResponse => ({ status: 404, body: errorBody(`Project ${key} does not exist.`, 'com.atlassian.bitbucket.project.NoSuchProjectException') });

  // Built-in hook-scripts and pull-request models (after user routes).
  const builtIn: { method: string; path: RegExp; handler: FakeRoute }[] = [
    {
      method: 'GET',
      path: /^\/rest\/api\/(?:latest|1\.0)\/projects\/([^/]+)\/repos\/([^/]+)\/pull-requests\/(\d+)$/,
      handler: (req, m) => {
        if (!role(req)) return unauthorized('view this pull request');
        const [key, slug, id] = [decodeURIComponent(m[1]), decodeURIComponent(m[2]), m[3]];
        const pr = pullRequests.get(`${key}/${slug}/${id}`);
        if (pr === undefined) return { status: 404, body: errorBody(`Pull request ${id} does not exist in ${key}/${slug}.`, 'com.atlassian.bitbucket.pull.NoSuchPullRequestException') };
        return { status: 200, body: pr };
      },
    },
    {
      method: 'GET',
      path: /^\/rest\/api\/(?:latest|1\.0)\/projects$/,
      handler: (req) => (role(req) ? { status: 200, body: page(projects.map((p) => ({ ...p, public: false, type: 'NORMAL' })), req.query, options.maxLimit) } : unauthorized('list projects')),
    },
    {
      method: 'POST',
      path: /^\/rest\/api\/latest\/hook-scripts$/,
      handler: (req) => {
        if (!options.hookScripts) return undefined;
        if (options.hookScriptsDisabled) return disabled();
        if (role(req) !== 'sysadmin') return unauthorized('create hook scripts');
        const f = req.form;
        if (!f?.content || !f.name || !['PRE', 'POST'].includes(f.type ?? '')) return { status: 400, body: errorBody('content, name and type (PRE or POST) are required', 'com.atlassian.bitbucket.validation.ArgumentValidationException') };
        const now = Date.now();
        const s: FakeHookScript = { id: nextId++, name: f.name, description: f.description ?? '', type: f.type as 'POST', pluginKey: 'com.atlassian.bitbucket.server.bitbucket-rest', content: f.content, createdDate: now, updatedDate: now, version: 0 };
        scripts.set(s.id, s);
        return { status: 200, body: scriptJson(s) };
      },
    },
    {
      method: 'GET',
      path: /^\/rest\/api\/latest\/hook-scripts\/(\d+)(\/content)?$/,
      handler: (req, m) => {
        if (options.hookScriptsDisabled) return disabled();
        if (role(req) !== 'sysadmin') return unauthorized('read hook scripts');
        const s = scripts.get(Number(m[1]));
        if (!s) return noScript(m[1]);
        return m[2] ? { status: 200, text: s.content, headers: { 'content-type': 'text/plain' } } : { status: 200, body: scriptJson(s) };
      },
    },
    {
      method: 'PUT',
      path: /^\/rest\/api\/latest\/hook-scripts\/(\d+)$/,
      handler: (req, m) => {
        if (options.hookScriptsDisabled) return disabled();
        if (role(req) !== 'sysadmin') return unauthorized('update hook scripts');
        const s = scripts.get(Number(m[1]));
        if (!s) return noScript(m[1]);
        const f = req.form ?? {};
        if (f.content === undefined && f.name === undefined && f.description === undefined) {
          return { status: 422, body: errorBody('One or more fields to update must be specified: content, description and/or name.') };
        }
        if (f.content !== undefined) s.content = f.content;
        if (f.name !== undefined) s.name = f.name;
        if (f.description !== undefined) s.description = f.description;
        s.updatedDate = Date.now();
        s.version++;
        return { status: 200, body: scriptJson(s) };
      },
    },
    {
      method: 'DELETE',
      path: /^\/rest\/api\/latest\/hook-scripts\/(\d+)$/,
      handler: (req, m) => {
        if (options.hookScriptsDisabled) return disabled();
        if (role(req) !== 'sysadmin') return unauthorized('delete hook scripts');
        if (!scripts.delete(Number(m[1]))) return noScript(m[1]);
        for (const c of configs.values()) c.delete(Number(m[1]));
        return { status: 204 };
      },
    },
    {
      method: 'GET',
      path: /^\/rest\/api\/latest\/projects\/([^/]+)\/hook-scripts$/,
      handler: (req, m) => {
        if (options.hookScriptsDisabled) return disabled();
        const r = role(req);
        if (r !== 'sysadmin' && r !== 'project-admin') return unauthorized('view the hook scripts of this project');
        const key = decodeURIComponent(m[1]);
        if (!projects.some((p) => p.key === key)) return noProject(key);
        const values = [...(configs.get(key) ?? new Map()).entries()].map(([id, t]) => configJson(key, scripts.get(id)!, t));
        return { status: 200, body: page(values, req.query, options.maxLimit) };
      },
    },
    {
      method: 'PUT',
      path: /^\/rest\/api\/latest\/projects\/([^/]+)\/hook-scripts\/(\d+)$/,
      handler: (req, m) => {
        if (options.hookScriptsDisabled) return disabled();
        const r = role(req);
        if (r !== 'sysadmin' && r !== 'project-admin') return unauthorized('configure hook scripts in this project');
        const key = decodeURIComponent(m[1]);
        if (!projects.some((p) => p.key === key)) return noProject(key);
        const s = scripts.get(Number(m[2]));
        if (!s) return noScript(m[2]);
        const triggerIds = (req.json as { triggerIds?: unknown } | null)?.triggerIds;
        if (!Array.isArray(triggerIds) || !triggerIds.every((t) => typeof t === 'string')) {
          return { status: 400, body: errorBody('triggerIds must be a list of trigger IDs', 'com.atlassian.bitbucket.validation.ArgumentValidationException') };
        }
        if (!configs.has(key)) configs.set(key, new Map());
        configs.get(key)!.set(s.id, triggerIds as string[]);
        return { status: 200, body: configJson(key, s, triggerIds as string[]) };
      },
    },
    {
      method: 'DELETE',
      path: /^\/rest\/api\/latest\/projects\/([^/]+)\/hook-scripts\/(\d+)$/,
      handler: (req, m) => {
        if (options.hookScriptsDisabled) return disabled();
        const r = role(req);
        if (r !== 'sysadmin' && r !== 'project-admin') return unauthorized('configure hook scripts in this project');
        const key = decodeURIComponent(m[1]);
        if (!projects.some((p) => p.key === key)) return noProject(key);
        if (!configs.get(key)?.delete(Number(m[2]))) return noScript(m[2]);
        return { status: 204 };
      },
    },
  ];

  const sockets = new Set<Socket>();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const u = new URL(req.url ?? '/', 'http://x');
      const type = String(req.headers['content-type'] ?? '');
      let json: unknown = null;
      if (type.includes('application/json') && body.length) {
        try {
          json = JSON.parse(body.toString('utf8'));
        } catch {
          json = null;
        }
      }
      const fr: FakeRequest = {
        method: req.method ?? 'GET',
        url: req.url ?? '/',
        path: u.pathname,
        query: u.searchParams,
        headers: req.headers,
        body,
        json,
        form: type.startsWith('multipart/form-data') ? parseMultipart(body, type) : null,
      };
      requests.push(fr);
      let answer: FakeResponse | undefined;
      for (const r of [...routes, ...builtIn]) {
        if (r.method !== fr.method) continue;
        const m = fr.path.match(r.path);
        if (!m) continue;
        answer = r.handler(fr, m);
        if (answer) break;
      }
      answer ??= { status: 404, body: errorBody(`No resource at ${fr.path}`) };
      if (answer.hang) return;
      const headers: Record<string, string> = { ...(answer.headers ?? {}) };
      let text = answer.text;
      if (text === undefined && answer.body !== undefined) {
        text = JSON.stringify(answer.body);
        headers['content-type'] ??= 'application/json;charset=UTF-8';
      }
      res.writeHead(answer.status, headers);
      res.end(text ?? '');
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    projects,
    scripts,
    configs,
    options,
    pullRequests,
    route(method, path, handler) {
      routes.push({ method: method.toUpperCase(), path, handler });
    },
    addProject,
    writes: () => requests.filter((r) => r.method !== 'GET'),
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
