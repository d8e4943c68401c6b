// `relay test` for a message broker: DNS → TCP → TLS (certificate subject,
// issuer, expiry, trust) → auth (the real client logs in) → publish (a ping
// in the destination's format, through the daemon's own sender, acknowledged
// by the broker: proves the publish permission and the stream / exchange).
// The kind supplies the protocol-specific parts; steps and plain-language
// diagnosis are shared by nats and amqp.

import dns from 'node:dns/promises';
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { formatDuration } from '../config/units.ts';
import { formatFor, type FormatOptions } from '../formats/index.ts';
import { deliveryIdFor } from '../route/delivery-id.ts';
import type { BrokerSender, PublishOutcome } from './broker-outcome.ts';
import type { CheckStep, PreflightCheck } from './kind.ts';
import { connectTcp, elapsed, errCode, peerCertificate, tlsHandshake, trustAdvice } from './probe.ts';

/** One step of a broker check: setup, dns, tcp, tls, auth, publish. */
export type BrokerCheckStep = CheckStep & { step: 'setup' | 'dns' | 'tcp' | 'tls' | 'auth' | 'publish' };

/** What `relay test` found for a broker destination (a PreflightCheck with the broker's ack). */
export interface BrokerCheck extends PreflightCheck {
  steps: BrokerCheckStep[];
  /** The broker's acknowledgement of the ping (PubAck / confirm), or null. */
  ack: string | null;
}

/** The protocol-specific parts a kind supplies. */
export interface BrokerProbe {
  destination: string;
  type: string;
  format: string;
  /** Redacted server address. */
  server: string;
  /** Subject, or exchange + routing key, of the ping. */
  where: string;
  host: string;
  port: number;
  /** The server speaks first (NATS: an INFO line): read it in the tcp step, within connectMs. */
  greeting: 'nats-info' | null;
  /** 'direct': TLS from the first byte (amqps); 'after-info': NATS sends INFO in clear, then the client upgrades. */
  tls: { mode: 'none' | 'direct' | 'after-info'; ca?: (string | Buffer)[]; cert?: Buffer; key?: Buffer; verify: boolean };
  connectMs: number;
  /** Log in with the real client and close (throws the client's error). */
  login(): Promise<void>;
  /** Publish the ping through the real sender. */
  publish(): Promise<PublishOutcome>;
  /** Words for a failed login or publish. */
  advise(stage: 'auth' | 'publish', text: string): string;
}

/**
 * The ping of `relay test`, in the destination's format, published through
 * a sender of the daemon's own (closed after): what a real delivery does.
 */
export async function publishPing(
  dest: { name: string; format: string; formatOptions: FormatOptions },
  options: { node: string; repo: { projectKey: string; repoSlug: string; repoId: number | null } },
  sender: BrokerSender,
): Promise<PublishOutcome> {
  const id = deliveryIdFor(`relay-test-${Date.now()}`, dest.name, 0);
  const ping = formatFor(dest.format).renderPing({ seed: id, destination: dest.name, options: dest.formatOptions, node: options.node, time: new Date().toISOString() });
  try {
    return await sender.send({ id, headers: ping.headers, body: ping.body, ...options.repo });
  } finally {
    await sender.close();
  }
}

function withTimeout<T>(p: Promise<T>, ms: number, late: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(Object.assign(new Error(`${late} within ${formatDuration(ms)}`), { code: 'ETIMEDOUT' }));
    }, ms);
    p.then((v) => (clearTimeout(timer), resolve(v)), (e) => (clearTimeout(timer), reject(e)));
  });
}

/** The first line the server sends (NATS INFO), or null for protocols where the client speaks first. */
function firstLine(socket: net.Socket, ms: number): Promise<string> {
  return withTimeout(
    new Promise<string>((resolve, reject) => {
      let buf = '';
      const onData = (c: Buffer): void => {
        buf += c.toString('latin1');
        const end = buf.indexOf('\r\n');
        if (end === -1) return;
        socket.off('data', onData);
        resolve(buf.slice(0, end));
      };
      socket.on('data', onData);
      socket.once('error', reject);
    }),
    ms,
    'the server sent no greeting',
  );
}

