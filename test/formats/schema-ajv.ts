// An Ajv instance for the published schemas the tests validate against,
// with real checks for the string formats they use (Ajv ignores none of
// them: unknown formats would be an error, not a pass).

import { Ajv } from 'ajv';

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i;

/** Ajv with `uri`, `uri-reference`, `uri-template`, `date-time` and `email` checks. */
export function strictAjv(): Ajv {
  const ajv = new Ajv({ allErrors: true, strict: false });
  ajv.addFormat('uri', (s: string) => {
    try {
      return new URL(s).protocol.length > 1;
    } catch {
      return false;
    }
  });
  ajv.addFormat('uri-reference', (s: string) => s.length > 0 && !/\s/.test(s));
  ajv.addFormat('uri-template', (s: string) => {
    try {
      return new URL(s.replace(/\{[^}]*\}/g, '')).protocol.length > 1;
    } catch {
      return false;
    }
  });
  ajv.addFormat('date-time', (s: string) => RFC3339.test(s) && !Number.isNaN(Date.parse(s)));
  ajv.addFormat('email', (s: string) => /^[^\s@]+@[^\s@]+$/.test(s));
  return ajv;
}
