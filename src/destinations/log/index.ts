// `type: log`: each routed event written to the daemon log (inline).

import type { DestinationConfig } from '../../config/config-types.ts';
import type { InlineKind } from '../kind.ts';

/** Events written to the daemon log. */
export interface LogDestination extends DestinationConfig {
  type: 'log';
}

/** The log destination kind. */
export const logKind: InlineKind<LogDestination> = {
  type: 'log',
  delivery: 'inline',
  schema: { properties: {} },
  normalize: (_raw, base) => ({ ...base, type: 'log' }),
  describeTarget: () => 'daemon log',
  secrets: () => [],
  redactConfig: (d) => ({ ...d }),
  warnings: () => [],
  async open(d, ctx) {
    return {
      async write(events) {
        for (const event of events) ctx.log.info('event', { destination: d.name, eventId: event.id, event });
      },
      async close() {},
    };
  },
  async check(d) {
    return { destination: d.name, type: 'log', target: 'daemon log', ok: true, steps: [], diagnosis: ['OK: events go to the daemon log (journalctl -u bitbucket-relay)'] };
  },
};
