// The control socket's wire protocol: newline-delimited JSON, one request
// object per line, one response line per request, in order. Small on purpose:
// `socat - UNIX:/run/bitbucket-relay/relay.sock` plus `{"id":1,"op":"status"}`
// is a usable debugging client.

/** Bumped when a request or response shape changes incompatibly. */
export const CONTROL_PROTOCOL_VERSION = 1;

/** Every operation the daemon answers. */
export const CONTROL_OPS = [
  'hello',
  'status',
  'deliveries',
  'show',
  'dlq-list',
  'delivery-progress',
  'redeliver',
  'dlq-retry',
  'dlq-drop',
  'pause',
  'resume',
  'backfill-enqueue',
] as const;

/** One operation name. */
export type ControlOp = (typeof CONTROL_OPS)[number];

/** Operations that change the store (only the daemon, or a CLI holding the store lock, may run them). */
export const MUTATING_OPS: ReadonlySet<ControlOp> = new Set<ControlOp>(['redeliver', 'dlq-retry', 'dlq-drop', 'pause', 'resume', 'backfill-enqueue']);

/** A request line. */
export interface ControlRequest {
  /** Echoed in the response. */
  id: number;
  op: string;
  args?: unknown;
  /** Epoch ms after which the daemon must not act on it (the CLI has given up and said so). */
  deadline?: number;
}

/** Why a request failed, for callers that branch on it. */
export type ControlErrorCode = 'unknown-op' | 'bad-request' | 'not-found' | 'refused' | 'internal';

/** A response line. */
export type ControlResponse =
  | { id: number; ok: true; result: unknown }
  | { id: number; ok: false; code: ControlErrorCode; error: string };

/** A request the daemon (or the local fallback) refused; `message` is for the operator. */
export class ControlError extends Error {
  override name = 'ControlError';
  readonly code: ControlErrorCode;
  constructor(code: ControlErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}

/** Longest request or response line accepted (backfill batches carry whole events). */
export const MAX_LINE_BYTES = 64 * 1024 * 1024;

/** True when `op` is a known operation. */
export function isControlOp(op: string): op is ControlOp {
  return (CONTROL_OPS as readonly string[]).includes(op);
}

/**
 * Splits a byte stream into lines. Feed chunks; complete lines come back.
 * Throws when a line grows past `maxBytes` (a confused or hostile peer).
 */
export class LineSplitter {
  private parts: Buffer[] = [];
  private size = 0;
  private readonly maxBytes: number;

  constructor(maxBytes: number = MAX_LINE_BYTES) {
    this.maxBytes = maxBytes;
  }

  /** The complete lines in `chunk` (plus what was buffered before it). */
  push(chunk: Buffer): string[] {
    const lines: string[] = [];
    let start = 0;
    for (let nl = chunk.indexOf(10); nl !== -1; nl = chunk.indexOf(10, start)) {
      this.parts.push(chunk.subarray(start, nl));
      lines.push(Buffer.concat(this.parts).toString('utf8'));
      this.parts = [];
      this.size = 0;
      start = nl + 1;
    }
    if (start < chunk.length) {
      this.parts.push(chunk.subarray(start));
      this.size += chunk.length - start;
      if (this.size > this.maxBytes) throw new Error(`control socket line longer than ${this.maxBytes} bytes`);
    }
    return lines;
  }
}
