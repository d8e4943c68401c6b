// JSON Schemas of the CLI's --json outputs, strict (additionalProperties:
// false): a key added, renamed or dropped fails the tests, so the keys
// documented in docs/operations.md stay stable.

const str = { type: 'string' } as const;
const int = { type: 'integer' } as const;
const bool = { type: 'boolean' } as const;
const nstr = { type: ['string', 'null'] } as const;
const nint = { type: ['integer', 'null'] } as const;
const strings = { type: 'array', items: str } as const;

function object(properties: Record<string, unknown>): Record<string, unknown> {
  return { type: 'object', additionalProperties: false, required: Object.keys(properties), properties };
}

/** `relay status --json`. */
export const STATUS_JSON_SCHEMA = object({
  reportVersion: { const: 1 },
  time: str,
  healthy: bool,
  attention: strings,
  notes: strings,
  daemon: object({
    running: bool,
    pid: nint,
    startedAt: nstr,
    uptimeMs: nint,
    version: nstr,
    configFile: nstr,
    node: str,
    socket: str,
    message: nstr,
    counters: {
      oneOf: [
        { type: 'null' },
        object({ events: int, unmatched: int, analysisErrors: int, recordFailures: int, reloads: int, reloadFailures: int }),
      ],
    },
  }),
  config: object({ file: nstr, valid: bool, problems: strings }),
  intake: object({ spoolDir: str, backlog: int, oldestAgeMs: nint, quarantined: int, paused: bool, stuck: int, error: nstr }),
  store: object({ path: str, bytes: nint, maxBytes: int, full: bool, error: nstr, problems: strings }),
  wiring: object({
    fileHooks: { oneOf: [{ type: 'null' }, object({ withHook: int, repositories: int })] },
    hookScripts: { oneOf: [{ type: 'null' }, object({ enabledProjects: int, projects: int, registered: bool, checkedAt: int, error: nstr })] },
    reconcile: object({ enabled: bool, lastSweepAt: nstr, lastSweepMs: nint, repositories: nint, reconciledSinceStart: nint, watched: nint }),
    reconciledOnly: { type: 'array', items: object({ repo: str, count: int }) },
    refChangesSinceStart: { oneOf: [{ type: 'null' }, object({ hook: int, hookScript: int, reconciled: int })] },
  }),
  destinations: {
    type: 'array',
    items: object({
      name: str,
      type: nstr, // the destination kind (http, file, log, …); null when removed
      configured: bool,
      enabled: bool,
      state: { enum: ['ok', 'retrying', 'circuit-open', 'paused', 'error', 'disabled', 'removed'] },
      target: nstr,
      queued: int,
      inFlight: int,
      retrying: int,
      dead: int,
      oldestPendingAgeMs: nint,
      lastSuccessAt: nstr,
      lastError: nstr,
      lastErrorAt: nstr,
      deliveredLastHour: int,
      failedLastHour: int,
      consecutiveFailures: int,
      nextProbeAt: nstr,
      setupError: nstr,
      pausedAt: nstr,
      pausedBy: nstr,
      stalled: { type: 'array', items: object({ delivery: str, repo: str, ageMs: int }) },
    }),
  },
});

const deliveryProperties = {
  id: str,
  eventId: str,
  destination: str,
  repo: str,
  label: str,
  state: { enum: ['pending', 'in_flight', 'delivered', 'dead', 'dropped'] },
  attempts: int,
  createdAt: str,
  nextAttemptAt: nstr,
  firstAttemptAt: nstr,
  lastAttemptAt: nstr,
  lastStatus: nint,
  lastError: nstr,
  deliveredAt: nstr,
  bodyBytes: int,
  bodyPruned: bool,
};

/** One item of `relay deliveries --json` / `relay dlq list --json`. */
export const DELIVERY_JSON_SCHEMA = object(deliveryProperties);

/** `relay show --json`. */
export const SHOW_JSON_SCHEMA = object({
  delivery: object({
    ...deliveryProperties,
    eventTime: str,
    trigger: str,
    headers: { type: 'object', additionalProperties: str },
    signatureHeader: nstr,
    body: nstr,
  }),
  request: {
    oneOf: [
      { type: 'null' },
      // target and headers for every kind; the kind's own keys (http: method, url) are strings too.
      { type: 'object', required: ['target', 'headers'], properties: { target: str, headers: { type: 'object', additionalProperties: str } }, additionalProperties: nstr },
    ],
  },
  // A queued delivery of a configured destination: when the retry policy gives it up (at: null before the first try).
  giveUp: { oneOf: [{ type: 'null' }, object({ at: nstr, horizonMs: int })] },
  attempts: {
    type: 'array',
    items: object({
      time: str,
      outcome: { enum: ['delivered', 'retry', 'dead'] },
      status: nint,
      latencyMs: int,
      error: nstr,
      detail: nstr,
      responseExcerpt: nstr,
      location: nstr,
      target: str,
      url: str,
      // The receiver's response headers, redacted and capped (null without a response, or for kinds without headers).
      responseHeaders: { oneOf: [{ type: 'null' }, { type: 'object', additionalProperties: str }] },
      timings: {
        oneOf: [
          { type: 'null' },
          object({ dnsMs: nint, tcpMs: nint, tlsMs: nint, firstByteMs: nint, totalMs: nint, reused: { type: 'boolean' } }),
        ],
      },
    }),
  },
});
