// JSON Schema of relay.yaml as the operator writes it (before normalization).
// Durations are strings like "1s", "10m", "7d" or numbers of milliseconds;
// sizes are "2GiB", "500MB" or numbers of bytes. Semantic checks the schema
// cannot express (URLs, durations, readable files) live in load-config.ts.

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

const destination = {
  type: 'object',
  required: ['name', 'type'],
  additionalProperties: false,
  properties: {
    name: { type: 'string', minLength: 1, pattern: '^[A-Za-z0-9][A-Za-z0-9._-]*$' },
    type: { enum: ['http', 'file', 'log'] },
    enabled: { type: 'boolean' },
    match,
    // file
    path: { type: 'string' },
    // http
    url: { type: 'string' },
    method: { enum: ['POST', 'PUT'] },
    format: { enum: ['cloudevents', 'bitbucket-server', 'bitbucket-cloud', 'github', 'pushevent'] },
    formatOptions: {
      type: 'object',
      additionalProperties: false,
      properties: { extended: { type: 'boolean' }, commitLimit: { type: 'integer', minimum: 0 } },
    },
    events: { type: 'array', minItems: 1, items: { type: 'string' } },
    headers: { type: 'object', additionalProperties: { type: 'string' } },
    timeout: {
      type: 'object',
      additionalProperties: false,
      properties: { connect: duration, response: duration, total: duration },
    },
    concurrency: { type: 'integer', minimum: 1, maximum: 64 },
    secret: { type: 'string' },
    secretFile: { type: 'string' },
    auth: {
      type: 'object',
      additionalProperties: false,
      properties: {
        bearer: { type: 'string' },
        bearerFile: { type: 'string' },
        username: { type: 'string' },
        password: { type: 'string' },
        passwordFile: { type: 'string' },
      },
    },
    proxy: { type: 'string' },
    tls: {
      type: 'object',
      additionalProperties: false,
      properties: {
        verify: { type: 'boolean' },
        ca: { type: 'string' },
        cert: { type: 'string' },
        key: { type: 'string' },
      },
    },
    retry: {
      type: 'object',
      additionalProperties: false,
      properties: { baseDelay: duration, maxDelay: duration, horizon: duration },
    },
    followRedirects: { type: 'boolean' },
  },
} as const;

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
    hooks: { type: 'object', additionalProperties: false, properties: { autoInstall: { type: 'boolean' } } },
    destinations: { type: 'array', items: destination },
  },
} as const;
