// cloudevents format: a structured-mode CloudEvents 1.0 envelope. Checked
// against the spec's rules (REQUIRED id / source / specversion / type as
// non-empty strings, OPTIONAL attributes' types, attribute naming) and the
// PushEvent carried as data.

import t from 'tap';
import { readFileSync } from 'node:fs';
import { FIXTURE_NAMES, fixtureEvent } from '../fixtures/events/index.ts';
import { cloudEventsFormat, PUSH_EVENT_DATASCHEMA } from '../../src/formats/cloudevents.ts';

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;
/** Context attributes the spec defines; any other attribute is an extension. */
const SPEC_ATTRIBUTES = new Set(['specversion', 'id', 'source', 'type', 'datacontenttype', 'dataschema', 'subject', 'time', 'data', 'data_base64']);

/** Violations of CloudEvents 1.0 (structured JSON) in `ce`. */
function cloudEventProblems(ce: Record<string, unknown>): string[] {
  const p: string[] = [];
  for (const k of ['id', 'source', 'specversion', 'type']) {
    if (typeof ce[k] !== 'string' || (ce[k] as string).length === 0) p.push(`${k}: REQUIRED non-empty string`);
  }
  if (ce.specversion !== '1.0') p.push('specversion must be "1.0"');
  if (typeof ce.source === 'string' && /\s/.test(ce.source)) p.push('source must be a URI-reference');
  if ('time' in ce && !(typeof ce.time === 'string' && RFC3339.test(ce.time))) p.push('time must be RFC 3339');
  if ('subject' in ce && !(typeof ce.subject === 'string' && ce.subject.length > 0)) p.push('subject must be a non-empty string');
  if ('datacontenttype' in ce && typeof ce.datacontenttype !== 'string') p.push('datacontenttype must be a string');
  if ('dataschema' in ce) {
    try {
      new URL(ce.dataschema as string);
    } catch {
      p.push('dataschema must be an absolute URI');
    }
  }
  if ('data' in ce && 'data_base64' in ce) p.push('data and data_base64 are exclusive');
  for (const [k, v] of Object.entries(ce)) {
    if (!/^[a-z0-9]{1,20}$/.test(k) && k !== 'data_base64') p.push(`attribute name "${k}" must be lower-case a-z0-9, at most 20 characters`);
    if (!SPEC_ATTRIBUTES.has(k) && !['string', 'number', 'boolean'].includes(typeof v)) p.push(`extension "${k}" must be a string, integer or boolean`);
  }
  return p;
}

t.test('the checker catches violations', async (t) => {
  t.same(cloudEventProblems({ specversion: '0.3', id: '', source: 'a b', type: 'x', time: 'now', projectKey: 'P', ext: {} }).length, 6);
});

t.test('every scenario is a valid structured CloudEvent wrapping the PushEvent', async (t) => {
  for (const name of FIXTURE_NAMES) {
    const event = fixtureEvent(name);
    const reqs = cloudEventsFormat.render(event, { seed: 's', destination: 'router', options: {} });
    t.equal(reqs.length, 1, `${name}: one request`);
    const [req] = reqs;
    t.match(req.headers['Content-Type'], /^application\/cloudevents\+json/, `${name}: structured content type`);
    const ce = JSON.parse(req.body.toString('utf8'));
    t.same(cloudEventProblems(ce), [], `${name}: spec`);
    t.equal(ce.id, event.id, `${name}: id is the event id (stable across retries and destinations)`);
    t.equal(ce.time, event.time);
    t.equal(ce.datacontenttype, 'application/json');
    t.equal(ce.dataschema, PUSH_EVENT_DATASCHEMA);
    t.equal(ce.trigger, event.trigger, `${name}: trigger extension`);
    t.same(ce.data, event, `${name}: data is the PushEvent`);
    if (event.refs.length === 1) t.equal(ce.subject, event.refs[0].ref, `${name}: subject is the ref`);
    else t.notOk('subject' in ce, `${name}: several refs, no subject`);
  }
});

t.test('source is the repository URL; without a base URL the node stands in', async (t) => {
  const ce = JSON.parse(cloudEventsFormat.render(fixtureEvent('branch-update'), { seed: 's', destination: 'd', options: {} })[0].body.toString('utf8'));
  t.equal(ce.source, 'https://bitbucket.example.com/projects/PLAT/repos/api-gateway');
  const odd = JSON.parse(cloudEventsFormat.render(fixtureEvent('unknown-identity'), { seed: 's', destination: 'd', options: {} })[0].body.toString('utf8'));
  t.equal(odd.source, 'https://bb-node-1/projects/LEGACY/repos/billing-core');
});

t.test('pull-request merge context travels in data and as the trigger attribute', async (t) => {
  const ce = JSON.parse(cloudEventsFormat.render(fixtureEvent('pr-merge'), { seed: 's', destination: 'd', options: {} })[0].body.toString('utf8'));
  t.equal(ce.trigger, 'pull-request-merge');
  t.equal(ce.data.pullRequest.id, 57);
});

t.test('dataschema is the $id of the PushEvent JSON Schema', async (t) => {
  const schema = JSON.parse(readFileSync(new URL('../../src/event/push-event.schema.json', import.meta.url), 'utf8'));
  t.equal(PUSH_EVENT_DATASCHEMA, schema.$id);
});

t.test('ping is a valid CloudEvent too', async (t) => {
  const req = cloudEventsFormat.renderPing({ seed: 'p', destination: 'router', options: {}, node: 'bb-node-1', time: '2024-05-20T06:15:42.008Z' });
  t.same(cloudEventProblems(JSON.parse(req.body.toString('utf8'))), []);
});
