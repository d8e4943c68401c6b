// JSON bodies: compact, key order as built, UTF-8 bytes.

/** The exact bytes of `value` as compact JSON. */
export function jsonBody(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value), 'utf8');
}

/** Content-Type of plain JSON bodies. */
export const JSON_CONTENT_TYPE = 'application/json; charset=utf-8';
