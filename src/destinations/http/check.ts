// `relay test <dest>`: send a real ping through the daemon's own HTTP sender
// (same agents, proxy, TLS settings, auth and signature; on got, whose
// timings this check reports) and report the
// path to the destination step by step — DNS, TCP, TLS (who the certificate
// is for, who signed it, when it expires, whether we trust it), HTTP — then
// say in plain words what is wrong.
//
// Direct destinations: the ping goes first and got's timings of it are the
// DNS / TCP / TLS steps (the certificate is read from its socket). Only when
// no HTTP answer came back, or through a proxy (its CONNECT tunnel is a step
// of its own), is the path walked one step at a time with bare sockets, to
// say which step fails and why.

import dns from 'node:dns/promises';
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { resolveDestinationUrl } from '../../route/destination-url.ts';
import { renderPingRequest } from '../../formats/index.ts';
import { redactText, redactUrl } from '../../log/redact.ts';
import { formatDuration } from '../../config/units.ts';
import { deliveryIdFor } from '../../route/delivery-id.ts';
import { DestinationSetupError, type CheckOptions, type CheckStep, type PreflightCheck } from '../kind.ts';
import { readTlsMaterial } from '../tls-config.ts';
import { connectTcp, elapsed, errCode, peerCertificate, tlsHandshake, trustAdvice, type CertificateInfo } from '../probe.ts';
import { proxyEnvFor, proxyFor } from './agents.ts';
import type { HttpExchange } from './classify.ts';
import type { HttpDestination } from './config.ts';
import { httpSecrets, redactHttpUrl } from './secrets.ts';
import { createHttpSender, type HttpSender } from './sender.ts';
import type { AttemptTimings } from '../timings.ts';
import type tls from 'node:tls';

/** What `relay test` found for an http destination. */
export interface EndpointCheck extends PreflightCheck {
  format: string;
  method: string;
  /** Redacted URL tested. */
  url: string;
  /** Redacted proxy used, null for direct. */
  proxy: string | null;
  certificate: CertificateInfo | null;
  /** HTTP status of the ping, null when none arrived. */
  status: number | null;
  responseExcerpt: string | null;
  /** got's per-phase timings of the ping, null when none were measured. */
  timings: AttemptTimings | null;
}

/** Send CONNECT through an http proxy; resolves with the status line's code. */
function proxyConnect(socket: net.Socket, target: string, proxyUrl: URL, timeoutMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const auth = proxyUrl.username ? `Proxy-Authorization: Basic ${Buffer.from(`${decodeURIComponent(proxyUrl.username)}:${decodeURIComponent(proxyUrl.password)}`).toString('base64')}\r\n` : '';
    let buf = '';
    const timer = setTimeout(() => {
      socket.off('data', onData);
      reject(Object.assign(new Error(`the proxy did not answer CONNECT within ${formatDuration(timeoutMs)}`), { code: 'ETIMEDOUT' }));
    }, timeoutMs);
    const onData = (chunk: Buffer): void => {
      buf += chunk.toString('latin1');
      const end = buf.indexOf('\r\n\r\n');
      if (end === -1) return;
      clearTimeout(timer);
      socket.off('data', onData);
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(buf);
      if (!m) reject(new Error('the proxy answered CONNECT with something that is not HTTP'));
      else resolve(Number(m[1]));
    };
    socket.on('data', onData);
    socket.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    socket.write(`CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\n${auth}\r\n`);
  });
}

