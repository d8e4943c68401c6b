// Network-filesystem detection. The spool and the store must live on
// node-local disk: SQLite's WAL locking is unsafe on NFS/SMB, and in a Data
// Center cluster a shared spool would let two nodes' daemons take the same
// push. The daemon refuses to start otherwise unless the operator overrides.

import { readFileSync, realpathSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import type { Log } from '../log/logger.ts';

/** One line of /proc/self/mountinfo, the parts we use. */
export interface MountEntry {
  /** Where it is mounted (escapes like `\040` decoded). */
  mountPoint: string;
  /** Filesystem type, e.g. `ext4`, `nfs4`, `fuse.sshfs`. */
  fsType: string;
  /** Mount source, e.g. `/dev/sda1` or `filer:/export/bitbucket`. */
  source: string;
}

/** What `checkLocalFilesystem` found for a path. */
export interface FilesystemCheck {
  /** The path asked about, absolute. */
  path: string;
  /** True when the path is on a network or cluster filesystem. */
  networkFs: boolean;
  /** Filesystem type of the mount holding the path ('unknown' if none matched). */
  fsType: string;
  mountPoint: string;
  source: string;
}

// Types whose locking/rename semantics or sharing across hosts make them unfit
// for the spool or the store. FUSE types are network when the FUSE driver is.
const NETWORK_FS_TYPES = new Set([
  'nfs', 'nfs4', 'nfsd', 'cifs', 'smb', 'smb3', 'smbfs', 'ncpfs', 'afs', 'coda',
  'ceph', 'glusterfs', 'lustre', 'gpfs', 'beegfs', 'orangefs', 'pvfs2', 'ocfs2', 'gfs2',
  '9p', 'davfs', 'sshfs', 'panfs', 'quobyte', 'moosefs', 'cvfs', 'wekafs',
]);
const NETWORK_FUSE_SUBTYPES = new Set([
  'sshfs', 'glusterfs', 'ceph', 'ceph-fuse', 'cephfs', 's3fs', 'rclone', 'gcsfuse',
  'davfs2', 'davfs', 'goofys', 'juicefs', 'lizardfs', 'mfs', 'moosefs', 'beegfs', 'blobfuse', 'blobfuse2', 'smbnetfs', 'gvfsd-fuse',
]);

/** True for filesystem types that are network or shared-cluster filesystems. */
export function isNetworkFsType(fsType: string): boolean {
  const t = fsType.toLowerCase();
  if (NETWORK_FS_TYPES.has(t)) return true;
  if (t.startsWith('fuse.')) return NETWORK_FUSE_SUBTYPES.has(t.slice('fuse.'.length));
  return false;
}

/** Decode the octal escapes (`\040` space, `\011` tab, `\012` newline, `\134` backslash) mountinfo uses. */
function unescapeMountField(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

/** Parse /proc/self/mountinfo text (see proc(5)); malformed lines are skipped. */
export function parseMountInfo(text: string): MountEntry[] {
  const entries: MountEntry[] = [];
  for (const line of text.split('\n')) {
    // id parent major:minor root mountpoint options [optional fields...] - fstype source superoptions
    const fields = line.split(' ');
    const sep = fields.indexOf('-', 6);
    if (sep < 0 || sep + 1 >= fields.length) continue;
    const mountPoint = fields[4];
    const fsType = fields[sep + 1];
    if (!mountPoint || !fsType) continue;
    entries.push({ mountPoint: unescapeMountField(mountPoint), fsType, source: unescapeMountField(fields[sep + 2] ?? '') });
  }
  return entries;
}

/** The mount holding `absPath`: the last-listed entry with the longest matching mount point (later mounts shadow earlier ones). */
export function findMount(absPath: string, mounts: readonly MountEntry[]): MountEntry | null {
  let best: MountEntry | null = null;
  for (const m of mounts) {
    const mp = m.mountPoint;
    const inside = mp === '/' || absPath === mp || absPath.startsWith(mp.endsWith('/') ? mp : mp + '/');
    if (inside && (!best || mp.length >= best.mountPoint.length)) best = m;
  }
  return best;
}

/** The path with symlinks resolved; for a path that does not exist yet, its nearest existing ancestor's real path plus the rest. */
function realPathOrAncestor(absPath: string): string {
  const missing: string[] = [];
  let current = absPath;
  for (;;) {
    try {
      return resolve(realpathSync(current), ...missing);
    } catch {
      const parent = dirname(current);
      if (parent === current) return absPath;
      missing.unshift(basename(current));
      current = parent;
    }
  }
}

/**
 * Which filesystem holds `path` and whether it is a network one. Reads
 * /proc/self/mountinfo unless `mountInfoText` is given (tests, other hosts).
 */
export function checkLocalFilesystem(path: string, mountInfoText?: string): FilesystemCheck {
  const abs = resolve(path);
  const real = realPathOrAncestor(abs);
  let text = mountInfoText;
  if (text === undefined) {
    try {
      text = readFileSync('/proc/self/mountinfo', 'utf8');
    } catch {
      // Not Linux or /proc not mounted: nothing to go on, so do not block.
      return { path: abs, networkFs: false, fsType: 'unknown', mountPoint: '', source: '' };
    }
  }
  const mount = findMount(real, parseMountInfo(text));
  if (!mount) return { path: abs, networkFs: false, fsType: 'unknown', mountPoint: '', source: '' };
  return { path: abs, networkFs: isNetworkFsType(mount.fsType), fsType: mount.fsType, mountPoint: mount.mountPoint, source: mount.source };
}

/** A path the daemon keeps durable state in, with the config key that sets it. */
export interface LocalPathRequirement {
  /** Config key, e.g. `spool.dir` or `store.path`. */
  key: string;
  path: string;
}

/** Thrown when the spool or store is on a network filesystem and no override was given. */
export class NetworkFilesystemError extends Error {
  readonly checks: FilesystemCheck[];
  constructor(message: string, checks: FilesystemCheck[]) {
    super(message);
    this.name = 'NetworkFilesystemError';
    this.checks = checks;
  }
}

/** Options of `assertLocalFilesystem`. */
export interface AssertLocalOptions {
  paths: readonly LocalPathRequirement[];
  /** `spool.allowNetworkFs: true` or `--allow-network-fs`: warn instead of refusing. */
  allowNetworkFs: boolean;
  log?: Log;
  /** Injected mountinfo text (tests). */
  mountInfoText?: string;
}

/**
 * Refuse (throw NetworkFilesystemError) when any path is on a network
 * filesystem; with `allowNetworkFs` log a warning per path instead.
 * Returns every check made.
 */
export function assertLocalFilesystem(options: AssertLocalOptions): FilesystemCheck[] {
  const checks = options.paths.map((p) => ({ key: p.key, check: checkLocalFilesystem(p.path, options.mountInfoText) }));
  const remote = checks.filter((c) => c.check.networkFs);
  if (remote.length === 0) return checks.map((c) => c.check);
  const describe = (c: { key: string; check: FilesystemCheck }): string =>
    `${c.key} ${c.check.path} is on ${c.check.fsType} (${c.check.source} mounted at ${c.check.mountPoint})`;
  if (options.allowNetworkFs) {
    for (const c of remote) {
      options.log?.warn(`${describe(c)}: network filesystem allowed by spool.allowNetworkFs/--allow-network-fs; locking and durability are not guaranteed there`, {
        key: c.key, path: c.check.path, fsType: c.check.fsType,
      });
    }
    return checks.map((c) => c.check);
  }
  const lines = remote.map((c) => `  ${describe(c)}`);
  throw new NetworkFilesystemError(
    [
      'refusing to start: the spool and the store must be on node-local disk, not a network filesystem:',
      ...lines,
      'Move them to local disk (e.g. /var/spool/bitbucket-relay and /var/lib/bitbucket-relay; never the shared home of a Data Center cluster),',
      'or, if you accept the risk, set spool.allowNetworkFs: true in the config or pass --allow-network-fs.',
    ].join('\n'),
    remote.map((c) => c.check),
  );
}
