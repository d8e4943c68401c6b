// install.sh on a staged host (--root): install, a real push through
// Bitbucket's trampoline into the staged spool, the daemon started from the
// installed tree, idempotence, upgrade, hooks verify, uninstall.
import t, { type Test } from 'tap';
import { spawn, spawnSync, execFileSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadConfig } from '../../src/config/load-config.ts';
import { createRepository, makeClone } from './fake-bitbucket.ts';
import { asRoot, BB_HOME, changes, checkout, hookFile, makeHost, makeRelease, mode, present, PREFIX, runInstaller, snapshot } from './staged-host.ts';

const dir = mkdtempSync(join(tmpdir(), 'relay-install-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const release = makeRelease(dir);

t.test('install on a staged host, push through the trampoline, upgrade, verify, uninstall', async (t) => {
  const root = makeHost(dir, 'host');
  const first = runInstaller(release, root, '--bitbucket-home', BB_HOME);
  t.equal(first.status, 0, first.stderr);
  if (!asRoot) t.comment('not root: ownership checks are in the next test');
  t.match(first.stderr, `user atlbitbucket does not exist under ${root}`, 'says why it does not chown');

  await t.test('the app: sources, wrapper, production dependencies only', async (t) => {
    const app = join(root, PREFIX);
    for (const f of ['bin/relay.js', 'src/cli/main.ts', 'src/cli/hooks.ts', 'hooks/post-receive', 'config/relay.example.yaml', 'package-lock.json']) {
      t.ok(existsSync(join(app, f)), f);
    }
    t.equal(mode(join(app, 'bin/relay')), '755');
    // The node running these tests lives in a checkout or under /tmp: the installer copies it into the app.
    t.match(readFileSync(join(app, 'bin/relay'), 'utf8'), 'NODE="$APP/node/bin/node"');
    t.ok(existsSync(join(app, 'node/bin/node')), 'the Node.js runtime is inside the app');
    for (const dep of ['yaml', 'ajv', 'chokidar', 'winston']) t.ok(existsSync(join(app, 'node_modules', dep, 'package.json')), `dependency ${dep}`);
    for (const dev of ['tap', 'typescript', 'fast-check', 'node', '@types/node']) t.notOk(existsSync(join(app, 'node_modules', dev)), `no devDependency ${dev}`);
    t.ok(existsSync(join(app, 'dist/RELEASE')), 'src/ compiled to dist/ (the release tree has TypeScript)');
    t.ok(existsSync(join(app, 'dist/src/cli/main.js')), 'dist/src/cli/main.js');
    const version = execFileSync(join(app, 'bin/relay'), ['--version'], { encoding: 'utf8' });
    t.match(version, /^bitbucket-relay \d+\.\d+\.\d+ \(node 24\.\d+\.\d+, compiled\)$/m, 'the installed relay runs the compiled JS');
    t.equal(readlinkSync(join(root, 'usr/local/bin/relay')), `${PREFIX}/bin/relay`);
  });

  await t.test('config, spool, state and unit', async (t) => {
    const etc = join(root, 'etc/bitbucket-relay');
    t.equal(mode(etc), '750');
    t.equal(mode(join(etc, 'relay.yaml')), '640');
    const config = loadConfig(join(etc, 'relay.yaml'), {});
    t.equal(config.spool.dir, '/var/spool/bitbucket-relay');
    t.equal(config.store.path, '/var/lib/bitbucket-relay/relay.db');
    t.equal(config.bitbucket.home, BB_HOME);
    t.equal(config.hooks.autoInstall, true);
    t.match(readFileSync(join(etc, 'hook.env'), 'utf8'), /^RELAY_SPOOL_DIR=\/var\/spool\/bitbucket-relay$/m);
    for (const d of ['', '/incoming', '/quarantine']) t.equal(mode(join(root, 'var/spool/bitbucket-relay' + d)), '2770', `spool${d}`);
    t.equal(mode(join(root, 'var/lib/bitbucket-relay')), '700');
    const unit = readFileSync(join(root, 'etc/systemd/system/bitbucket-relay.service'), 'utf8');
    t.match(unit, /^User=atlbitbucket$/m);
    t.match(unit, /^ExecStart=\/opt\/bitbucket-relay\/bin\/relay daemon --config \/etc\/bitbucket-relay\/relay.yaml$/m);
    t.match(unit, new RegExp(`^ReadWritePaths=-${BB_HOME}/shared/data/repositories$`, 'm'), 'autoInstall may write hooks');
    t.match(unit, /^ProtectHome=yes$/m);
  });

  await t.test('the installed unit passes systemd-analyze verify', { skip: !hasSystemdAnalyze() && 'systemd-analyze not installed (Debian package systemd)' }, async (t) => {
    // verify checks that ExecStart exists: point it at the staged wrapper.
    const unit = readFileSync(join(root, 'etc/systemd/system/bitbucket-relay.service'), 'utf8').replace(
      /^ExecStart=\/opt\/bitbucket-relay\//m,
      `ExecStart=${join(root, PREFIX)}/`,
    );
    const checkDir = mkdtempSync(join(dir, 'unit-'));
    writeFileSync(join(checkDir, 'bitbucket-relay.service'), unit);
    const r = spawnSync('systemd-analyze', ['verify', join(checkDir, 'bitbucket-relay.service')], { encoding: 'utf8' });
    t.equal(r.status, 0, r.stderr);
    t.equal(r.stderr.trim(), '', 'no warnings');
  });

  await t.test('every repository has the hook; Bitbucket\'s files are untouched', async (t) => {
    const hook = readFileSync(join(release, 'hooks/post-receive'));
    for (const id of ['1', '2', '3']) {
      t.ok(readFileSync(hookFile(root, id)).equals(hook), `repository ${id}`);
      t.equal(mode(hookFile(root, id)), '755');
    }
    const scripts = join(root, BB_HOME, 'shared/data/repositories/1/hooks/post-receive.d');
    t.same(readdirSync(scripts).sort(), ['20_bitbucket_callback', '90_bitbucket_relay']);
  });

  await t.test('a real git push through the trampoline lands in the staged spool', async (t) => {
    const repo = join(root, BB_HOME, 'shared/data/repositories/1');
    const work = makeClone(dir, repo, 'host-work');
    // The installed hook.env names the target path /var/spool/...; point the hook at the staged one.
    execFileSync('git', ['push', '--quiet', 'origin', 'main'], {
      cwd: work,
      env: { ...process.env, RELAY_SPOOL_DIR: join(root, 'var/spool/bitbucket-relay') },
      stdio: 'pipe',
    });
    const head = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: work, encoding: 'utf8' }).trim();
    const incoming = join(root, 'var/spool/bitbucket-relay/incoming');
    const records = readdirSync(incoming);
    t.equal(records.length, 1);
    const record = readFileSync(join(incoming, records[0]), 'utf8');
    t.match(record, `${'0'.repeat(40)} ${head} refs/heads/main`);
    t.match(readFileSync(join(repo, 'callback.log'), 'utf8'), head, "Bitbucket's callback ran first");
  });

  await t.test('daemon from the installed tree relays the push (end-to-end)', { skip: !existsSync(join(checkout, 'src/cli/daemon.ts')) && 'src/cli/daemon.ts does not exist yet' }, async (t) => {
    await daemonEndToEnd(t, root);
  });

  await t.test('running the installer again changes nothing', async (t) => {
    const before = snapshot(root);
    const again = runInstaller(release, root, '--bitbucket-home', BB_HOME);
    t.equal(again.status, 0, again.stderr);
    t.match(again.stdout, 'is up to date');
    t.match(again.stdout, '0 installed, 0 updated, 3 unchanged');
    t.same(changes(before, snapshot(root)), []);
  });

  await t.test('relay hooks verify (installed tree) finds a removed hook; install fixes it', async (t) => {
    rmSync(hookFile(root, '2'));
    const relay = join(root, PREFIX, 'bin/relay');
    const verify = spawnSync(relay, ['hooks', 'verify', '--bitbucket-home', join(root, BB_HOME)], { encoding: 'utf8' });
    t.equal(verify.status, 1);
    t.match(verify.stdout, 'repository 2: missing');
    t.match(verify.stdout, '1 of 3 repositories need attention');
    const fix = spawnSync(relay, ['hooks', 'install', '--bitbucket-home', join(root, BB_HOME)], { encoding: 'utf8' });
    t.equal(fix.status, 0);
    t.match(fix.stdout, 'repository 2: installed');
    t.equal(spawnSync(relay, ['hooks', 'verify', '--bitbucket-home', join(root, BB_HOME)]).status, 0);
  });

  await t.test('an upgrade replaces the app and keeps config, spool and queue', async (t) => {
    const app = join(root, PREFIX);
    const etc = join(root, 'etc/bitbucket-relay');
    appendFileSync(join(app, 'src/cli/hooks.ts'), '\n// older release\n');
    rmSync(join(app, 'node_modules/yaml'), { recursive: true });
    appendFileSync(join(etc, 'relay.yaml'), '  - { name: archive, type: file, path: /var/lib/bitbucket-relay/events.jsonl }\n');
    const edited = readFileSync(join(etc, 'relay.yaml'));
    writeFileSync(join(root, 'var/lib/bitbucket-relay/relay.db'), 'queue');
    writeFileSync(join(root, 'var/spool/bitbucket-relay/incoming/kept.push'), 'a push not yet relayed');
    const spoolBefore = readdirSync(join(root, 'var/spool/bitbucket-relay/incoming'));
    const r = runInstaller(release, root, '--bitbucket-home', BB_HOME);
    t.equal(r.status, 0, r.stderr);
    t.match(r.stdout, 'app: replacing 0.');
    t.ok(readFileSync(join(app, 'src/cli/hooks.ts')).equals(readFileSync(join(release, 'src/cli/hooks.ts'))), 'app files replaced');
    t.ok(existsSync(join(app, 'node_modules/yaml/package.json')), 'dependencies restored');
    t.ok(readFileSync(join(etc, 'relay.yaml')).equals(edited), 'operator config kept');
    // The shipped default is the same as at the last install: no relay.yaml.new, no "wrote" (issue 15 item 8).
    t.match(r.stdout, `${etc}/relay.yaml: kept yours (the shipped default has not changed since the last install)`);
    t.notOk(existsSync(join(etc, 'relay.yaml.new')), 'no .new while the shipped default is unchanged');
    t.equal(readFileSync(join(root, 'var/lib/bitbucket-relay/relay.db'), 'utf8'), 'queue', 'queue kept');
    t.same(readdirSync(join(root, 'var/spool/bitbucket-relay/incoming')), spoolBefore, 'spool kept');
    const before = snapshot(root);
    t.equal(runInstaller(release, root, '--bitbucket-home', BB_HOME).status, 0);
    t.same(changes(before, snapshot(root)), [], 'and the next run changes nothing (no new .new churn)');
    // A code-only upgrade keeps the installed dependencies (no npm, no copy).
    appendFileSync(join(app, 'src/cli/main.ts'), '\n// older release\n');
    const codeOnly = runInstaller(release, root, '--bitbucket-home', BB_HOME);
    t.match(codeOnly.stdout, 'reuse the installed dependencies (same package-lock.json)');
    t.notMatch(codeOnly.stdout, 'copied', 'no dependency copy');
    t.ok(readFileSync(join(app, 'src/cli/main.ts')).equals(readFileSync(join(release, 'src/cli/main.ts'))));
    t.same(changes(before, snapshot(root)), [], 'same tree as before the tampering');
    // A shipped default that did change (here: --no-hooks renders autoInstall: false) goes beside it, once.
    const changed = runInstaller(release, root, '--bitbucket-home', BB_HOME, '--no-hooks');
    t.equal(changed.status, 0, changed.stderr);
    t.match(changed.stdout, `kept yours; wrote the shipped default beside it: diff ${etc}/relay.yaml ${etc}/relay.yaml.new`);
    t.match(readFileSync(join(etc, 'relay.yaml.new'), 'utf8'), 'autoInstall: false', 'the .new file is the new shipped default');
    t.notMatch(readFileSync(join(etc, 'relay.yaml.new'), 'utf8'), 'archive');
    t.ok(readFileSync(join(etc, 'relay.yaml')).equals(edited), 'operator config still kept');
  });

  await t.test('--uninstall --dry-run changes nothing; --uninstall keeps config and queue only', async (t) => {
    const before = snapshot(root);
    const dry = runInstaller(release, root, '--uninstall', '--dry-run');
    t.equal(dry.status, 0, dry.stderr);
    t.match(dry.stdout, 'would remove the hook from 3 repositories');
    t.same(changes(before, snapshot(root)), []);
    const r = runInstaller(release, root, '--uninstall');
    t.equal(r.status, 0, r.stderr);
    t.match(r.stdout, `Bitbucket home: ${BB_HOME} (from /etc/bitbucket-relay/relay.yaml)`);
    t.match(r.stdout, 'removed the hook from 3 repositories');
    for (const id of ['1', '2', '3']) t.notOk(existsSync(hookFile(root, id)));
    t.notOk(existsSync(join(root, PREFIX)), 'app removed');
    t.notOk(existsSync(join(root, 'etc/systemd/system/bitbucket-relay.service')), 'unit removed');
    t.notOk(present(join(root, 'usr/local/bin/relay')), 'symlink removed');
    t.ok(existsSync(join(root, 'etc/bitbucket-relay/relay.yaml')), 'config kept');
    t.equal(readFileSync(join(root, 'var/lib/bitbucket-relay/relay.db'), 'utf8'), 'queue', 'queue kept');
    t.ok(existsSync(join(root, 'var/spool/bitbucket-relay/incoming/kept.push')), 'spool record kept');
  });
});

