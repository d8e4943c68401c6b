// Benchmark: what each post-receive hook costs the pusher.
//
//   node test/bench/hook.bench.ts
//
// Pushes one small commit at a time to local bare repositories that differ only
// in their post-receive hook, interleaved so every variant sees the same
// machine load, and times each `git push` from spawn to exit:
//   noHook        no post-receive hook at all
//   emptySh       `#!/bin/sh` + `exit 0`: what any shell hook costs
//   ours          hooks/post-receive as shipped (end marker, builtins only)
//   rename        the same hook writing a temp file then `mv` (the alternative)
//   curl          curl -s -m 10 -d @- to a live HTTP endpoint on 127.0.0.1
//   curlHanging   the same curl to an endpoint that never answers (few pushes)
// The "<variant>MinusNoHookMedianMs" figures are medians of paired
// differences: within one iteration every variant pushes the same commit back
// to back, so load from other jobs on the machine cancels out.
// Prints one JSON line. Knobs: HOOK_BENCH_PUSHES (default 100),
// HOOK_BENCH_HANGING_PUSHES (default 2; 0 skips it). Bounded well under 60 s.

import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { cpus, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HOOK = fileURLToPath(new URL('../../hooks/post-receive', import.meta.url));
const PUSHES = Number(process.env.HOOK_BENCH_PUSHES ?? 100);
const HANGING_PUSHES = Number(process.env.HOOK_BENCH_HANGING_PUSHES ?? 2);
const DEADLINE_MS = 50_000;

/** Median and 99th percentile of a sample, ms. */
interface Figures {
  medianMs: number;
  p99Ms: number;
  n: number;
}

function figures(samples: number[]): Figures {
  const s = [...samples].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)];
  const median = s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  return { medianMs: round(median), p99Ms: round(at(0.99)), n: s.length };
}

const round = (x: number) => Math.round(x * 100) / 100;

