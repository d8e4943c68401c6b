// Turns commit bytes into text without ever failing: valid UTF-8 as is, else
// the encoding the commit or repository declares, else UTF-8 with U+FFFD.

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });
const lenientUtf8 = new TextDecoder('utf-8');
const decoders = new Map<string, TextDecoder | null>();

function decoderFor(label: string): TextDecoder | null {
  const key = label.trim().toLowerCase();
  if (!decoders.has(key)) {
    let decoder: TextDecoder | null = null;
    try {
      decoder = new TextDecoder(key);
    } catch {
      decoder = null; // an encoding name Node does not know: try the next candidate
    }
    decoders.set(key, decoder);
  }
  return decoders.get(key)!;
}

/**
 * Decodes bytes: UTF-8 when they are valid UTF-8; else the first known
 * encoding among `candidates` (commit `encoding` header, `i18n.commitEncoding`);
 * else UTF-8 with replacement characters.
 */
export function decodeCommitText(bytes: Uint8Array, candidates: readonly (string | null | undefined)[] = []): string {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    for (const label of candidates) {
      if (!label || /^utf-?8$/i.test(label.trim())) continue;
      const decoder = decoderFor(label);
      if (decoder) return decoder.decode(bytes);
    }
    return lenientUtf8.decode(bytes);
  }
}

/** Cuts text to at most maxBytes of UTF-8 without splitting a character. */
export function truncateUtf8(text: string, maxBytes: number): { text: string; truncated: boolean } {
  if (text.length <= maxBytes / 3 || Buffer.byteLength(text, 'utf8') <= maxBytes) return { text, truncated: false };
  const bytes = Buffer.from(text, 'utf8');
  let end = maxBytes;
  // Step back over continuation bytes (10xxxxxx) to a character start.
  while (end > 0 && (bytes[end] & 0xc0) === 0x80) end--;
  return { text: bytes.subarray(0, end).toString('utf8'), truncated: true };
}
