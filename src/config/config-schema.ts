// JSON Schema of relay.yaml as the operator writes it (before normalization);
// each destination kind brings the schema of its own keys.
// Durations are strings like "1s", "10m", "7d" or numbers of milliseconds;
// sizes are "2GiB", "500MB" or numbers of bytes. Semantic checks the schema
// cannot express (URLs, durations, readable files) live in load-config.ts.

import { KIND_TYPES, kindOf } from '../destinations/registry.ts';

const duration = { type: ['string', 'number'] } as const;
const size = { type: ['string', 'number'] } as const;
const stringList = { type: 'array', items: { type: 'string' } } as const;

const match = {
  type: 'object',
  additionalProperties: false,
  properties: {
    projects: stringList,
    repos: stringList,
    refs: stringList,
    changes: { type: 'array', items: { enum: ['create', 'update', 'delete'] } },
    triggers: stringList,
    paths: stringList,
    requireIssueKey: { type: 'boolean' },
  },
} as const;

/**
 * The keys every destination has. The rest of a destination mapping is its
 * kind's (DestinationKind.schema), checked per destination by the loader:
 * see destinationSchema().
 */
const destination = {
  type: 'object',
  required: ['name', 'type'],
  properties: {
    name: { type: 'string', minLength: 1, pattern: '^[A-Za-z0-9][A-Za-z0-9._-]*$' },
    type: { enum: KIND_TYPES },
    enabled: { type: 'boolean' },
    match,
  },
} as const;

/** The full schema of one destination mapping of `type` (generic keys + the kind's). */
export function destinationSchema(type: string): { type: 'object'; required: string[]; additionalProperties: false; properties: Record<string, unknown> } {
  const kind = kindOf(type);
  return {
    type: 'object',
    // The generic keys are checked by CONFIG_SCHEMA; here they only need to be allowed.
    required: [...(kind.schema.required ?? [])],
    additionalProperties: false,
    properties: { name: {}, type: {}, enabled: {}, match: {}, ...kind.schema.properties },
  };
}

/** Schema of the raw YAML document. */
export const CONFIG_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  properties: {
    node: { type: 'string', minLength: 1 },
    spool: {
      type: 'object',
      additionalProperties: false,
      properties: {
        dir: { type: 'string' },
        incompleteGrace: duration,
        allowNetworkFs: { type: 'boolean' },
      },
    },
    store: {
      type: 'object',
      additionalProperties: false,
      properties: {
        path: { type: 'string' },
        maxBytes: size,
        log: {
          type: 'object',
          additionalProperties: false,
          properties: { maxAge: duration, maxRows: { type: 'integer', minimum: 1000 }, bodyMaxAge: duration },
        },
      },
    },
    bitbucket: {
      type: 'object',
      additionalProperties: false,
      properties: {
        baseUrl: { type: 'string' },
        home: { type: 'string' },
        api: {
          type: 'object',
          additionalProperties: false,
          properties: { url: { type: 'string' }, tokenFile: { type: 'string' }, timeout: duration },
        },
        repositories: {
          type: 'array',
          items: {
            type: 'object',
            required: ['path', 'projectKey', 'slug'],
            additionalProperties: false,
            properties: { path: { type: 'string' }, projectKey: { type: 'string' }, slug: { type: 'string' } },
          },
        },
      },
    },
    analysis: {
      type: 'object',
      additionalProperties: false,
      properties: {
        maxCommits: { type: 'integer', minimum: 1 },
        maxFilesPerCommit: { type: 'integer', minimum: 0 },
        maxMessageBytes: { type: 'integer', minimum: 256 },
        ignoreRefs: stringList,
        issueKeys: {
          type: 'object',
          additionalProperties: false,
          properties: { projects: stringList, ignore: stringList },
        },
        triggerTags: stringList,
        gitTimeout: duration,
      },
    },
    intake: {
      type: 'object',
      additionalProperties: false,
      properties: { concurrency: { type: 'integer', minimum: 1, maximum: 32 } },
    },
    log: {
      type: 'object',
      additionalProperties: false,
      properties: {
        level: { enum: ['error', 'warn', 'info', 'debug'] },
        format: { enum: ['auto', 'json', 'text'] },
      },
    },
    admin: { type: 'object', additionalProperties: false, properties: { socket: { type: 'string' } } },
    metrics: { type: 'object', additionalProperties: false, properties: { listen: { type: 'string' } } },
    web: {
      type: 'object',
      additionalProperties: false,
      properties: {
        listen: { type: 'string' },
        auth: {
          type: 'object',
          additionalProperties: false,
          required: ['type', 'file'],
          properties: { type: { enum: ['bearer', 'basic'] }, file: { type: 'string' } },
        },
      },
    },
    reconcile: {
      type: 'object',
      additionalProperties: false,
      properties: { enabled: { type: 'boolean' }, interval: duration, grace: duration, watch: { type: 'boolean' } },
    },
    hooks: { type: 'object', additionalProperties: false, properties: { autoInstall: { type: 'boolean' }, scriptsInterval: duration } },
    destinations: { type: 'array', items: destination },
  },
} as const;
