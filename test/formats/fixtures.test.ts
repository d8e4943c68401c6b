// The hand-written fixture events are valid PushEvents: tsc checks their
// shape (test/fixtures/events/index.ts); here the string unions JSON cannot
// type, the JSON Schema of src/event/, and the invariants formats rely on.

import t from 'tap';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { FIXTURE_NAMES, fixtureEvent } from '../fixtures/events/index.ts';

const SCHEMA = fileURLToPath(new URL('../../src/event/push-event.schema.json', import.meta.url));

t.test('string unions hold known values', async (t) => {
  const triggers = ['push', 'pull-request-merge', 'branch-create', 'branch-delete', 'tag-create', 'tag-delete', 'file-edit', 'backfill', 'other'];
  for (const name of FIXTURE_NAMES) {
    const e = fixtureEvent(name);
    t.ok(triggers.includes(e.trigger), `${name}: trigger ${e.trigger}`);
    t.ok(['env', 'repository-config', 'config', 'directory'].includes(e.repository.identitySource), `${name}: identitySource`);
    for (const r of e.refs) {
      t.ok(['branch', 'tag', 'other'].includes(r.kind) && ['create', 'update', 'delete'].includes(r.change), `${name} ${r.ref}: kind/change`);
      for (const sha of r.commits) t.ok(e.commits[sha], `${name} ${r.ref}: commit ${sha.slice(0, 7)} is in commits`);
    }
    for (const c of Object.values(e.commits)) {
      for (const f of c.files) t.ok(['added', 'modified', 'deleted', 'renamed', 'copied', 'typechanged'].includes(f.status), `${name}: file status ${f.status}`);
    }
  }
});

t.test('fixtures validate against src/event/push-event.schema.json', { skip: !existsSync(SCHEMA) && 'schema not written yet' }, async (t) => {
  const ajv = new Ajv2020({ allErrors: true, strict: false });
  const validate = ajv.compile(JSON.parse(readFileSync(SCHEMA, 'utf8')));
  for (const name of FIXTURE_NAMES) {
    const ok = validate(fixtureEvent(name));
    t.ok(ok, `${name}: ${ok ? 'valid' : ajv.errorsText(validate.errors)}`);
  }
  const broken = fixtureEvent('merge') as unknown as { refs: { change: string }[] };
  broken.refs[0].change = 'modify';
  t.notOk(validate(broken), 'an unknown change value is rejected');
});
