// The `tls:` block every network kind shares (verify, ca, cert, key): one
// schema fragment, one normalization, one way to read the PEM files.

import { accessSync, readFileSync, constants as fsConstants } from 'node:fs';
import tls from 'node:tls';
import type { TlsConfig } from '../config/config-types.ts';
import { DestinationSetupError, type NormalizeContext } from './kind.ts';

/** Schema of `tls:`. */
export const TLS_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  properties: { verify: { type: 'boolean' }, ca: { type: 'string' }, cert: { type: 'string' }, key: { type: 'string' } },
} as const;

/** Normalize `tls:` (verify on by default; files resolved and checked readable). */
export function normalizeTls(raw: Record<string, any> | undefined, ctx: NormalizeContext): TlsConfig {
  const t = raw ?? {};
  const abs = (f: string | undefined): string | undefined => (f === undefined ? undefined : ctx.resolvePath(f));
  const out: TlsConfig = { verify: t.verify ?? true, ca: abs(t.ca), cert: abs(t.cert), key: abs(t.key) };
  for (const k of ['ca', 'cert', 'key'] as const) {
    const f = out[k];
    if (f === undefined) continue;
    try {
      accessSync(f, fsConstants.R_OK);
    } catch (err) {
      ctx.report([...ctx.path, 'tls', k], `cannot read ${f} (${(err as NodeJS.ErrnoException).code}); check the path and that the service user may read it`);
    }
  }
  if ((out.cert === undefined) !== (out.key === undefined)) ctx.report([...ctx.path, 'tls'], 'tls.cert and tls.key go together (client certificate and its key)');
  return out;
}

/** The TLS material of a destination, files read (tls.ca is added to the default roots). Throws DestinationSetupError naming the field. */
export function readTlsMaterial(t: TlsConfig, destination: string): { ca?: (string | Buffer)[]; cert?: Buffer; key?: Buffer; rejectUnauthorized: boolean } {
  const read = (file: string, field: string): Buffer => {
    try {
      return readFileSync(file);
    } catch (err) {
      throw new DestinationSetupError(`destination ${destination}: cannot read tls.${field} ${file} (${(err as NodeJS.ErrnoException).code}); check the path and that the service user may read it`);
    }
  };
  return {
    // tls.ca is an *extra* bundle (corporate CA): keep the default roots too.
    ca: t.ca ? [...defaultRoots(), read(t.ca, 'ca')] : undefined,
    cert: t.cert ? read(t.cert, 'cert') : undefined,
    key: t.key ? read(t.key, 'key') : undefined,
    rejectUnauthorized: t.verify,
  };
}

function defaultRoots(): string[] {
  const get = (tls as unknown as { getCACertificates?: (type: string) => string[] }).getCACertificates;
  return get ? get('default') : [...tls.rootCertificates];
}

/** The one TLS-off warning, whatever the kind. */
export const TLS_OFF_WARNING = 'TLS verification is OFF for this destination (tls.verify: false): anyone on the path can read and alter what it receives';
