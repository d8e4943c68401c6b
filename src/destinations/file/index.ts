// `type: file`: a JSON Lines archive of events, appended and fsync'd before
// the daemon lets the spool record go (inline: no queue, no sender).

import { access, constants as fsConstants, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { DestinationConfig } from '../../config/config-types.ts';
import type { InlineKind } from '../kind.ts';
import { openFileSink } from './file-sink.ts';

/** JSON Lines archive of events. */
export interface FileDestination extends DestinationConfig {
  type: 'file';
  /** Absolute path of the archive. */
  path: string;
}

/** The file destination kind. */
export const fileKind: InlineKind<FileDestination> = {
  type: 'file',
  delivery: 'inline',
  schema: { required: ['path'], properties: { path: { type: 'string' } } },
  normalize: (raw, base, ctx) => ({ ...base, type: 'file', path: ctx.resolvePath(raw.path) }),
  describeTarget: (d) => d.path,
  secrets: () => [],
  redactConfig: (d) => ({ ...d }),
  warnings: () => [],
  async open(d) {
    const sink = await openFileSink(d.path);
    return { write: (events) => sink.append(events), close: () => sink.close() };
  },
  async check(d) {
    // Can the service write there? Creates the directory like the daemon would; writes nothing to the file.
    const t0 = performance.now();
    const ms = (): number => Math.round(performance.now() - t0);
    const base = { destination: d.name, type: 'file', target: d.path };
    try {
      await mkdir(dirname(d.path), { recursive: true, mode: 0o750 });
      await access(dirname(d.path), fsConstants.W_OK);
      return { ...base, ok: true, steps: [{ step: 'write', result: 'ok', ms: ms(), detail: `${dirname(d.path)} is writable` }], diagnosis: [`OK: events will be appended to ${d.path}`] };
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
      return {
        ...base,
        ok: false,
        steps: [{ step: 'write', result: 'failed', ms: ms(), detail: `${dirname(d.path)}: ${code}` }],
        diagnosis: [`cannot write to ${dirname(d.path)} (${code}): create it, or give the service user write access`],
      };
    }
  },
};
