// Staged hosts for install.sh tests (--root): the usual system directories,
// a fake Bitbucket home with real bare repositories, a frozen release tree to
// install from, and tree snapshots (paths, modes, owners, content hashes).

import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, statSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRepository, makeTemplate } from './fake-bitbucket.ts';

/** The checkout these tests run from. */
export const checkout = fileURLToPath(new URL('../..', import.meta.url));
/** Bitbucket home and prefix as on a real host (inside the staged root). */
export const BB_HOME = '/var/atlassian/application-data/bitbucket';
export const PREFIX = '/opt/bitbucket-relay';
export const asRoot = process.getuid?.() === 0;

/**
 * A frozen copy of the source tree to install from: other work in the
 * checkout during the run must not look like an upgrade. node_modules is
 * linked, not copied (--offline copies the production part out of it).
 */
export function makeRelease(dir: string): string {
  const release = join(dir, 'release');
  mkdirSync(release);
  for (const f of ['install.sh', 'package.json', 'package-lock.json', 'tsconfig.json', 'bin', 'src', 'hooks', 'config', 'docs']) {
    if (existsSync(join(checkout, f))) cpSync(join(checkout, f), join(release, f), { recursive: true });
  }
  symlinkSync(join(checkout, 'node_modules'), join(release, 'node_modules'));
  return release;
}

/** A staged host under dir/name: the usual system directories and a Bitbucket home with repositories 1-3. */
export function makeHost(dir: string, name: string): string {
  const root = join(dir, name);
  for (const d of ['etc/systemd/system', 'opt', 'usr/local/bin', 'var/spool', 'var/lib', 'var/atlassian/application-data']) {
    mkdirSync(join(root, d), { recursive: true });
  }
  const template = makeTemplate(join(dir, `${name}-template`));
  for (const [id, slug] of [['1', 'api'], ['2', 'web'], ['3', 'tools']]) {
    createRepository(join(root, BB_HOME), template, { id, projectKey: 'ABC', slug });
  }
  return root;
}

/** Outcome of one installer run. */
export interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Run `sh install.sh --root ROOT --offline --node <this node> ...args` from `release`. */
export function runInstaller(release: string, root: string, ...args: string[]): Run {
  const r = spawnSync('sh', [join(release, 'install.sh'), '--root', root, '--offline', '--node', process.execPath, ...args], { encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Every path under `root` with type, mode, owner and content hash (or link target). */
export function snapshot(root: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (rel: string): void => {
    for (const name of readdirSync(join(root, rel))) {
      const p = rel ? `${rel}/${name}` : name;
      const st = lstatSync(join(root, p));
      const meta = `${(st.mode & 0o7777).toString(8)} ${st.uid}:${st.gid}`;
      if (st.isSymbolicLink()) out.set(p, `link ${meta} -> ${readlinkSync(join(root, p))}`);
      else if (st.isDirectory()) {
        out.set(p, `dir ${meta}`);
        walk(p);
      } else out.set(p, `file ${meta} ${createHash('sha256').update(readFileSync(join(root, p))).digest('hex')}`);
    }
  };
  walk('');
  return out;
}

/** Paths that differ between two snapshots (added, removed or changed). */
export function changes(a: Map<string, string>, b: Map<string, string>): string[] {
  const keys = new Set([...a.keys(), ...b.keys()]);
  return [...keys].filter((k) => a.get(k) !== b.get(k)).sort();
}

/** Our hook's path in repository `id` of the staged host. */
export const hookFile = (root: string, id: string): string => join(root, BB_HOME, 'shared/data/repositories', id, 'hooks/post-receive.d/90_bitbucket_relay');

/** True when something (even a dangling symlink) is at `p`. */
export function present(p: string): boolean {
  try {
    lstatSync(p);
    return true;
  } catch {
    return false;
  }
}

/** Permission bits as octal text, e.g. "2770". */
export const mode = (p: string): string => (statSync(p).mode & 0o7777).toString(8);
