// Log lines stay readable whatever the values: a line longer than
// LOG_LINE_MAX_BYTES is shortened (long strings cut with their size, long
// lists cut with their count), and characters that some readers take for a
// line end (C1 controls incl. U+0085 NEL, U+2028, U+2029) are written as
// \uXXXX escapes. Pure.

/** Longest log line written, in bytes; longer ones are shortened. */
export const LOG_LINE_MAX_BYTES = 16 * 1024;

/** Characters escaped in every log line (JSON escapes C0 controls itself). */
const LINE_BREAKERS = /[\u0080-\u009f\u2028\u2029]/g;

/** `text` with C1 controls, U+2028 and U+2029 written as \uXXXX. */
export function escapeLineBreakers(text: string): string {
  return text.replace(LINE_BREAKERS, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

function shrink(value: unknown, strMax: number, listMax: number, depth: number): unknown {
  if (typeof value === 'string') {
    return value.length > strMax ? `${value.slice(0, strMax)}… (${Buffer.byteLength(value)} bytes, cut)` : value;
  }
  if (Array.isArray(value)) {
    const head = value.slice(0, listMax).map((v) => shrink(v, strMax, listMax, depth + 1));
    return value.length > listMax ? [...head, `… ${value.length - listMax} more`] : head;
  }
  if (value && typeof value === 'object') {
    if (depth >= 4) return '{…}';
    const entries = Object.entries(value);
    const out: Record<string, unknown> = {};
    for (const [k, v] of entries.slice(0, listMax * 2)) out[k] = shrink(v, strMax, listMax, depth + 1);
    if (entries.length > listMax * 2) out['…'] = `${entries.length - listMax * 2} more keys`;
    return out;
  }
  return value;
}

const size = (fields: Record<string, unknown>): number => Buffer.byteLength(JSON.stringify(fields));

/**
 * The fields of a log record, shortened until their JSON fits in `maxBytes`
 * (the same object when it already fits). A shortened record says how long
 * it was in `logLineCutFrom` (bytes).
 */
export function boundLogFields(fields: Record<string, unknown>, maxBytes: number = LOG_LINE_MAX_BYTES): Record<string, unknown> {
  const full = size(fields);
  if (full <= maxBytes) return fields;
  for (const [strMax, listMax] of [[1024, 20], [256, 8], [64, 3]] as const) {
    const out = { ...(shrink(fields, strMax, listMax, -1) as Record<string, unknown>), logLineCutFrom: full };
    if (size(out) <= maxBytes) return out;
  }
  // Still too long (a huge number of keys): the message and the facts about the cut only.
  return { ...shrink({ level: fields.level, message: fields.message, timestamp: fields.timestamp }, 1024, 1, -1) as Record<string, unknown>, logLineCutFrom: full, fields: Object.keys(fields).length };
}
