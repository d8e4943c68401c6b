// Our hook as a Bitbucket hook script (Bitbucket Data Center 7.x-9.x REST API),
// so Bitbucket runs it for every ref change it makes itself (pull-request
// merges, web edits, branch and tag creation) and not only for pushes:
//   POST   /rest/api/latest/hook-scripts                       (multipart: content, name, description, type=POST)
//   GET    /rest/api/latest/hook-scripts/{id}[/content]
//   PUT    /rest/api/latest/hook-scripts/{id}                  (multipart: content)
//   DELETE /rest/api/latest/hook-scripts/{id}
//   GET    /rest/api/latest/projects                           (paged)
//   GET    /rest/api/latest/projects/{key}/hook-scripts        (paged RestHookScriptConfig: script, scope, triggerIds)
//   PUT    /rest/api/latest/projects/{key}/hook-scripts/{id}   ({ triggerIds })
//   DELETE /rest/api/latest/projects/{key}/hook-scripts/{id}
// The script is found again by name on the projects' configurations and by
// the id remembered in a small state file, so a second copy is never made.
// Every write goes through `write`, which `--dry-run` replaces by printing.

import { readFileSync, writeFileSync, rmSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { RestError, type RestClient, type RestRequest } from './rest-client.ts';

/** Name of our hook script in Bitbucket. */
export const SCRIPT_NAME = 'bitbucket-relay';
export const SCRIPT_DESCRIPTION = 'bitbucket-relay: records every ref change for the relay daemon (managed by `relay hooks install --scripts`)';

/**
 * Every post-style trigger (Bitbucket's hook trigger ids, as BB_HOOK_TRIGGER_ID
 * carries them; see src/event/hook-context.ts).
 */
export const POST_TRIGGERS: readonly string[] = ['repo-push', 'pull-request-merge', 'branch-create', 'branch-delete', 'tag-create', 'tag-delete', 'file-edit'];

const API = '/rest/api/latest';

/** Why hook-script wiring cannot go on; `exit` 1: the operator must act. */
export class HookScriptError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'HookScriptError';
  }
}

/** A project as listed. */
export interface Project {
  key: string;
  id?: number;
}

/** Our script on one project: trigger ids, or null when not enabled there. */
export interface ScriptWiring {
  scriptId: number | null;
  /** Project key → trigger ids (null: not enabled). */
  projects: Map<string, string[] | null>;
}

/** What install/uninstall did (or would do). */
export interface ScriptChange {
  created: boolean;
  updated: boolean;
  enabled: string[];
  removedFrom: string[];
  deleted: boolean;
  scriptId: number | null;
}

/** The state file remembering our script id (beside the store). */
export function readRememberedId(file: string): number | null {
  try {
    const id = (JSON.parse(readFileSync(file, 'utf8')) as { scriptId?: unknown }).scriptId;
    return typeof id === 'number' ? id : null;
  } catch {
    return null;
  }
}

function remember(file: string, id: number | null): void {
  if (id === null) {
    rmSync(file, { force: true });
    return;
  }
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify({ scriptId: id, name: SCRIPT_NAME }) + '\n');
}

/** An operator message for the REST failures that mean "stop": token, permission, feature off. */
export function explain(err: unknown): HookScriptError | null {
  if (!(err instanceof RestError)) return null;
  const said = err.bitbucketMessages.join(' ');
  if ((err.status === 403 || err.status === 404 || err.status === 501) && /hook script.*(disabled|not enabled)|feature/i.test(said)) {
    return new HookScriptError(
      `hook scripts are turned off in this Bitbucket (8.18 and later disable them by default; Bitbucket says: ${said}). ` +
        'Set feature.hook.scripts=true in <Bitbucket home>/shared/bitbucket.properties and restart Bitbucket (a rolling restart in a cluster), then run this again. Nothing was changed.',
    );
  }
  if (err.status === 401 || err.status === 403) {
    return new HookScriptError(
      `${err.method} ${err.path}: Bitbucket refused the token (HTTP ${err.status}): hook scripts need a system admin's HTTP access token in bitbucket.api.tokenFile ` +
        '(created by a user with System Admin permission, token permission "admin"). Nothing further was changed.',
    );
  }
  return null;
}

