// Network-filesystem detection for the spool and store.
import t from 'tap';
import { mkdtempSync, rmSync, mkdirSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import {
  assertLocalFilesystem,
  checkLocalFilesystem,
  findMount,
  isNetworkFsType,
  NetworkFilesystemError,
  parseMountInfo,
} from '../../src/install/filesystem-check.ts';
import { createLogger } from '../../src/log/logger.ts';

// A cluster node: local root and /var, the shared home on NFS, a CIFS share
// with a space in its mount point, an sshfs FUSE mount.
const MOUNTINFO = [
  '22 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda1 rw',
  '23 22 254:1 / /var rw,relatime shared:2 - xfs /dev/vdb1 rw',
  '40 23 0:50 / /var/atlassian/application-data/bitbucket/shared rw,relatime shared:30 - nfs4 filer:/export/bitbucket rw,vers=4.1',
  '41 22 0:51 / /mnt/team\\040share rw,relatime - cifs //nas/team rw',
  '42 22 0:52 / /mnt/remote rw,nosuid - fuse.sshfs dev@build:/srv rw',
  '43 22 0:53 / /var/spool/bitbucket-relay rw - tmpfs tmpfs rw',
  '',
  'garbage line',
].join('\n');

t.test('parses mountinfo, with optional fields and escaped spaces', async (t) => {
  const mounts = parseMountInfo(MOUNTINFO);
  t.equal(mounts.length, 6, 'garbage skipped');
  t.same(mounts[2], { mountPoint: '/var/atlassian/application-data/bitbucket/shared', fsType: 'nfs4', source: 'filer:/export/bitbucket' });
  t.equal(mounts[3].mountPoint, '/mnt/team share');
});

t.test('classifies filesystem types', async (t) => {
  for (const type of ['nfs', 'nfs4', 'cifs', 'smb3', 'fuse.sshfs', 'glusterfs', 'ceph', 'fuse.ceph-fuse', 'lustre', 'gpfs', '9p']) {
    t.ok(isNetworkFsType(type), type);
  }
  for (const type of ['ext4', 'xfs', 'btrfs', 'zfs', 'tmpfs', 'overlay', 'fuse.lxcfs', 'squashfs']) {
    t.notOk(isNetworkFsType(type), type);
  }
});

t.test('the longest matching mount point wins, on path-component boundaries', async (t) => {
  const mounts = parseMountInfo(MOUNTINFO);
  t.equal(findMount('/var/atlassian/application-data/bitbucket/shared/data/repositories/1', mounts)?.fsType, 'nfs4');
  t.equal(findMount('/var/atlassian/application-data/bitbucket/sharedX', mounts)?.fsType, 'xfs', 'no prefix confusion');
  t.equal(findMount('/var/lib/bitbucket-relay/relay.db', mounts)?.fsType, 'xfs');
  t.equal(findMount('/opt/x', mounts)?.fsType, 'ext4');
  t.equal(findMount('/mnt/team share/x', mounts)?.fsType, 'cifs');
});

t.test('checkLocalFilesystem: paths that do not exist yet are judged by where they would be', async (t) => {
  const c = checkLocalFilesystem('/var/atlassian/application-data/bitbucket/shared/not/yet/there', MOUNTINFO);
  t.same({ networkFs: c.networkFs, fsType: c.fsType, mountPoint: c.mountPoint }, {
    networkFs: true,
    fsType: 'nfs4',
    mountPoint: '/var/atlassian/application-data/bitbucket/shared',
  });
  t.equal(checkLocalFilesystem('/var/spool/bitbucket-relay', MOUNTINFO).networkFs, false);
});

t.test('checkLocalFilesystem follows symlinks to the real location', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'relay-fscheck-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(join(dir, 'real'));
  symlinkSync(join(dir, 'real'), join(dir, 'link'));
  // Pretend dir/real is an NFS mount: the link must be judged by its target.
  const fake = `${MOUNTINFO}\n50 22 0:60 / ${join(dir, 'real')} rw - nfs srv:/x rw\n`;
  t.equal(checkLocalFilesystem(join(dir, 'link', 'spool'), fake).fsType, 'nfs');
  t.equal(checkLocalFilesystem(join(dir, 'other'), fake).networkFs, false);
});

t.test('checkLocalFilesystem reads this host\'s /proc/self/mountinfo', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'relay-fscheck-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const c = checkLocalFilesystem(dir);
  t.not(c.fsType, 'unknown', `found ${c.fsType} at ${c.mountPoint}`);
  t.equal(c.networkFs, false, 'the temp dir here is local');
});

t.test('assertLocalFilesystem refuses network paths, naming key, path and the override', async (t) => {
  const paths = [
    { key: 'spool.dir', path: '/var/spool/bitbucket-relay' },
    { key: 'store.path', path: '/var/atlassian/application-data/bitbucket/shared/relay/relay.db' },
  ];
  const err = t.throws(() => assertLocalFilesystem({ paths, allowNetworkFs: false, mountInfoText: MOUNTINFO })) as unknown as NetworkFilesystemError;
  t.ok(err instanceof NetworkFilesystemError);
  t.match(err.message, 'store.path /var/atlassian/application-data/bitbucket/shared/relay/relay.db is on nfs4 (filer:/export/bitbucket mounted at /var/atlassian/application-data/bitbucket/shared)');
  t.notMatch(err.message, 'spool.dir /var/spool', 'the local path is not listed');
  t.match(err.message, 'spool.allowNetworkFs: true');
  t.match(err.message, '--allow-network-fs');
  t.equal(err.checks.length, 1);
});

t.test('with the override it warns once per network path and returns the checks', async (t) => {
  const lines: string[] = [];
  const stream = new Writable({ write(c, _e, cb) { lines.push(c.toString()); cb(); } });
  const log = createLogger({ format: 'json', stream });
  const checks = assertLocalFilesystem({
    paths: [{ key: 'spool.dir', path: '/mnt/remote/spool' }, { key: 'store.path', path: '/var/lib/bitbucket-relay/relay.db' }],
    allowNetworkFs: true,
    log,
    mountInfoText: MOUNTINFO,
  });
  await new Promise((r) => setImmediate(r));
  t.same(checks.map((c) => c.networkFs), [true, false]);
  t.equal(lines.length, 1);
  const line = JSON.parse(lines[0]);
  t.equal(line.level, 'warn');
  t.match(line.message, 'spool.dir /mnt/remote/spool is on fuse.sshfs');
});
