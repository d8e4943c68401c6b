// The queue the delivery benchmarks (drain, broker) send: a store filled with
// deliveries to destination "bench", and the process that drains it,
// measured the same way for every destination kind.

import type { DestinationConfig } from '../../src/config/config-types.ts';
import { startDispatcher } from '../../src/deliver/dispatcher.ts';
import { enqueue } from '../../src/store/enqueue.ts';
import { openStore } from '../../src/store/store.ts';
import { makeEvent } from '../deliver/fixtures.ts';

/** What delivery i sends. */
export interface BenchRequest {
  headers: Record<string, string>;
  body: Buffer;
  signatureHeader: string | null;
}

/** Fills the store at `path` with n deliveries to "bench", delivery i in lane (repository) r<i % repos>. */
export function fillBenchQueue(path: string, n: number, repos: number, requestFor: (i: number) => BenchRequest): void {
  const store = openStore(path);
  const BATCH = 1000;
  for (let start = 0; start < n; start += BATCH) {
    const batch = [];
    for (let i = start; i < Math.min(n, start + BATCH); i++) {
      batch.push({ event: makeEvent(`ev-${i}`, { slug: `r${i % repos}` }), deliveries: [{ destination: 'bench', requests: [{ ...requestFor(i), label: 'push' }] }] });
    }
    enqueue(store, batch);
  }
  store.close();
}

/** What one drain cost. */
export interface DrainFigures {
  seconds: number;
  peakRssMb: number;
  cpuUsPerDelivery: number;
  delivered: number;
}

/**
 * Sends the whole queue at `path` (n deliveries) to `dest` with the
 * daemon's dispatcher in this process: wall time, peak RSS (sampled every
 * 20 ms and the kernel's high-water mark), CPU per delivery. `beforeClose`
 * runs once everything is delivered (e.g. a heap trace).
 */
export async function measuredDrain(path: string, dest: DestinationConfig, n: number, beforeClose?: () => void): Promise<DrainFigures> {
  const store = openStore(path);
  let peak = process.memoryUsage.rss();
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 20);
  const cpu0 = process.cpuUsage();
  const started = performance.now();
  const dispatcher = startDispatcher({ store, destinations: [dest] });
  const delivered = (): number => (store.statement(`SELECT count(*) AS n FROM deliveries WHERE state = 'delivered'`).get() as { n: number }).n;
  // Poll the store rarely (a count is not free); finish on the exact figure.
  while (delivered() < n) await new Promise((r) => setTimeout(r, 250));
  await dispatcher.stop();
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpu0);
  clearInterval(sampler);
  peak = Math.max(peak, process.resourceUsage().maxRSS * 1024);
  const figures = { seconds, peakRssMb: Math.round(peak / 1e5) / 10, cpuUsPerDelivery: Math.round((cpu.user + cpu.system) / n), delivered: delivered() };
  beforeClose?.();
  store.close();
  return figures;
}
