// Memory of another process, from /proc/<pid>/status (Linux).
import { readFileSync } from 'node:fs';

/** Resident set size now (VmRSS) and its high-water mark (VmHWM), in bytes. */
export function procMemory(pid: number): { rss: number; hwm: number } {
  const text = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string): number => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? NaN) * 1024;
  return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
}