/** Lists projects and where our script is enabled (reads only). */
export async function readWiring(client: RestClient, rememberedId: number | null): Promise<{ projects: Project[]; wiring: ScriptWiring }> {
  const projects = await client.getAll<Project>(`${API}/projects`);
  const wiring: ScriptWiring = { scriptId: null, projects: new Map() };
  for (const p of projects) {
    const configs = await client.getAll<{ script?: { id?: number; name?: string }; triggerIds?: string[] }>(`${API}/projects/${encodeURIComponent(p.key)}/hook-scripts`);
    const ours = configs.find((c) => c.script?.name === SCRIPT_NAME || (rememberedId !== null && c.script?.id === rememberedId));
    if (ours && typeof ours.script?.id === 'number') wiring.scriptId ??= ours.script.id;
    wiring.projects.set(p.key, ours ? (ours.triggerIds ?? []) : null);
  }
  if (wiring.scriptId === null && rememberedId !== null) {
    try {
      const s = (await client.get(`${API}/hook-scripts/${rememberedId}`)) as { name?: string } | null;
      if (s?.name === SCRIPT_NAME) wiring.scriptId = rememberedId;
    } catch (err) {
      if (!(err instanceof RestError && err.status === 404)) throw err;
    }
  }
  return { projects, wiring };
}

/** How install/uninstall reach Bitbucket. */
export interface ScriptOptions {
  client: RestClient;
  /** State file remembering the script id. */
  stateFile: string;
  /** Performs a write, or (dry run) prints it; returns the answer (null when not sent). */
  write: (req: RestRequest) => Promise<unknown>;
  dryRun: boolean;
}

function isFull(triggers: string[] | null | undefined): boolean {
  return !!triggers && POST_TRIGGERS.every((t) => triggers.includes(t));
}

/** Registers (or updates) our script and enables it with every post trigger on every project; idempotent. */
export async function installScripts(content: string, o: ScriptOptions, onlyProjects?: readonly string[]): Promise<ScriptChange> {
  const change: ScriptChange = { created: false, updated: false, enabled: [], removedFrom: [], deleted: false, scriptId: null };
  try {
    const { projects, wiring } = await readWiring(o.client, readRememberedId(o.stateFile));
    let id = wiring.scriptId;
    if (id === null) {
      const created = (await o.write({ method: 'POST', path: `${API}/hook-scripts`, form: { content: { content, filename: 'post-receive', type: 'text/x-shellscript' }, name: SCRIPT_NAME, description: SCRIPT_DESCRIPTION, type: 'POST' } })) as { id?: number } | null;
      change.created = true;
      id = created && typeof created.id === 'number' ? created.id : null;
      if (id !== null && !o.dryRun) remember(o.stateFile, id);
    } else {
      if (!o.dryRun) remember(o.stateFile, id);
      const current = await o.client.getText(`${API}/hook-scripts/${id}/content`);
      if (current !== content) {
        await o.write({ method: 'PUT', path: `${API}/hook-scripts/${id}`, form: { content: { content, filename: 'post-receive', type: 'text/x-shellscript' } } });
        change.updated = true;
      }
    }
    change.scriptId = id;
    for (const p of projects) {
      if (onlyProjects && !onlyProjects.includes(p.key)) continue;
      if (isFull(wiring.projects.get(p.key))) continue;
      await o.write({ method: 'PUT', path: `${API}/projects/${encodeURIComponent(p.key)}/hook-scripts/${id ?? '{new script id}'}`, json: { triggerIds: [...POST_TRIGGERS] } });
      change.enabled.push(p.key);
    }
    return change;
  } catch (err) {
    throw explain(err) ?? err;
  }
}

/** Removes our script's configuration from every project, then the script itself. */
export async function uninstallScripts(o: ScriptOptions): Promise<ScriptChange> {
  const change: ScriptChange = { created: false, updated: false, enabled: [], removedFrom: [], deleted: false, scriptId: null };
  try {
    const { wiring } = await readWiring(o.client, readRememberedId(o.stateFile));
    const id = wiring.scriptId;
    change.scriptId = id;
    if (id === null) return change;
    for (const [key, triggers] of wiring.projects) {
      if (triggers === null) continue;
      await o.write({ method: 'DELETE', path: `${API}/projects/${encodeURIComponent(key)}/hook-scripts/${id}` });
      change.removedFrom.push(key);
    }
    await o.write({ method: 'DELETE', path: `${API}/hook-scripts/${id}` });
    change.deleted = true;
    if (!o.dryRun) remember(o.stateFile, null);
    return change;
  } catch (err) {
    throw explain(err) ?? err;
  }
}

/** Where the CLI and the daemon keep the script id: beside the store. */
export function scriptStateFile(storePath: string): string {
  return `${dirname(storePath)}/hook-script.json`;
}