function run(cwd: string, args: string[], env: NodeJS.ProcessEnv): string {
  const r = spawnSync('git', args, { cwd, env, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`git ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** Times one `git push` asynchronously (the HTTP endpoint lives in this process). */
function timedPush(cwd: string, remote: string, env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn('git', ['push', '-q', remote, 'HEAD:refs/heads/main'], { cwd, env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => { stderr += d; });
    child.on('error', reject);
    child.on('close', (code) => {
      const ms = performance.now() - started;
      if (code !== 0) reject(new Error(`push to ${remote} failed: ${stderr}`));
      else resolve(ms);
    });
  });
}

/** The shipped hook rewritten to write `.<name>.tmp` and `mv` it into place. */
function renameVariant(hook: string): string {
  const write = `>"$relay_file"; then\n  exit 0\nfi`;
  if (!hook.includes(write)) throw new Error('hook.bench: cannot find the write step in hooks/post-receive to derive the rename variant');
  return hook.replace(
    write,
    `>"$relay_in/.$relay_name.tmp"; then\n  mv -f "$relay_in/.$relay_name.tmp" "$relay_file" 2>/dev/null\n  exit 0\nfi`,
  );
}

function listen(server: Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)));
}

async function main(): Promise<void> {
  const benchStart = performance.now();
  const loadBefore = loadavg()[0];
  const root = mkdtempSync(path.join(tmpdir(), 'relay-hook-bench-'));
  const live = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.end('ok'));
  });
  const hanging = createServer(() => { /* never answers */ });
  try {
    const [livePort, hangingPort] = await Promise.all([listen(live), listen(hanging)]);
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      HOME: root,
      GIT_CONFIG_NOSYSTEM: '1',
      GIT_AUTHOR_NAME: 'Bench',
      GIT_AUTHOR_EMAIL: 'bench@example.com',
      GIT_COMMITTER_NAME: 'Bench',
      GIT_COMMITTER_EMAIL: 'bench@example.com',
      // What a Bitbucket hook sees, roughly: a handful of BB_* variables.
      BB_USER_NAME: 'bench',
      BB_USER_DISPLAY_NAME: 'Bench User',
      BB_PROJECT_KEY: 'PRJ',
      BB_REPO_SLUG: 'repo',
    };
    const shipped = readFileSync(HOOK, 'utf8');
    const curlHook = (port: number) => `#!/bin/sh\ncurl -s -m 10 -d @- http://127.0.0.1:${port}/ >/dev/null 2>&1\nexit 0\n`;
    const variants: Record<string, string | null> = {
      noHook: null,
      emptySh: '#!/bin/sh\nexit 0\n',
      ours: shipped,
      rename: renameVariant(shipped),
      curl: curlHook(livePort),
    };
    const spool = path.join(root, 'spool');
    mkdirSync(path.join(spool, 'incoming'), { recursive: true });
    const remotes: Record<string, string> = {};
    const makeRemote = (name: string, hook: string | null) => {
      const bare = path.join(root, `${name}.git`);
      run(root, ['init', '-q', '--bare', bare], env);
      if (hook !== null) writeFileSync(path.join(bare, 'hooks', 'post-receive'), hook, { mode: 0o755 });
      return bare;
    };
    for (const [name, hook] of Object.entries(variants)) remotes[name] = makeRemote(name, hook);

    const work = path.join(root, 'work');
    run(root, ['init', '-q', '-b', 'main', work], env);
    const pushEnv = { ...env, RELAY_SPOOL_DIR: spool };
    const samples: Record<string, number[]> = Object.fromEntries(Object.keys(variants).map((k) => [k, []]));
    // Warm-up push (page cache, git's first-run costs), not counted.
    run(work, ['commit', '-q', '--allow-empty', '-m', 'warm-up'], env);
    for (const name of Object.keys(variants)) await timedPush(work, remotes[name], pushEnv);

    for (let i = 0; i < PUSHES && performance.now() - benchStart < DEADLINE_MS - HANGING_PUSHES * 10_500; i++) {
      writeFileSync(path.join(work, 'file.txt'), `change ${i}\n`);
      run(work, ['add', 'file.txt'], env);
      run(work, ['commit', '-q', '-m', `change ${i}`], env);
      // Rotate the starting variant so none always follows the commit.
      const names = Object.keys(variants);
      for (let k = 0; k < names.length; k++) {
        const name = names[(i + k) % names.length];
        samples[name].push(await timedPush(work, remotes[name], pushEnv));
      }
    }

    const hangingSamples: number[] = [];
    if (HANGING_PUSHES > 0) {
      const bare = makeRemote('curlHanging', curlHook(hangingPort));
      for (let i = 0; i < HANGING_PUSHES; i++) {
        run(work, ['commit', '-q', '--allow-empty', '-m', `hanging ${i}`], env);
        hangingSamples.push(await timedPush(work, bare, pushEnv));
      }
    }

    const out: Record<string, unknown> = { bench: 'hook', pushesPerVariant: samples.noHook.length };
    for (const [name, s] of Object.entries(samples)) out[name] = figures(s);
    if (hangingSamples.length) out.curlHanging = figures(hangingSamples);
    const pairedMedian = (k: string) => figures(samples[k].map((ms, i) => ms - samples.noHook[i])).medianMs;
    out.oursMinusNoHookMedianMs = pairedMedian('ours');
    out.emptyShMinusNoHookMedianMs = pairedMedian('emptySh');
    out.renameMinusNoHookMedianMs = pairedMedian('rename');
    out.curlMinusNoHookMedianMs = pairedMedian('curl');
    out.goal = 'ours adds <= 3 ms median over noHook';
    out.goalMet = (out.oursMinusNoHookMedianMs as number) <= 3;
    out.machine = `${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}`;
    // Rows for the summary table of docs/benchmarks.md (test/bench/run.ts).
    const ms = (x: unknown) => `${x} ms`;
    out.table = [
      {
        what: 'push latency added by the post-receive hook (median of paired differences)',
        ours: ms(out.oursMinusNoHookMedianMs),
        peer: `curl to live endpoint ${ms(out.curlMinusNoHookMedianMs)}; temp+mv variant ${ms(out.renameMinusNoHookMedianMs)}; empty sh hook ${ms(out.emptyShMinusNoHookMedianMs)}`,
        goal: '<= 3 ms',
      },
      ...(hangingSamples.length
        ? [{
            what: 'push latency while the endpoint hangs',
            ours: `${ms(out.oursMinusNoHookMedianMs)} (no network in the hook)`,
            peer: `curl -m 10: ${ms((out.curlHanging as Figures).medianMs)} per push`,
            goal: 'pushes never slowed',
          }]
        : []),
    ];
    out.loadAvg1m = { before: round(loadBefore), after: round(loadavg()[0]) };
    out.elapsedMs = Math.round(performance.now() - benchStart);
    process.stdout.write(JSON.stringify(out) + '\n');
  } finally {
    live.close();
    hanging.closeAllConnections();
    hanging.close();
    rmSync(root, { recursive: true, force: true });
  }
}

await main();
