// Secrets never reach a log line, status screen or `show` output, nor the
// store: URLs lose their credentials and token-like query values, and every
// configured secret value is masked wherever it appears in text, in every
// form it can travel in (URL-encoded, form-encoded, base64). This is the one
// redaction function: the logger, the store (where receivers' answers enter
// it, store/queue.ts) and the operator outputs (control ops, status) use it.
// Each destination kind lists its secret values (DestinationKind.secrets);
// src/destinations/registry.ts collects them for a config (configRedactor).

/** What replaces a secret in printed output. */
export const REDACTED = '***';

/** Query parameters whose values are treated as credentials. */
const SECRET_QUERY = /^(token|access_token|api[-_]?key|apikey|key|secret|password|pass|sig|signature|auth|code)$/i;

/** A URL safe to print: user:password@ and token-like query values replaced by ***. */
export function redactUrl(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return url.replace(/\/\/[^/@\s]*@/, `//${REDACTED}@`);
  }
  if (u.username) u.username = REDACTED;
  if (u.password) u.password = REDACTED;
  for (const key of [...u.searchParams.keys()]) {
    if (SECRET_QUERY.test(key)) u.searchParams.set(key, REDACTED);
  }
  // URL serialization percent-encodes our marker; put it back for readability.
  return u.toString().replace(/%2A%2A%2A/g, REDACTED).replace(/\{(\w+)\}|%7B(\w+)%7D/g, (_m, a, b) => `{${a ?? b}}`);
}

/**
 * The credential values a URL carries: its password (plain and as the Basic
 * credential a receiver echoing headers would print) and token-like query values.
 */
export function urlSecrets(url: string): string[] {
  const out: string[] = [];
  try {
    const u = new URL(url);
    if (u.password) out.push(decodeURIComponent(u.password), basicCredential(decodeURIComponent(u.username), decodeURIComponent(u.password)));
    for (const [k, v] of u.searchParams) if (SECRET_QUERY.test(k) && v) out.push(v);
  } catch {
    /* validated elsewhere */
  }
  return out;
}

/** The base64 `user:password` of a Basic Authorization header. */
export function basicCredential(username: string, password: string): string {
  return Buffer.from(`${username}:${password}`).toString('base64');
}

/** Header names whose values are credentials. */
export function isSecretHeader(name: string): boolean {
  return /^(authorization|proxy-authorization|cookie|set-cookie|x-api-key|x-auth-token|private-token|x-hub-signature(-256)?)$/i.test(name) || /token|secret|password|api-?key/i.test(name);
}

/** Headers safe to print. */
export function redactHeaders(headers: Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) {
    if (v === undefined) continue;
    out[k] = isSecretHeader(k) ? REDACTED : Array.isArray(v) ? v.join(', ') : v;
  }
  return out;
}

/** `headers` with every value through `mask` (a secrets redactor), names kept. */
export function maskHeaderValues(headers: Record<string, string>, mask: (text: string) => string): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([name, value]) => [name, mask(value)]));
}

/** Bounds of the response headers kept per attempt: how many, each value's length, and all of them together. */
export const RESPONSE_HEADER_LIMITS = { count: 32, valueChars: 256, totalChars: 2048 } as const;

/**
 * A receiver's response headers, safe to store and print: credential headers
 * (Set-Cookie, Authorization …) as ***, `mask` (the destination's configured
 * secrets, e.g. redactText bound to them) over every other value, and capped
 * by `limits`; what the cap leaves out is counted under "(truncated)".
 */
export function redactResponseHeaders(
  headers: Record<string, string | string[] | undefined>,
  mask: (text: string) => string,
  limits: { count: number; valueChars: number; totalChars: number } = RESPONSE_HEADER_LIMITS,
): Record<string, string> {
  const out: Record<string, string> = {};
  const entries = Object.entries(redactHeaders(headers));
  let total = 0;
  let kept = 0;
  for (const [name, raw] of entries) {
    const masked = raw === REDACTED ? raw : mask(raw);
    const value = masked.length > limits.valueChars ? masked.slice(0, limits.valueChars - 1) + '…' : masked;
    if (kept >= limits.count || total + name.length + value.length > limits.totalChars) break;
    out[name] = value;
    total += name.length + value.length;
    kept++;
  }
  if (kept < entries.length) out['(truncated)'] = `${entries.length - kept} more header${entries.length - kept === 1 ? '' : 's'} not kept`;
  return out;
}

const formsCache = new Map<string, string[]>();

/**
 * Every form a secret value may take in text a receiver sends back: as is,
 * URL-encoded (upper- and lower-case hex, path and form style), base64 and
 * base64url (with and without padding), and the URL-encoded base64.
 * Longest first, so a longer form is masked before a shorter one inside it.
 */
export function secretForms(secret: string): string[] {
  let forms = formsCache.get(secret);
  if (forms) return forms;
  const component = encodeURIComponent(secret);
  const b64 = Buffer.from(secret).toString('base64');
  const candidates = [
    secret,
    component,
    component.replace(/%[0-9A-F]{2}/g, (m) => m.toLowerCase()),
    encodeURI(secret),
    new URLSearchParams({ x: secret }).toString().slice(2),
    b64,
    b64.replace(/=+$/, ''),
    encodeURIComponent(b64),
    Buffer.from(secret).toString('base64url'),
  ];
  forms = [...new Set(candidates)].filter((f) => f.length > 0).sort((a, b) => b.length - a.length);
  if (formsCache.size > 1000) formsCache.clear(); // bounded: secrets come from the config
  formsCache.set(secret, forms);
  return forms;
}

/** Mask every known secret value (in each of its forms, see secretForms), and URL credentials, in free text. */
export function redactText(text: string, secrets: readonly string[]): string {
  return maskSecrets(text.replace(/(https?:\/\/)[^/@\s:]+:[^/@\s]+@/g, `$1${REDACTED}@`), secrets);
}

/** Every form of every secret value replaced by *** (redactText without the URL-credentials rule). */
export function maskSecrets(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) {
    if (!s) continue;
    for (const form of secretForms(s)) if (out.includes(form)) out = out.split(form).join(REDACTED);
  }
  return out;
}