/** Plain words for an HTTP answer (or its absence). */
function diagnoseHttp(result: Pick<HttpExchange, 'status' | 'error' | 'location'>, dest: Pick<HttpDestination, 'format' | 'method' | 'followRedirects'>, proxied: boolean): string {
  const s = result.status;
  if (s === null) {
    const e = result.error ?? 'no response';
    if (/timeout waiting for (response|request)/.test(e)) {
      return `connected, but no HTTP response (${e}): the receiver hangs, or a firewall/VPN/proxy holds the request; check the receiver${proxied ? ' and the proxy' : ', or try a proxy'}`;
    }
    if (/timeout/.test(e)) return `could not connect (${e}): firewall/VPN? ${proxied ? 'check that the proxy can reach the receiver' : 'try a proxy (destination proxy: or HTTPS_PROXY)'}`;
    if (/ECONNREFUSED/.test(e)) return `nothing listening (${e}): is the receiver running, is the port right?`;
    if (/ECONNRESET|socket hang up/.test(e)) return `the connection was cut (${e}): a firewall, proxy or the receiver drops it`;
    return `the request failed: ${e}`;
  }
  if (s >= 200 && s < 300) return `OK: the receiver accepted the ping (HTTP ${s})`;
  if (s === 401 || s === 403) return `the receiver refuses us (HTTP ${s}): check secret / auth (auth.bearer, auth.username/password, or the secret it verifies signatures with)`;
  if (s === 404) return 'not found (HTTP 404): check the path in url';
  if (s === 405) return `method not allowed (HTTP 405): check url and method (${dest.method})`;
  if (s === 407) return 'the proxy wants credentials (HTTP 407): put them in the proxy URL';
  if (s >= 300 && s < 400) {
    return `redirected (HTTP ${s}${result.location ? ` to ${result.location}` : ''}): set url to the final address${dest.followRedirects ? '' : ', or set followRedirects: true'}`;
  }
  if (s === 408 || s === 429 || s >= 500) return `the receiver is in trouble (HTTP ${s}); queued deliveries will be retried with backoff`;
  return `the receiver rejected the ping (HTTP ${s}): some receivers reject pings but accept pushes; check that format: ${dest.format} is what it expects`;
}

