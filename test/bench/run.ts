// `npm run bench [name…]`: runs each benchmark (test/bench/<name>.bench.ts) in
// its own process, one after another (they measure the machine; running two
// at once would measure each other), collects the JSON line each prints, and
// writes docs/benchmarks.md: the figures, the peer measured in the same run,
// the command that reproduces each, and the machine it ran on.

import { spawnSync, execFileSync } from 'node:child_process';
import { readdirSync, writeFileSync, readFileSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const here = import.meta.dirname;
const root = path.resolve(here, '..', '..');
const all = readdirSync(here).filter((f) => f.endsWith('.bench.ts')).map((f) => f.replace(/\.bench\.ts$/, '')).sort();
const wanted = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const names = wanted.length ? wanted : all;
const unknown = names.filter((n) => !all.includes(n));
if (unknown.length) {
  process.stderr.write(`unknown benchmark(s): ${unknown.join(', ')}; have: ${all.join(', ')}\n`);
  process.exit(2);
}

interface BenchResult {
  name: string;
  ok: boolean;
  seconds: number;
  result: Record<string, unknown> | null;
  error?: string;
}

const results: BenchResult[] = [];
for (const name of names) {
  process.stderr.write(`bench ${name} …\n`);
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [path.join(here, `${name}.bench.ts`)], { cwd: root, encoding: 'utf8', timeout: 15 * 60_000, maxBuffer: 1 << 26 });
  const seconds = (performance.now() - t0) / 1000;
  const line = r.stdout.trim().split('\n').reverse().find((l) => l.startsWith('{'));
  let result: Record<string, unknown> | null = null;
  try {
    result = line ? JSON.parse(line) : null;
  } catch {
    result = null;
  }
  const ok = r.status === 0 && result !== null;
  results.push({ name, ok, seconds, result, error: ok ? undefined : (r.stderr || r.error?.message || 'no JSON line').slice(-2000) });
  process.stdout.write((line ?? `{"bench":"${name}","error":"failed"}`) + '\n');
}

const machine = {
  cpu: os.cpus()[0]?.model ?? 'unknown',
  cores: os.cpus().length,
  memory: `${Math.round(os.totalmem() / 1024 ** 3)} GiB`,
  os: `${os.type()} ${os.release()}`,
  node: process.version,
  git: execFileSync('git', ['--version']).toString().trim(),
  load: os.loadavg().map((l) => l.toFixed(2)).join(' '),
  date: new Date().toISOString(),
};

// Keep figures of benchmarks not run this time (a partial run updates only its own rows).
const doc = path.join(root, 'docs', 'benchmarks.md');
const previous = new Map<string, string>();
if (existsSync(doc)) {
  const m = /<!-- results\n([\s\S]*?)\n-->/.exec(readFileSync(doc, 'utf8'));
  if (m) for (const l of m[1].split('\n')) if (l.trim()) previous.set(JSON.parse(l).name, l);
}
for (const r of results) previous.set(r.name, JSON.stringify({ ...r, machine }));
const rows = [...previous.values()].map((l) => JSON.parse(l) as BenchResult & { machine: typeof machine });

const lines = [
  '# Benchmarks',
  '',
  'Written by `npm run bench` (all) or `npm run bench -- NAME` (one); every figure below comes from that run, with',
  'the peer measured in the same run so ratios survive a noisy shared machine. Goals are from the issues.',
  '',
];
// Summary table: each benchmark may report `table: [{ what, ours, peer, goal }]`.
type SummaryRow = { bench: string; what?: string; ours?: string; peer?: string; goal?: string };
const summary: SummaryRow[] = rows.flatMap((r) => (r.ok && Array.isArray(r.result?.table) ? (r.result!.table as Omit<SummaryRow, 'bench'>[]).map((row) => ({ bench: r.name, ...row })) : []));
if (summary.length) {
  lines.push('| benchmark | what | ours | peer (same run) | goal |', '| --- | --- | --- | --- | --- |');
  for (const s of summary) lines.push(`| ${s.bench} | ${s.what ?? ''} | ${s.ours ?? ''} | ${s.peer ?? ''} | ${s.goal ?? ''} |`);
  lines.push('');
}
for (const r of rows) {
  lines.push(`## ${r.name}`, '');
  lines.push(`Command: \`node test/bench/${r.name}.bench.ts\` — ran ${r.machine.date} on ${r.machine.cores} × ${r.machine.cpu}, ${r.machine.memory}, ${r.machine.node}, ${r.machine.git}, load average ${r.machine.load} at the end; took ${r.seconds.toFixed(1)} s.`, '');
  if (!r.ok) {
    lines.push('**Failed:**', '', '```', r.error ?? '', '```', '');
    continue;
  }
  lines.push('```json', JSON.stringify(r.result, null, 2), '```', '');
}
lines.push('<!-- results', ...rows.map((r) => JSON.stringify(r)), '-->', '');
writeFileSync(doc, lines.join('\n'));
process.stderr.write(`wrote ${path.relative(root, doc)}\n`);
process.exitCode = results.every((r) => r.ok) ? 0 : 1;
