// Golden files: every fixture scenario rendered in every format, compared
// byte for byte. Regenerate after an intended change with
//   UPDATE_GOLDEN=1 npx tap test/formats/golden.test.ts
// and review the diff. Each golden file holds the requests with the body
// parsed (readable diffs) plus the sha256 of the exact body bytes.

import t from 'tap';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FIXTURE_NAMES, fixtureEvent } from '../fixtures/events/index.ts';
import { formatFor } from '../../src/formats/index.ts';
import type { FormatName, FormatOptions } from '../../src/config/config-types.ts';

const GOLDEN_DIR = join(dirname(fileURLToPath(import.meta.url)), 'golden');
const UPDATE = process.env.UPDATE_GOLDEN === '1';

/** Format variants with golden files: directory name → format and options. */
const VARIANTS: Record<string, { format: FormatName; options: FormatOptions; events?: string[] }> = {
  'bitbucket-server': { format: 'bitbucket-server', options: {} },
  'bitbucket-server.extended': { format: 'bitbucket-server', options: { extended: true } },
  'bitbucket-cloud': { format: 'bitbucket-cloud', options: {} },
  github: { format: 'github', options: {} },
  // GitHub's pull_request is sent only when asked for.
  'github.pull_request': { format: 'github', options: {}, events: ['push', 'pull_request'] },
  cloudevents: { format: 'cloudevents', options: {} },
  pushevent: { format: 'pushevent', options: {} },
};

interface GoldenRequest {
  label: string;
  signatureHeader: string | null;
  headers: Record<string, string>;
  bodySha256: string;
  body: unknown;
}

for (const [variant, { format, options, events }] of Object.entries(VARIANTS)) {
  t.test(variant, async (t) => {
    for (const scenario of FIXTURE_NAMES) {
      const requests = formatFor(format).render(fixtureEvent(scenario), { seed: `golden/${scenario}`, destination: 'golden-dest', options, events });
      const file = join(GOLDEN_DIR, variant, `${scenario}.json`);
      const actual: GoldenRequest[] = requests.map((r) => ({
        label: r.label,
        signatureHeader: r.signatureHeader,
        headers: r.headers,
        bodySha256: createHash('sha256').update(r.body).digest('hex'),
        body: JSON.parse(r.body.toString('utf8')),
      }));
      if (UPDATE) {
        mkdirSync(dirname(file), { recursive: true });
        writeFileSync(file, JSON.stringify(actual, null, 2) + '\n');
      }
      t.ok(existsSync(file), `${variant}/${scenario}.json exists (run with UPDATE_GOLDEN=1 to create it)`);
      if (!existsSync(file)) continue;
      const golden = JSON.parse(readFileSync(file, 'utf8')) as GoldenRequest[];
      t.equal(requests.length, golden.length, `${scenario}: request count`);
      requests.forEach((r, i) => {
        const g = golden[i];
        if (!g) return;
        // Exact bytes: the golden body re-serialized compactly, and its recorded digest.
        t.equal(r.body.toString('utf8'), JSON.stringify(g.body), `${scenario}[${i}]: body bytes`);
        t.equal(createHash('sha256').update(r.body).digest('hex'), g.bodySha256, `${scenario}[${i}]: body sha256`);
        t.same(r.headers, g.headers, `${scenario}[${i}]: headers`);
        t.equal(r.signatureHeader, g.signatureHeader, `${scenario}[${i}]: signature header`);
        t.equal(r.label, g.label, `${scenario}[${i}]: label`);
      });
    }
  });
}
