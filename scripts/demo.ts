// `npm run demo`: a throwaway bare repository with our hook, the daemon on a
// demo config, a handful of real pushes (new branch, fast-forward, tag, force
// push, delete), the resulting events shown readably, then a clean stop and
// the temp dir removed. Also a local webhook receiver, so the http path runs.

import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, copyFileSync, chmodSync, writeFileSync, readFileSync, existsSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import os from 'node:os';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'relay-demo-'));
const tty = process.stdout.isTTY;
const bold = (s: string): string => (tty ? `\x1b[1m${s}\x1b[0m` : s);
const dim = (s: string): string => (tty ? `\x1b[2m${s}\x1b[0m` : s);
const say = (s = ''): void => void process.stdout.write(s + '\n');

const env = {
  ...process.env,
  HOME: path.join(tmp, 'home'),
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_AUTHOR_NAME: 'Ada Lovelace',
  GIT_AUTHOR_EMAIL: 'ada@example.com',
  GIT_COMMITTER_NAME: 'Ada Lovelace',
  GIT_COMMITTER_EMAIL: 'ada@example.com',
  RELAY_SPOOL_DIR: path.join(tmp, 'spool'),
  RELAY_HOOK_ENV: path.join(tmp, 'hook.env'),
  // What a Bitbucket hook script would see.
  BB_PROJECT_KEY: 'DEMO',
  BB_REPO_SLUG: 'webapp',
  BB_USER_NAME: 'ada',
  BB_USER_DISPLAY_NAME: 'Ada Lovelace',
  BB_USER_EMAIL: 'ada@example.com',
  BB_BASE_URL: 'https://bitbucket.example.com',
};
mkdirSync(env.HOME, { recursive: true });
const git = (cwd: string, ...args: string[]): string => execFileSync('git', args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] }).toString().trim();

