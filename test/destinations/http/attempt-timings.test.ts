// got's timings as the attempts log keeps them (attemptTimings): a reused
// keep-alive connection has no connection phases, and an answer that came
// before got recorded the end of the upload has a first byte of 0, not none
// (got leaves phases.firstByte unset then; the receiver answered as soon as
// it had the body, which a busy machine makes likely).
import t from 'tap';
import type { Timings } from 'got';
import { attemptTimings } from '../../../src/destinations/http/transport.ts';

function timings(over: Partial<Timings> & { phases?: Partial<Timings['phases']> }): Timings {
  const start = 1000;
  return {
    start, socket: start + 1, lookup: start + 2, connect: start + 5, secureConnect: start + 9, upload: start + 10, response: start + 14, end: start + 15,
    error: undefined, abort: undefined,
    ...over,
    phases: { wait: 1, dns: 1, tcp: 3, tls: 4, request: 1, firstByte: 4, download: 1, total: 15, ...over.phases },
  } as Timings;
}

t.test('every phase of a new connection', async (t) => {
  t.same(attemptTimings(timings({}), false), { dnsMs: 1, tcpMs: 3, tlsMs: 4, firstByteMs: 4, totalMs: 15, reused: false });
});

t.test('a reused keep-alive connection: no DNS, TCP or TLS for this request', async (t) => {
  t.same(attemptTimings(timings({}), true), { dnsMs: null, tcpMs: null, tlsMs: null, firstByteMs: 4, totalMs: 15, reused: true });
});

t.test('an answer before the upload was recorded: first byte 0; no answer at all: none', async (t) => {
  const early = timings({ upload: undefined, phases: { firstByte: undefined } });
  t.equal(attemptTimings(early, true)!.firstByteMs, 0);
  const none = timings({ upload: undefined, response: undefined, end: undefined, phases: { firstByte: undefined, download: undefined, total: undefined } });
  t.equal(attemptTimings(none, false)!.firstByteMs, null);
  t.equal(attemptTimings(undefined, false), null, 'no timings at all (the request never started)');
});
