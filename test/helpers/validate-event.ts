// Validates events against src/event/push-event.schema.json (the contract).
// Every test that produces a PushEvent runs it through assertValidPushEvent.

import { readFileSync } from 'node:fs';
import type { Test } from 'tap';
import { Ajv2020, type ErrorObject } from 'ajv/dist/2020.js';

const schemaUrl = new URL('../../src/event/push-event.schema.json', import.meta.url);
const schema = JSON.parse(readFileSync(schemaUrl, 'utf8')) as object;
const ajv = new Ajv2020({ allErrors: true, strict: true });
const validate = ajv.compile(schema);

/** Schema problems of a value as readable lines; empty when valid. */
export function pushEventProblems(value: unknown): string[] {
  if (validate(value)) return [];
  return (validate.errors ?? []).map((e: ErrorObject) => `${e.instancePath || '/'} ${e.message ?? 'is invalid'} ${JSON.stringify(e.params)}`);
}

/** Asserts that value is a valid PushEvent (JSON round-trip included: what goes on the wire). */
export function assertValidPushEvent(t: Test, value: unknown): void {
  const wire = JSON.parse(JSON.stringify(value)) as unknown;
  t.same(pushEventProblems(wire), [], 'event matches push-event.schema.json');
}