async function main(): Promise<void> {
  // A receiver standing in for a CI server.
  const received: { key: string; delivery: string }[] = [];
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      received.push({ key: String(req.headers['x-event-key'] ?? req.headers['ce-type'] ?? 'cloudevent'), delivery: String(req.headers['x-relay-delivery']) });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;

  const bare = path.join(tmp, 'bitbucket', 'webapp.git');
  const work = path.join(tmp, 'work');
  mkdirSync(bare, { recursive: true });
  git(bare, 'init', '--quiet', '--bare', '--initial-branch=main');
  copyFileSync(path.join(root, 'hooks', 'post-receive'), path.join(bare, 'hooks', 'post-receive'));
  chmodSync(path.join(bare, 'hooks', 'post-receive'), 0o755);
  for (const d of ['incoming', 'quarantine']) mkdirSync(path.join(env.RELAY_SPOOL_DIR, d), { recursive: true });
  git(tmp, 'init', '--quiet', '--initial-branch=main', work);
  git(work, 'remote', 'add', 'origin', bare);

  const archive = path.join(tmp, 'events.jsonl');
  const configFile = path.join(tmp, 'relay.yaml');
  writeFileSync(
    configFile,
    [
      `spool: { dir: ${env.RELAY_SPOOL_DIR} }`,
      `store: { path: ${path.join(tmp, 'relay.db')} }`,
      `admin: { socket: ${path.join(tmp, 'relay.sock')} }`,
      'log: { format: json, level: info }',
      'destinations:',
      `  - { name: archive, type: file, path: ${archive} }`,
      `  - { name: ci, type: http, url: "http://127.0.0.1:${port}/hook", format: bitbucket-server, secret: demo-secret }`,
      '',
    ].join('\n'),
  );

  say(bold('bitbucket-relay demo'));
  say(dim(`temp dir ${tmp}`));
  const daemon = spawn(process.execPath, [path.join(root, 'bin', 'relay.js'), 'daemon', '--config', configFile], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let daemonOut = '';
  daemon.stdout.on('data', (c) => (daemonOut += c));
  daemon.stderr.on('data', (c) => (daemonOut += c));
  const exited = new Promise<number | null>((r) => daemon.on('exit', (code) => r(code)));
  await waitFor(() => (daemonOut.includes('relay daemon started') ? true : null), 30_000);
  say(dim(`daemon running (pid ${daemon.pid})`));

  const commit = (file: string, text: string, message: string): void => {
    mkdirSync(path.dirname(path.join(work, file)), { recursive: true });
    writeFileSync(path.join(work, file), text);
    git(work, 'add', '-A');
    git(work, 'commit', '--quiet', '-m', message);
  };
  const push = (label: string, ...args: string[]): void => {
    const t0 = performance.now();
    git(work, 'push', '--quiet', ...args);
    say(`${bold('push')} ${label.padEnd(34)} ${dim(`git push took ${(performance.now() - t0).toFixed(0)} ms`)}`);
  };

  commit('README.md', '# webapp\n', 'Initial commit');
  commit('src/app.js', 'console.log("hi")\n', 'WEB-1 Add the app skeleton #ci');
  push('new branch main (2 commits)', 'origin', 'main');
  commit('src/app.js', 'console.log("hello")\n', 'WEB-2 Friendlier greeting');
  push('fast-forward main', 'origin', 'main');
  git(work, 'tag', '-a', 'v1.0', '-m', 'Release 1.0');
  push('annotated tag v1.0', 'origin', 'v1.0');
  git(work, 'checkout', '--quiet', '-b', 'feature/login');
  commit('src/login.js', 'export {}\n', 'WEB-3 Login page');
  push('new branch feature/login', 'origin', 'feature/login');
  git(work, 'commit', '--quiet', '--amend', '-m', 'WEB-3 Login page (reworded)');
  push('force-push feature/login', '--force', 'origin', 'feature/login');
  push('delete feature/login', 'origin', ':feature/login');

  const events = await waitFor(() => {
    const lines = existsSync(archive) ? readFileSync(archive, 'utf8').split('\n').filter(Boolean) : [];
    return lines.length >= 6 ? lines.map((l) => JSON.parse(l)) : null;
  }, 30_000);
  await waitFor(() => (received.length >= 6 ? true : null), 15_000).catch(() => null);

  say();
  say(bold(`${events.length} events (archived to events.jsonl, ${received.length} webhooks delivered to the local receiver)`));
  for (const e of events) {
    say();
    say(`${bold(e.trigger)} by ${e.actor.displayName ?? e.actor.name} to ${e.repository.projectKey}/${e.repository.slug}  ${dim(e.id)}`);
    for (const r of e.refs) {
      const forced = r.forced ? ` forced, ${r.removedCommits} commit(s) left the ref` : '';
      const tag = r.tag?.annotated ? ` annotated tag: "${r.tag.message?.trim()}"` : '';
      say(`  ${r.ref}  ${r.change}  ${r.before.slice(0, 7)}..${r.after.slice(0, 7)}  ${r.totalCommits} new commit(s)${forced}${tag}`);
      for (const sha of r.commits) {
        const c = e.commits[sha];
        const keys = c.issueKeys.length ? `  [${c.issueKeys.join(', ')}]` : '';
        const trig = c.triggers.length ? `  {${c.triggers.join(', ')}}` : '';
        say(`    ${c.shortId} ${c.title}${keys}${trig}${c.distinct ? '' : dim(' (already in the repository)')}`);
        for (const f of c.files) say(dim(`        ${f.status.padEnd(8)} ${f.path}  +${f.additions} -${f.deletions}`));
      }
    }
  }
  say();
  say(`webhooks at the receiver: ${received.map((r) => r.key).join(', ')}`);

  daemon.kill('SIGTERM');
  const code = await exited;
  server.close();
  say(dim(`daemon stopped (exit ${code}); removing ${tmp}`));
  if (code !== 0) say(daemonOut);
}

async function waitFor<T>(check: () => T | null, timeoutMs: number): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = check();
    if (v) return v;
    if (Date.now() > end) throw new Error('timed out waiting for the daemon');
    await new Promise((r) => setTimeout(r, 100));
  }
}

main()
  .catch((err) => {
    process.stderr.write(`demo failed: ${(err as Error).message}\n`);
    process.exitCode = 1;
  })
  .finally(() => rmSync(tmp, { recursive: true, force: true }));
