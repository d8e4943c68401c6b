// `npm test`: runs tap over test/**/*.test.ts, streams its output, and ends
// with one line `N passed, N failed` (tests = each file's top-level t.test
// blocks; a file that dies outside any test counts as one failure).

import { spawn, spawnSync } from 'node:child_process';
import { createInterface } from 'node:readline';

// A fresh `npm ci` leaves tap built with its default plugins; .taprc drops
// @tapjs/typescript (Node 24 strips types itself). `tap plugin list` reports
// the config, not the build, so rebuild every time (~5 s).
const build = spawnSync('tap', ['build'], { stdio: ['ignore', 'ignore', 'inherit'] });
if (build.status !== 0) {
  process.stdout.write('0 passed, 1 failed\n');
  process.exit(1);
}

// Without TypeScript plugins tap does not pick .ts files by itself: name them.
const given = process.argv.slice(2);
const files = given.filter((a) => !a.startsWith('-'));
const args = ['--reporter=tap', ...given, ...(files.length ? [] : ['test/**/*.test.ts'])].map((a) =>
  // A directory means every test file below it.
  /\.ts$|\*|^-/.test(a) ? a : `${a.replace(/\/$/, '')}/**/*.test.ts`,
);
const child = spawn('tap', args, { stdio: ['ignore', 'pipe', 'inherit'], env: process.env });
let passed = 0;
let failed = 0;
let failedInFile = 0;
let skipped = 0;
const lines = createInterface({ input: child.stdout! });
lines.on('line', (line) => {
  process.stdout.write(line + '\n');
  const nested = /^ {4}(not )?ok \d+ - .*?(# SKIP.*)?$/.exec(line);
  if (nested) {
    if (nested[2]) skipped++;
    else if (nested[1]) {
      failed++;
      failedInFile++;
    } else passed++;
    return;
  }
  const top = /^(not )?ok \d+ - /.exec(line);
  if (top) {
    if (top[1] && failedInFile === 0) failed++;
    failedInFile = 0;
  }
});
child.on('close', (code) => {
  // The last line is exactly `N passed, N failed` (CI reads it); skips go on the line before.
  if (skipped) process.stdout.write(`# ${skipped} skipped (see "# SKIP" above for why)\n`);
  process.stdout.write(`${passed} passed, ${failed} failed\n`);
  // No test at all is a failure too: a broken glob must not pass CI.
  process.exitCode = code === 0 && failed === 0 && passed > 0 ? 0 : 1;
});