function hasSystemdAnalyze(): boolean {
  return spawnSync('systemd-analyze', ['--version']).status === 0;
}

/**
 * Start `relay daemon` from the installed tree with a config pointing at the
 * staged spool/store and a file destination; the push spooled above must
 * come out in the archive and leave the spool.
 */
async function daemonEndToEnd(t: Test, root: string): Promise<void> {
  const spool = join(root, 'var/spool/bitbucket-relay');
  const archive = join(dir, 'archive.jsonl');
  const config = join(dir, 'e2e-relay.yaml');
  writeFileSync(
    config,
    [
      `spool: { dir: ${spool} }`,
      `store: { path: ${join(root, 'var/lib/bitbucket-relay/relay.db')} }`,
      `admin: { socket: ${join(dir, 'relay.sock')} }`,
      `bitbucket: { home: ${join(root, BB_HOME)} }`,
      'hooks: { autoInstall: true }',
      'destinations:',
      `  - { name: archive, type: file, path: ${archive} }`,
      '',
    ].join('\n'),
  );
  const head = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: join(dir, 'host-work'), encoding: 'utf8' }).trim();
  const daemon = spawn(join(root, PREFIX, 'bin/relay'), ['daemon', '--config', config], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  daemon.stdout.on('data', (d) => (output += d));
  daemon.stderr.on('data', (d) => (output += d));
  const exited = new Promise<number | null>((resolve) => daemon.on('exit', (code) => resolve(code)));
  try {
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline && !(existsSync(archive) && readFileSync(archive, 'utf8').includes(head))) await sleep(100);
    const relayed = existsSync(archive) && readFileSync(archive, 'utf8').includes(head);
    t.ok(relayed, 'the pushed commit reached the archive', relayed ? {} : { output });
    // The record goes just after the archive's fsync.
    while (Date.now() < deadline && readdirSync(join(spool, 'incoming')).length) await sleep(50);
    t.same(readdirSync(join(spool, 'incoming')), [], 'spool record consumed');
    // hooks.autoInstall: a repository Bitbucket creates now gets the hook from the daemon.
    const created = createRepository(join(root, BB_HOME), join(dir, 'host-template'), { id: '4', projectKey: 'ABC', slug: 'new' });
    const hook = join(created, 'hooks/post-receive.d/90_bitbucket_relay');
    const hookDeadline = Date.now() + 10_000;
    while (Date.now() < hookDeadline && !existsSync(hook)) await sleep(50);
    t.ok(existsSync(hook), 'the daemon installed the hook into a new repository', existsSync(hook) ? {} : { output });
    rmSync(created, { recursive: true, force: true });
  } finally {
    daemon.kill('SIGTERM');
    await exited;
  }
}
