// `hooks.autoInstall: true`: put our hook into every repository Bitbucket
// creates while the daemon runs (and, at start, into any created while it was
// down). Watches only `shared/data/repositories/` itself (depth 0), never the
// repositories' insides, so a host with tens of thousands of repositories
// costs one watch. A new `<id>` directory is then polled briefly until
// Bitbucket's template has put `hooks/` in place.
//
// In a Data Center cluster that directory is on the shared home (NFS), where
// inotify never hears about repositories created by other nodes: there the
// watcher polls instead.

import { existsSync } from 'node:fs';
import { basename, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { watch, type FSWatcher } from 'chokidar';
import type { Log } from '../log/logger.ts';
import { isRepositoryId, repositoriesDir, repositoryHookPaths } from './bitbucket-layout.ts';
import {
  installHook,
  listRepositories,
  readHookSource,
  type BitbucketRepository,
  type HookSource,
  type InstallResult,
} from './bitbucket-hooks.ts';
import { checkLocalFilesystem } from './filesystem-check.ts';

/** Options of `startHookAutoInstaller`. */
export interface AutoInstallerOptions {
  /** Bitbucket's home (config `bitbucket.home`). */
  bitbucketHome: string;
  /** Hook script to install; default the project's hooks/post-receive. */
  hookSource?: string;
  log: Log;
  /** Install into existing repositories that lack the hook at start (default true). */
  initialSweep?: boolean;
  /** How long to wait for a new repository's hooks/ to appear (default 60 s). */
  settleTimeoutMs?: number;
  /** Poll instead of inotify: default when the repositories directory is on a network filesystem. */
  usePolling?: boolean;
  /** Polling interval when polling (default 10 s). */
  pollIntervalMs?: number;
  /** Called after each install attempt (tests, metrics). */
  onResult?: (result: InstallResult) => void;
}

/** A running auto-installer. */
export interface HookAutoInstaller {
  /** Stop watching; waits for installs in progress. */
  stop(): Promise<void>;
  /** Resolves once the initial sweep is done (immediately when disabled). */
  readonly swept: Promise<void>;
}

const POLL_STEP_MS = 100;

/**
 * Start watching `<home>/shared/data/repositories/` and installing our hook
 * into each new repository. Resolves once the watcher is ready; throws
 * HookInstallError when the home or hook source is unusable.
 */
export async function startHookAutoInstaller(options: AutoInstallerOptions): Promise<HookAutoInstaller> {
  const { log } = options;
  const source: HookSource = await readHookSource(options.hookSource);
  const dir = repositoriesDir(options.bitbucketHome);
  await listRepositories(options.bitbucketHome); // fails early, with a clear message, on a wrong home
  const settleTimeoutMs = options.settleTimeoutMs ?? 60_000;
  const usePolling = options.usePolling ?? checkLocalFilesystem(dir).networkFs;
  const inFlight = new Set<Promise<void>>();
  const pending = new Set<string>();
  let stopped = false;

  const track = (p: Promise<void>): void => {
    inFlight.add(p);
    void p.finally(() => inFlight.delete(p));
  };

  const install = async (repository: BitbucketRepository): Promise<void> => {
    try {
      const result = await installHook(repository, source);
      options.onResult?.(result);
      if (result.outcome === 'installed' || result.outcome === 'updated') {
        log.info(`hook ${result.outcome} in new repository ${repository.id}`, { repositoryId: repository.id, path: repository.path });
      }
      if (!result.trampoline) {
        log.warn(`repository ${repository.id} has no hooks/post-receive trampoline: our hook will not run there until Bitbucket restores it`, { repositoryId: repository.id });
      }
    } catch (err) {
      log.error(`auto-install into repository ${repository.id} failed: ${(err as Error).message}`, { repositoryId: repository.id });
    }
  };

  // Wait for Bitbucket's template to create hooks/ (then briefly for the trampoline), then install.
  const onNewRepository = async (repository: BitbucketRepository): Promise<void> => {
    const paths = repositoryHookPaths(repository.path);
    const deadline = Date.now() + settleTimeoutMs;
    while (!stopped && !existsSync(paths.hooksDir) && Date.now() < deadline) await sleep(POLL_STEP_MS);
    if (stopped) return;
    if (!existsSync(repository.path)) return; // created and deleted again
    if (!existsSync(paths.hooksDir)) {
      log.warn(`repository ${repository.id} got no hooks/ directory within ${Math.round(settleTimeoutMs / 1000)} s; not installing (run \`relay hooks install --repo ${repository.id}\` once it exists)`, { repositoryId: repository.id });
      return;
    }
    const trampolineDeadline = Math.min(deadline, Date.now() + 2_000);
    while (!stopped && !existsSync(paths.trampoline) && Date.now() < trampolineDeadline) await sleep(POLL_STEP_MS);
    if (!stopped) await install(repository);
  };

  const watcher: FSWatcher = watch(dir, {
    depth: 0,
    ignoreInitial: true,
    backend: usePolling ? 'polling' : 'auto',
    pollingInterval: options.pollIntervalMs ?? 10_000,
    // Repository ids only; chokidar always reports the root itself.
    ignored: (path: string) => path !== dir && !isRepositoryId(basename(path)),
  });
  watcher.on('addDir', (path: string) => {
    const id = basename(path);
    if (path === dir || !isRepositoryId(id) || pending.has(id)) return;
    pending.add(id);
    track(onNewRepository({ id, path: join(dir, id) }).finally(() => pending.delete(id)));
  });
  watcher.on('error', (err: unknown) => log.error(`watching ${dir} for new repositories failed: ${(err as Error).message}`));
  await new Promise<void>((resolve) => watcher.once('ready', () => resolve()));
  log.info(`auto-installing the hook into new repositories under ${dir}${usePolling ? ' (polling: network filesystem)' : ''}`);

  const swept = options.initialSweep === false
    ? Promise.resolve()
    : (async () => {
        const repos = await listRepositories(options.bitbucketHome).catch(() => []);
        let changed = 0;
        for (const repository of repos) {
          if (stopped) return;
          if (pending.has(repository.id)) continue;
          const result = await installHook(repository, source).catch((err: Error) => {
            log.error(`auto-install into repository ${repository.id} failed: ${err.message}`, { repositoryId: repository.id });
            return null;
          });
          if (result) options.onResult?.(result);
          if (result && (result.outcome === 'installed' || result.outcome === 'updated')) changed++;
        }
        if (changed) log.info(`hook installed or updated in ${changed} existing repositories`, { changed, total: repos.length });
      })();
  track(swept);

  return {
    swept,
    async stop() {
      stopped = true;
      await watcher.close();
      await Promise.allSettled([...inFlight]);
    },
  };
}
