// What an amqp message and connection are made of, without the client
// library (so config loading, `relay show` and status never load amqplib):
// connection parameters (TLS files read up front), routing key, properties.

import type { Options } from 'amqplib';
import { fillPlaceholders, subjectToken } from '../../route/destination-url.ts';
import type { BrokerDelivery } from '../broker-outcome.ts';
import { readTlsMaterial } from '../tls-config.ts';
import type { AmqpDestination } from './config.ts';

/** Connection parameters: the parsed url plus credentials, heartbeat and TLS socket options (reads TLS files; throws DestinationSetupError). */
export function amqpConnectArgs(dest: AmqpDestination): { url: Options.Connect; socket: Record<string, unknown> } {
  const u = new URL(dest.url);
  const secure = u.protocol === 'amqps:';
  const url: Options.Connect = {
    protocol: secure ? 'amqps' : 'amqp',
    hostname: u.hostname.replace(/^\[|\]$/g, ''),
    port: Number(u.port || (secure ? 5671 : 5672)),
    username: dest.auth?.username ?? (u.username ? decodeURIComponent(u.username) : 'guest'),
    password: dest.auth?.password ?? (u.password ? decodeURIComponent(u.password) : 'guest'),
    vhost: u.pathname.length > 1 ? decodeURIComponent(u.pathname.slice(1)) : '/',
    // Notices a dead broker behind a silent network within ~30 s.
    heartbeat: 15,
  };
  const socket: Record<string, unknown> = { timeout: dest.timeout.connectMs, noDelay: true };
  if (secure) {
    Object.assign(socket, readTlsMaterial(dest.tls, dest.name));
    socket.servername = /^[\d.]+$|:/.test(url.hostname!) ? undefined : url.hostname;
  }
  return { url, socket };
}

/** The routing key of a delivery (placeholders filled, each value one word). */
export function amqpRoutingKey(dest: AmqpDestination, repo: { projectKey: string; repoSlug: string; repoId: number | null }, forDisplay = false): string {
  return fillPlaceholders(dest.routingKey, { projectKey: repo.projectKey, slug: repo.repoSlug, id: repo.repoId }, { encode: subjectToken, forDisplay });
}

/** The AMQP properties of a delivery: persistent, messageId, content type, format + config headers. */
export function amqpProperties(dest: AmqpDestination, delivery: BrokerDelivery): Options.Publish {
  let contentType = 'application/json';
  const headers: Record<string, string> = {};
  for (const [k, v] of [...Object.entries(delivery.headers), ...Object.entries(dest.headers)]) {
    if (k.toLowerCase() === 'content-type') contentType = v;
    else headers[k] = v;
  }
  headers['X-Relay-Delivery'] = delivery.id;
  return { persistent: true, mandatory: true, messageId: delivery.id, contentType, headers, appId: 'bitbucket-relay' };
}

