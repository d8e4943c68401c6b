// NATS decentralized auth (operator / account / user JWTs) for tests, without
// nsc: the JWTs are what nsc writes — a JSON header {typ: JWT, alg:
// ed25519-nkey}, the claims, and an ed25519 signature by the issuer's nkey,
// each part base64url — and the .creds file is nsc's format. Keys come from
// nkeys (re-exported by @nats-io/transport-node).

import { createHash } from 'node:crypto';
import { nkeys } from '@nats-io/transport-node';

type KeyPair = ReturnType<typeof nkeys.createOperator>;

const b64url = (data: Buffer | Uint8Array | string): string => Buffer.from(data).toString('base64url');

/** base32 without padding (the jti nsc writes). */
function base32(data: Buffer): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of data) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += alphabet[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += alphabet[(value << (5 - bits)) & 31];
  return out;
}

/** A JWT with `nats` claims about `subject`, issued (signed) by `issuer`. */
export function encodeJwt(issuer: KeyPair, subject: string, name: string, nats: Record<string, unknown>, extra: Record<string, unknown> = {}): string {
  const claims: Record<string, unknown> = { iat: Math.floor(Date.now() / 1000), iss: issuer.getPublicKey(), name, sub: subject, nats, ...extra };
  claims.jti = base32(createHash('sha512-256').update(JSON.stringify(claims)).digest());
  const head = `${b64url(JSON.stringify({ typ: 'JWT', alg: 'ed25519-nkey' }))}.${b64url(JSON.stringify(claims))}`;
  return `${head}.${b64url(issuer.sign(new TextEncoder().encode(head)))}`;
}

const pub = (k: KeyPair): string => k.getPublicKey();

/** Unlimited account limits, JetStream included (a JetStream-enabled account). */
const ACCOUNT_LIMITS = { subs: -1, data: -1, payload: -1, imports: -1, exports: -1, wildcards: true, conn: -1, leaf: -1, mem_storage: -1, disk_storage: -1, streams: -1, consumer: -1 };

/** An operator with a system account and one JetStream account, as server config lines. */
export interface NatsOperatorSetup {
  /** nats-server config lines: operator, system_account, resolver MEMORY with both accounts preloaded. */
  serverConfig: string;
  /** A user of the account; `publishDeny` subjects it may not publish to; `expiresInSec` < 0: already expired. */
  userCreds(name: string, options?: { publishDeny?: string[]; expiresInSec?: number }): string;
  /** A user signed by an account the server does not know. */
  strangerCreds(): string;
}

/** Make an operator, its system account and an account (operatorJwtFile: where the operator JWT is written by the caller). */
export function natsOperator(operatorJwtFile: string): NatsOperatorSetup & { operatorJwt: string } {
  const operator = nkeys.createOperator();
  const system = nkeys.createAccount();
  const account = nkeys.createAccount();
  const operatorJwt = encodeJwt(operator, pub(operator), 'relay-test-operator', { type: 'operator', version: 2, system_account: pub(system) });
  const systemJwt = encodeJwt(operator, pub(system), 'SYS', { type: 'account', version: 2, limits: { subs: -1, data: -1, payload: -1, imports: -1, exports: -1, wildcards: true, conn: -1, leaf: -1 } });
  const accountJwt = encodeJwt(operator, pub(account), 'RELAY', { type: 'account', version: 2, limits: ACCOUNT_LIMITS });
  const user = (signer: KeyPair, name: string, publishDeny: string[] = [], expiresInSec?: number): string => {
    const u = nkeys.createUser();
    const perms = publishDeny.length ? { pub: { deny: publishDeny }, sub: {} } : { pub: {}, sub: {} };
    const extra = expiresInSec === undefined ? {} : { exp: Math.floor(Date.now() / 1000) + expiresInSec };
    const jwt = encodeJwt(signer, pub(u), name, { type: 'user', version: 2, subs: -1, data: -1, payload: -1, ...perms }, extra);
    return credsFile(jwt, new TextDecoder().decode(u.getSeed()));
  };
  return {
    operatorJwt,
    serverConfig: [
      `operator: ${JSON.stringify(operatorJwtFile)}`,
      `system_account: ${pub(system)}`,
      'resolver: MEMORY',
      `resolver_preload: { ${pub(system)}: ${JSON.stringify(systemJwt)}, ${pub(account)}: ${JSON.stringify(accountJwt)} }`,
    ].join('\n'),
    userCreds: (name, o = {}) => user(account, name, o.publishDeny, o.expiresInSec),
    strangerCreds: () => user(nkeys.createAccount(), 'stranger'),
  };
}

/** The .creds file nsc writes: the user JWT and its nkey seed. */
export function credsFile(jwt: string, seed: string): string {
  return `-----BEGIN NATS USER JWT-----
${jwt}
------END NATS USER JWT------

************************* IMPORTANT *************************
NKEY Seed printed below can be used to sign and prove identity.
NKEYs are sensitive and should be treated as secrets.

-----BEGIN USER NKEY SEED-----
${seed}
------END USER NKEY SEED------

*************************************************************
`;
}
