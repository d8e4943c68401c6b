// The daemon's periodic hook-script check (bitbucket.api + hooks.autoInstall,
// every hooks.scriptsInterval, default 5 min): projects created after
// `relay hooks install --scripts` get our script enabled with every post
// trigger. It never registers or changes the script itself (that is the
// admin's command); without a registered script it only reports so.

import type { RestClient } from './rest-client.ts';
import { explain, POST_TRIGGERS, readRememberedId, readWiring } from './hook-scripts.ts';
import type { Log } from '../log/logger.ts';

/** What the last check found (for status). */
export interface ScriptCheckState {
  registered: boolean;
  enabledProjects: number;
  projects: number;
  checkedAt: number;
  error: string | null;
}

/** Options of the periodic check. */
export interface ScriptAutoEnableOptions {
  client: RestClient;
  stateFile: string;
  intervalMs: number;
  log: Pick<Log, 'info' | 'warn'>;
}

/** Enables our script on projects that lack it, now and every interval. */
export class ScriptAutoEnable {
  state: ScriptCheckState | null = null;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private stopped = false;
  private readonly o: ScriptAutoEnableOptions;

  constructor(options: ScriptAutoEnableOptions) {
    this.o = options;
  }

  start(): void {
    const tick = (): void => {
      if (this.stopped) return;
      this.running = this.check().finally(() => {
        this.running = null;
        if (!this.stopped) {
          this.timer = setTimeout(tick, this.o.intervalMs);
          this.timer.unref();
        }
      });
    };
    tick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }

  /** One check; never rejects (the outcome is in `state`). */
  async check(): Promise<void> {
    const { client } = this.o;
    try {
      const { projects, wiring } = await readWiring(client, readRememberedId(this.o.stateFile));
      let enabled = 0;
      const id = wiring.scriptId;
      for (const p of projects) {
        const triggers = wiring.projects.get(p.key);
        if (triggers && POST_TRIGGERS.every((t) => triggers.includes(t))) {
          enabled++;
          continue;
        }
        if (id === null) continue;
        await client.put(`/rest/api/latest/projects/${encodeURIComponent(p.key)}/hook-scripts/${id}`, { triggerIds: [...POST_TRIGGERS] });
        enabled++;
        this.o.log.info('hook script enabled on a project that lacked it', { project: p.key, scriptId: id });
      }
      this.state = { registered: id !== null, enabledProjects: enabled, projects: projects.length, checkedAt: Date.now(), error: null };
    } catch (err) {
      const message = (explain(err) ?? (err as Error)).message;
      if (this.state?.error !== message) this.o.log.warn('hook scripts: cannot check or enable them on new projects', { error: message });
      this.state = { registered: this.state?.registered ?? false, enabledProjects: this.state?.enabledProjects ?? 0, projects: this.state?.projects ?? 0, checkedAt: Date.now(), error: message };
    }
  }
}
