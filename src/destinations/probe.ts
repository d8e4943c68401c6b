// Building blocks of `relay test` pre-flight checks that every network kind
// shares: DNS, TCP and TLS with timings, the peer certificate and plain
// words for an untrusted one. The steps use bare sockets only to look; the
// message that counts goes through the kind's own sender.

import net from 'node:net';
import tls from 'node:tls';
import { performance } from 'node:perf_hooks';
import { formatDuration } from '../config/units.ts';

/** The certificate the server presented. */
export interface CertificateInfo {
  subject: string;
  issuer: string;
  validFrom: string;
  validTo: string;
  daysLeft: number;
  /** Names it is valid for (subjectAltName). */
  altNames: string[];
  trusted: boolean;
  /** Why not trusted (OpenSSL code), null when trusted. */
  trustError: string | null;
}

/** Milliseconds since `t0` (performance.now()), rounded. */
export const elapsed = (t0: number): number => Math.round(performance.now() - t0);

/** The error code (ECONNREFUSED …) or message of a failure. */
export function errCode(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  return e.code ?? e.message ?? String(err);
}

/**
 * Resolves with `socket` once it emits `ready` ('connect' / 'secureConnect');
 * rejects with its error, or with ETIMEDOUT (`late` says what did not happen) after `timeoutMs`.
 */
export function socketReady<S extends net.Socket>(socket: S, ready: 'connect' | 'secureConnect', timeoutMs: number, late: string): Promise<S> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.destroy();
      reject(Object.assign(new Error(`${late} within ${formatDuration(timeoutMs)}`), { code: 'ETIMEDOUT' }));
    }, timeoutMs);
    socket.once(ready, () => {
      clearTimeout(timer);
      resolve(socket);
    });
    socket.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

/** TCP connect with a timeout (ETIMEDOUT). */
export function connectTcp(host: string, port: number, timeoutMs: number): Promise<net.Socket> {
  return socketReady(net.connect({ host, port }), 'connect', timeoutMs, 'no answer');
}

/** "CN=…, O=…" of a certificate subject or issuer. */
export function certName(fields: Record<string, string | string[]> | undefined): string {
  if (!fields) return '?';
  const pick = (k: string): string | null => (fields[k] === undefined ? null : `${k}=${Array.isArray(fields[k]) ? (fields[k] as string[]).join('+') : fields[k]}`);
  return ['CN', 'O', 'OU'].map(pick).filter(Boolean).join(', ') || '?';
}

/** TLS handshake (over `options.socket` or a new connection) with a timeout. */
export function tlsHandshake(options: tls.ConnectionOptions, timeoutMs: number): Promise<tls.TLSSocket> {
  return socketReady(tls.connect(options), 'secureConnect', timeoutMs, 'TLS handshake did not finish');
}

/** Plain words for an untrusted certificate. */
export function trustAdvice(code: string, host: string): string {
  switch (code) {
    case 'DEPTH_ZERO_SELF_SIGNED_CERT':
    case 'SELF_SIGNED_CERT_IN_CHAIN':
    case 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY':
    case 'UNABLE_TO_VERIFY_LEAF_SIGNATURE':
      return `untrusted: the certificate of ${host} is signed by a CA this host does not trust (${code}); add tls.ca: /path/to/that-ca.pem (the corporate or private CA bundle) to the destination`;
    case 'CERT_HAS_EXPIRED':
      return `the certificate of ${host} has expired (${code}); the receiver must renew it`;
    case 'CERT_NOT_YET_VALID':
      return `the certificate of ${host} is not valid yet (${code}); check this host's clock`;
    case 'ERR_TLS_CERT_ALTNAME_INVALID':
      return `the certificate is not for ${host}; use the host name it was issued for in the url`;
    default:
      return `untrusted certificate (${code}); if the receiver uses a private CA, add tls.ca: /path/to/ca.pem`;
  }
}


/** What the peer of a finished handshake presented, and whether it is trusted for `host` (rejectUnauthorized was off to look). */
export function peerCertificate(secure: tls.TLSSocket, host: string): CertificateInfo {
  const peer = secure.getPeerCertificate();
  const identityError = secure.authorized ? tls.checkServerIdentity(host, peer) : undefined;
  const trustError = secure.authorized ? (identityError ? (identityError as NodeJS.ErrnoException).code ?? 'ERR_TLS_CERT_ALTNAME_INVALID' : null) : String(secure.authorizationError);
  const validTo = new Date(peer.valid_to);
  return {
    subject: certName(peer.subject as unknown as Record<string, string>),
    issuer: certName(peer.issuer as unknown as Record<string, string>),
    validFrom: new Date(peer.valid_from).toISOString(),
    validTo: validTo.toISOString(),
    daysLeft: Math.floor((validTo.getTime() - Date.now()) / 86_400_000),
    altNames: (peer.subjectaltname ?? '').split(/,\s*/).filter(Boolean),
    trusted: trustError === null,
    trustError,
  };
}
