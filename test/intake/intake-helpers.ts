// Helpers for intake tests: records written exactly as the hook writes them
// (same bytes, chosen names and mtimes), polling, and a recording log.

import { utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { IntakeLog } from '../../src/intake/spool-intake.ts';

/** Bytes of a version-1 record, as the hook under dash would write them. */
export function recordBytes(opts: { repo: string; refs?: string[]; env?: Record<string, string>; nonce?: string; host?: string }): Buffer {
  const nonce = opts.nonce ?? 'a1b2c3d4-0000-4000-8000-000000000000';
  const q = (v: string) => `'${v.replace(/'/g, `'"'"'`)}'`;
  const env = { ...(opts.env ?? {}), RELAY_RECORD_REPO: opts.repo, RELAY_RECORD_HOST: opts.host ?? 'testhost' };
  const envText = Object.keys(env)
    .sort()
    .map((k) => `export ${k}=${q(env[k as keyof typeof env]!)}\n`)
    .join('');
  const refs = (opts.refs ?? []).map((l) => `${l}\n`).join('');
  return Buffer.from(`bitbucket-relay-spool 1 ${nonce}\n${envText}refs ${nonce}\n${refs}end ${nonce}\n`);
}

/** Writes incoming/<name> with the given bytes and (optionally) mtime in ms. */
export function writeRecord(spool: string, name: string, bytes: Buffer | string, mtimeMs?: number): string {
  const file = path.join(spool, 'incoming', name);
  writeFileSync(file, bytes, { mode: 0o640 });
  if (mtimeMs !== undefined) utimesSync(file, mtimeMs / 1000, mtimeMs / 1000);
  return file;
}

/** A ref line creating refs/heads/<branch> at a fake sha. */
export function refLine(branch: string, n = 1): string {
  return `${'0'.repeat(40)} ${n.toString(16).padStart(40, 'a')} refs/heads/${branch}`;
}

/** Polls `cond` every 10 ms until true or `timeoutMs` passes (then throws with `what`). */
export async function waitFor(cond: () => boolean | Promise<boolean>, what: string, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await cond()) return;
    await sleep(10);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for: ${what}`);
}

/** Resolves after `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** A log that keeps every line for assertions. */
export function recordingLog(): IntakeLog & { lines: { level: string; message: string; fields?: Record<string, unknown> }[] } {
  const lines: { level: string; message: string; fields?: Record<string, unknown> }[] = [];
  const at = (level: string) => (message: string, fields?: Record<string, unknown>) => {
    lines.push({ level, message, fields });
  };
  return { lines, error: at('error'), warn: at('warn'), info: at('info'), debug: at('debug') };
}