/** Walk every step to the broker; never throws for network trouble. */
export async function checkBroker(p: BrokerProbe): Promise<BrokerCheck> {
  const steps: BrokerCheckStep[] = [];
  const diagnosis: string[] = [];
  const check: BrokerCheck = { destination: p.destination, type: p.type, target: `${p.type} ${p.server} → ${p.where} (format ${p.format})`, steps, ack: null, ok: false, diagnosis };
  const skip = (...names: BrokerCheckStep['step'][]): BrokerCheck => {
    for (const step of names) steps.push({ step, result: 'skipped', ms: null, detail: 'an earlier step failed' });
    return check;
  };
  const tlsSteps: BrokerCheckStep['step'][] = p.tls.mode === 'none' ? [] : ['tls'];
  const where = `${p.host}:${p.port}`;

  // DNS.
  let address = p.host;
  if (net.isIP(p.host) !== 0) {
    steps.push({ step: 'dns', result: 'ok', ms: 0, detail: `${p.host} is an address (no lookup)` });
  } else {
    const t0 = performance.now();
    try {
      const found = await dns.lookup(p.host, { all: true });
      address = found[0].address;
      steps.push({ step: 'dns', result: 'ok', ms: elapsed(t0), detail: `${p.host} → ${found.map((a) => a.address).join(', ')}` });
    } catch (err) {
      const code = errCode(err);
      steps.push({ step: 'dns', result: 'failed', ms: elapsed(t0), detail: `${p.host}: ${code}` });
      diagnosis.push(`cannot resolve ${p.host} (${code}): check the host name of the server`);
      return skip('tcp', ...tlsSteps, 'auth', 'publish');
    }
  }

  // TCP (and the NATS greeting).
  let socket: net.Socket;
  {
    const t0 = performance.now();
    let s: net.Socket | null = null;
    try {
      s = await connectTcp(address, p.port, p.connectMs);
      socket = s;
      let detail = `connected to ${address}:${p.port}`;
      // A server that accepts but never greets would hang the client's login (nats.js then also leaks
      // the socket): it fails here, within connectMs.
      if (p.greeting === 'nats-info') {
        const info = await firstLine(socket, p.connectMs);
        const m = /^INFO\s+(\{.*\})/.exec(info);
        if (!m) throw new Error(`not a NATS server (it said ${JSON.stringify(info.slice(0, 60))})`);
        const i = JSON.parse(m[1]) as { version?: string; jetstream?: boolean; tls_required?: boolean; auth_required?: boolean };
        detail += `; nats-server ${i.version ?? '?'}${i.jetstream ? ', JetStream on' : ', JetStream OFF'}${i.tls_required ? ', TLS required' : ''}${i.auth_required ? ', auth required' : ''}`;
        if (!i.jetstream) diagnosis.push(`JetStream is not enabled on ${where}: enable it (jetstream {} in the server config); deliveries need a stream`);
      }
      steps.push({ step: 'tcp', result: 'ok', ms: elapsed(t0), detail });
    } catch (err) {
      s?.destroy();
      const code = errCode(err);
      steps.push({ step: 'tcp', result: 'failed', ms: elapsed(t0), detail: `${where}: ${code === 'ETIMEDOUT' ? `no answer within ${formatDuration(p.connectMs)} (ETIMEDOUT)` : code}` });
      if (/sent no greeting/.test(String((err as Error).message))) {
        steps[steps.length - 1] = { step: 'tcp', result: 'failed', ms: elapsed(t0), detail: `${where}: connected, but ${(err as Error).message}` };
        diagnosis.push(`${where} accepted the connection but said nothing: is it a NATS server (not a proxy or another service), and is the server healthy?`);
      } else if (code === 'ECONNREFUSED') diagnosis.push(`nothing is listening on ${where} (connection refused): is the broker running, and is the port right?`);
      else if (code === 'ETIMEDOUT') diagnosis.push(`no answer from ${where} within ${formatDuration(p.connectMs)}: a firewall or VPN is probably dropping the traffic`);
      else diagnosis.push(`cannot connect to ${where}: ${code}`);
      return skip(...tlsSteps, 'auth', 'publish');
    }
  }

  // TLS: look at the certificate, trusting what the sender trusts.
  try {
    if (p.tls.mode !== 'none') {
      const t0 = performance.now();
      try {
        const secure = await tlsHandshake({ socket, host: p.host, servername: net.isIP(p.host) !== 0 ? undefined : p.host, ca: p.tls.ca, cert: p.tls.cert, key: p.tls.key, rejectUnauthorized: false }, p.connectMs);
        const c = peerCertificate(secure, p.host);
        const trustError = c.trustError;
        const daysLeft = c.daysLeft;
        const summary = `${secure.getProtocol()}; subject ${c.subject}; issuer ${c.issuer}; expires ${c.validTo.slice(0, 10)} (${daysLeft >= 0 ? `in ${daysLeft} days` : `${-daysLeft} days ago`})`;
        secure.destroy();
        if (trustError && p.tls.verify) {
          steps.push({ step: 'tls', result: 'failed', ms: elapsed(t0), detail: `${summary}; NOT trusted: ${trustError}` });
          diagnosis.push(trustAdvice(trustError, p.host));
          return skip('auth', 'publish');
        }
        if (trustError) {
          steps.push({ step: 'tls', result: 'warning', ms: elapsed(t0), detail: `${summary}; not trusted (${trustError}), tls.verify is off` });
          diagnosis.push(`tls.verify: false hides an untrusted certificate (${trustError}); add tls.ca instead`);
        } else {
          steps.push({ step: 'tls', result: daysLeft < 14 ? 'warning' : 'ok', ms: elapsed(t0), detail: summary });
          if (daysLeft < 14) diagnosis.push(`the certificate of ${p.host} expires in ${daysLeft} days`);
        }
      } catch (err) {
        steps.push({ step: 'tls', result: 'failed', ms: elapsed(t0), detail: errCode(err) });
        diagnosis.push(`TLS handshake with ${where} failed (${errCode(err)}): does the broker speak TLS on this port?`);
        return skip('auth', 'publish');
      }
    }
  } finally {
    socket.destroy();
  }

  // Auth: the real client logs in.
  {
    const t0 = performance.now();
    try {
      await p.login();
      steps.push({ step: 'auth', result: 'ok', ms: elapsed(t0), detail: 'logged in' });
    } catch (err) {
      const text = (err as Error).message;
      steps.push({ step: 'auth', result: 'failed', ms: elapsed(t0), detail: text });
      diagnosis.push(p.advise('auth', text));
      return skip('publish');
    }
  }

  // Publish: a ping through the daemon's own sender, acknowledged.
  const r = await p.publish();
  if (r.outcome === 'delivered') {
    check.ack = r.detail;
    check.ok = true;
    steps.push({ step: 'publish', result: 'ok', ms: r.latencyMs, detail: r.detail });
    diagnosis.unshift(`OK: the broker acknowledged the ping (${r.detail})`);
  } else {
    steps.push({ step: 'publish', result: 'failed', ms: r.latencyMs, detail: r.detail });
    diagnosis.unshift(p.advise('publish', r.detail));
  }
  return check;
}
