// `type: http`: webhooks. Rendered requests are queued; the sender signs and
// authenticates them at send time and maps the answer to the generic outcome.

import { redactHeaders, redactUrl } from '../../log/redact.ts';
import { resolveDestinationUrl } from '../../route/destination-url.ts';
import type { QueuedKind } from '../kind.ts';
import { TLS_OFF_WARNING } from '../tls-config.ts';
import { checkEndpoint } from './check.ts';
import { HTTP_SCHEMA, normalizeHttp, type HttpDestination } from './config.ts';
import { httpSecrets, redactHttpConfig, redactHttpUrl } from './secrets.ts';
import { createHttpSender, requestHeaders } from './sender.ts';

export type { HttpDestination } from './config.ts';

/** The http destination kind. */
export const httpKind: QueuedKind<HttpDestination> = {
  type: 'http',
  delivery: 'queued',
  schema: HTTP_SCHEMA,
  normalize: normalizeHttp,
  describeTarget: (d) => redactHttpUrl(d),
  secrets: httpSecrets,
  redactConfig: redactHttpConfig,
  warnings: (d) => (d.tls.verify ? [] : [TLS_OFF_WARNING]),
  check: (d, options) => checkEndpoint(d, options),
  createSender: (d, ctx) => createHttpSender(d, { env: ctx.env }),
  maxAttemptMs: (d) => d.timeout.totalMs,
  describeRequest(d, delivery) {
    const url = delivery.lastTarget ?? redactUrl(resolveDestinationUrl(d.url, { projectKey: delivery.projectKey, slug: delivery.repoSlug, id: delivery.repoId }, { forDisplay: true }));
    return { target: `${d.method} ${url}`, method: d.method, url, headers: redactHeaders(requestHeaders(d, delivery)) };
  },
};