/** Check every step to `dest` and send it a ping. Never throws for network trouble. */
export async function checkEndpoint(destIn: HttpDestination, options: Partial<CheckOptions> & { node: string }): Promise<EndpointCheck> {
  const env = options.env ?? process.env;
  const dest: HttpDestination = options.timeoutMs ? { ...destIn, timeout: { connectMs: options.timeoutMs, responseMs: options.timeoutMs, totalMs: 2 * options.timeoutMs } } : destIn;
  const secrets = httpSecrets(dest);
  const redact = (t: string): string => redactText(t, secrets);
  const repo = options.repo ?? { projectKey: 'PROJ', repoSlug: 'repo', repoId: 1 };
  const url = new URL(resolveDestinationUrl(dest.url, { projectKey: repo.projectKey, slug: repo.repoSlug, id: repo.repoId }, { forDisplay: true }));
  const https = url.protocol === 'https:';
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const port = Number(url.port || (https ? 443 : 80));
  const proxyText = proxyFor(url.toString(), proxyEnvFor(dest, env));
  const proxy = proxyText ? new URL(proxyText) : null;
  const steps: CheckStep[] = [];
  const diagnosis: string[] = [];
  const check: EndpointCheck = {
    destination: dest.name, type: 'http', target: '', format: dest.format, method: dest.method, url: redactUrl(url.toString()), proxy: proxy ? redactUrl(proxy.toString()) : null,
    steps, certificate: null, status: null, responseExcerpt: null, timings: null, ok: false, diagnosis,
  };
  check.target = `${check.method} ${check.url} (format ${check.format})${check.proxy ? ` via proxy ${check.proxy}` : ''}`;
  const skip = (...names: CheckStep['step'][]): void => {
    for (const step of names) steps.push({ step, result: 'skipped', ms: null, detail: 'an earlier step failed' });
  };
  const connectMs = dest.timeout.connectMs;

  // The ping goes through delivery's own sender and transport (got: its timings are the steps).
  // Building it first: unreadable tls files or a bad proxy stop everything and say which.
  let sender: HttpSender;
  try {
    sender = createHttpSender(dest, { env });
  } catch (err) {
    steps.push({ step: 'setup', result: 'failed', ms: null, detail: (err as Error).message });
    diagnosis.push(err instanceof DestinationSetupError ? (err as Error).message : `cannot set up the destination: ${(err as Error).message}`);
    return check;
  }
  try {
    return await walk();
  } finally {
    sender.close();
  }

  /** Send the ping; `socket` is the connection it went over. */
  async function ping(): Promise<{ r: HttpExchange; socket: net.Socket | null }> {
    const seed = deliveryIdFor(`relay-test-${Date.now()}`, dest.name, 0);
    const request = renderPingRequest(dest, seed, options.node, new Date().toISOString(), redactHttpUrl(dest));
    let socket: net.Socket | null = null;
    const r = await sender.exchange({ id: seed, headers: request.headers, body: request.body, signatureHeader: request.signatureHeader, ...repo }, undefined, (s) => (socket = s));
    return { r, socket };
  }

  /** The http step and verdict from the ping's answer. */
  function httpStep(r: HttpExchange): CheckStep[] {
    check.status = r.status;
    check.responseExcerpt = r.responseExcerpt;
    check.timings = r.timings ?? null;
    const ok = r.status !== null && r.status >= 200 && r.status < 300;
    const excerpt = r.responseExcerpt ? `: ${JSON.stringify(r.responseExcerpt.slice(0, 120))}` : '';
    steps.push({ step: 'http', result: ok ? 'ok' : 'failed', ms: r.latencyMs, detail: r.status === null ? (r.error ?? 'no response') : `${dest.method} → HTTP ${r.status}${excerpt}` });
    diagnosis.unshift(diagnoseHttp(r, dest, Boolean(proxy)));
    check.ok = ok;
    return steps;
  }

  /** The tls step for a finished handshake; false when the certificate is not trusted and must not be. */
  function tlsStep(secure: tls.TLSSocket, ms: number | null): boolean {
    check.certificate = peerCertificate(secure, host);
    const c = check.certificate;
    const { trustError, daysLeft } = c;
    const summary = `${secure.getProtocol()}; subject ${c.subject}; issuer ${c.issuer}; expires ${c.validTo.slice(0, 10)} (${daysLeft >= 0 ? `in ${daysLeft} days` : `${-daysLeft} days ago`})`;
    if (trustError && dest.tls.verify) {
      steps.push({ step: 'tls', result: 'failed', ms, detail: `${summary}; NOT trusted: ${trustError}` });
      diagnosis.push(trustAdvice(trustError, host));
      return false;
    }
    if (trustError) {
      steps.push({ step: 'tls', result: 'warning', ms, detail: `${summary}; not trusted (${trustError}), tls.verify is off` });
      diagnosis.push(`tls.verify: false hides an untrusted certificate (${trustError}); anyone on the path can read and alter deliveries — add tls.ca instead`);
    } else {
      steps.push({ step: 'tls', result: daysLeft < 14 ? 'warning' : 'ok', ms, detail: summary });
      if (daysLeft < 14) diagnosis.push(`the certificate of ${host} expires in ${daysLeft} days; the receiver must renew it`);
    }
    return true;
  }

  async function walk(): Promise<EndpointCheck> {
    // Direct: the ping first; when it got an HTTP answer over a new connection, got's timings are the steps.
    let sent: { r: HttpExchange; socket: net.Socket | null } | null = null;
    if (!proxy) {
      sent = await ping();
      const { r, socket } = sent;
      const t = r.timings;
      if (r.status !== null && t && !t.reused && socket?.remoteAddress) {
        const where = `${socket.remoteAddress}:${socket.remotePort}`;
        steps.push({ step: 'dns', result: 'ok', ms: t.dnsMs, detail: net.isIP(host) ? `${host} is an address (no lookup)` : `${host} → ${socket.remoteAddress}` });
        steps.push({ step: 'tcp', result: 'ok', ms: t.tcpMs, detail: `connected to ${where}` });
        if (https && !tlsStep(socket as tls.TLSSocket, t.tlsMs)) return check;
        httpStep(r);
        return check;
      }
    }

    // DNS: the proxy's name when proxied (the proxy resolves the receiver's).
    const dialHost = proxy ? proxy.hostname.replace(/^\[|\]$/g, '') : host;
    const dialPort = proxy ? Number(proxy.port || (proxy.protocol === 'https:' ? 443 : 80)) : port;
    let address = dialHost;
    if (net.isIP(dialHost)) {
      steps.push({ step: 'dns', result: 'ok', ms: 0, detail: `${dialHost} is an address (no lookup)${proxy ? `; the proxy resolves ${host}` : ''}` });
    } else {
      const t0 = performance.now();
      try {
        const found = await dns.lookup(dialHost, { all: true });
        address = found[0].address;
        steps.push({ step: 'dns', result: 'ok', ms: elapsed(t0), detail: `${dialHost} → ${found.map((a) => a.address).join(', ')}${proxy ? `; the proxy resolves ${host}` : ''}` });
      } catch (err) {
        const code = errCode(err);
        steps.push({ step: 'dns', result: 'failed', ms: elapsed(t0), detail: `${dialHost}: ${code}` });
        diagnosis.push(code === 'EAI_AGAIN'
          ? `DNS did not answer for ${dialHost} (${code}): check this host's resolver (/etc/resolv.conf) and network`
          : `cannot resolve ${dialHost} (${code}): check the host name in ${proxy ? 'the proxy URL' : 'url'}${proxy ? '' : '; if only a proxy can reach it, set proxy: (or HTTPS_PROXY)'}`);
        skip('tcp', ...(proxy && https ? (['proxy'] as const) : []), ...(https ? (['tls'] as const) : []), 'http');
        return check;
      }
    }

    // TCP.
    let socket: net.Socket;
    {
      const t0 = performance.now();
      const what = `${proxy ? 'proxy ' : ''}${address}:${dialPort}`;
      try {
        socket = await connectTcp(address, dialPort, connectMs);
        steps.push({ step: 'tcp', result: 'ok', ms: elapsed(t0), detail: `connected to ${what}` });
      } catch (err) {
        const code = errCode(err);
        steps.push({ step: 'tcp', result: 'failed', ms: elapsed(t0), detail: `${what}: ${code === 'ETIMEDOUT' ? `no answer within ${formatDuration(connectMs)} (ETIMEDOUT)` : code}` });
        const target = proxy ? `the proxy ${dialHost}:${dialPort}` : `${host}:${port}`;
        if (code === 'ECONNREFUSED') diagnosis.push(`nothing is listening on ${target} (connection refused): is ${proxy ? 'the proxy' : 'the receiver'} running, and is the port right?`);
        else if (code === 'ETIMEDOUT') diagnosis.push(`no answer from ${target} within ${formatDuration(connectMs)}: a firewall or VPN is probably dropping the traffic; check the route${proxy ? '' : ', or try a proxy (destination proxy: or HTTPS_PROXY)'}`);
        else if (code === 'EHOSTUNREACH' || code === 'ENETUNREACH') diagnosis.push(`no route to ${target} (${code}): VPN down? check routing${proxy ? '' : ', or try a proxy'}`);
        else if (code === 'ECONNRESET') diagnosis.push(`${target} reset the connection: a firewall rejects it`);
        else diagnosis.push(`cannot connect to ${target}: ${code}`);
        skip(...(proxy && https ? (['proxy'] as const) : []), ...(https ? (['tls'] as const) : []), 'http');
        return check;
      }
    }

    try {
      // The proxy's tunnel (https through an http proxy).
      if (proxy && https) {
        const t0 = performance.now();
        try {
          const code = await proxyConnect(socket, `${host}:${port}`, proxy, dest.timeout.responseMs);
          if (code !== 200) {
            steps.push({ step: 'proxy', result: 'failed', ms: elapsed(t0), detail: `CONNECT ${host}:${port} → HTTP ${code}` });
            diagnosis.push(code === 407
              ? 'the proxy wants credentials (HTTP 407): put them in the proxy URL (http://user:password@proxy:3128)'
              : `the proxy refuses to connect to ${host}:${port} (HTTP ${code}): ask for the destination to be allowed, or check the url`);
            skip('tls', 'http');
            return check;
          }
          steps.push({ step: 'proxy', result: 'ok', ms: elapsed(t0), detail: `tunnel to ${host}:${port} open` });
        } catch (err) {
          steps.push({ step: 'proxy', result: 'failed', ms: elapsed(t0), detail: redact((err as Error).message) });
          diagnosis.push(`the proxy did not open a tunnel to ${host}:${port}: ${redact((err as Error).message)}`);
          skip('tls', 'http');
          return check;
        }
      }

      // TLS: look at the certificate ourselves, trusting what the sender trusts.
      if (https) {
        const t0 = performance.now();
        const material = readTlsMaterial(dest.tls, dest.name);
        try {
          const secure = await tlsHandshake({
            socket,
            host,
            servername: net.isIP(host) ? undefined : host,
            ca: material.ca,
            cert: material.cert,
            key: material.key,
            rejectUnauthorized: false,
          }, connectMs);
          const trusted = tlsStep(secure, elapsed(t0));
          secure.destroy();
          if (!trusted) {
            skip('http');
            return check;
          }
        } catch (err) {
          steps.push({ step: 'tls', result: 'failed', ms: elapsed(t0), detail: errCode(err) });
          diagnosis.push(`TLS handshake with ${host} failed (${errCode(err)}): is it really https on port ${port}? a TLS-intercepting proxy or firewall?`);
          skip('http');
          return check;
        }
      }
    } finally {
      socket.destroy();
    }

    // HTTP: the ping's answer (sent above when direct; now through the proxy).
    httpStep((sent ?? (await ping())).r);
    return check;
  }
}
