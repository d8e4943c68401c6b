// Aligned text tables and the small text helpers commands share (times,
// ages, truncation), so every command's output reads the same.
// Kept rather than a table package (issue 14): renderTable is a dozen lines
// of borderless, ANSI-aware columns; cli-table3 draws boxes and text-table is
// unmaintained and counts escape codes as width unless told otherwise.

import { formatDuration } from '../config/units.ts';
import { visibleLength } from './style.ts';

/** A column: its header and whether numbers line up on the right. */
export interface Column {
  header: string;
  align?: 'left' | 'right';
}

/** Render rows under headers, columns separated by two spaces; trailing spaces trimmed. */
export function renderTable(columns: readonly Column[], rows: readonly string[][]): string {
  const widths = columns.map((c, i) => Math.max(visibleLength(c.header), ...rows.map((r) => visibleLength(r[i] ?? ''))));
  const pad = (text: string, i: number): string => {
    const room = widths[i] - visibleLength(text);
    return columns[i].align === 'right' ? ' '.repeat(room) + text : text + ' '.repeat(room);
  };
  const line = (cells: readonly string[]): string => cells.map((c, i) => pad(c ?? '', i)).join('  ').trimEnd();
  return [line(columns.map((c) => c.header)), ...rows.map(line)].join('\n');
}

/** "2024-05-01 12:00:03" in local time (set TZ to change), or "-". */
export function formatTimestamp(time: number | string | null | undefined): string {
  if (time === null || time === undefined) return '-';
  const d = new Date(time);
  if (Number.isNaN(d.getTime())) return '-';
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** "4m 10s ago" / "in 12s", or "-". */
export function formatAge(time: number | string | null | undefined, now: number): string {
  if (time === null || time === undefined) return '-';
  const t = typeof time === 'number' ? time : Date.parse(time);
  if (Number.isNaN(t)) return '-';
  return t <= now ? `${formatDuration(now - t)} ago` : `in ${formatDuration(t - now)}`;
}

/** Cut `s` to `max` characters with an ellipsis; newlines become spaces. */
export function truncate(s: string, max: number): string {
  const flat = s.replace(/\s*\n\s*/g, ' ');
  return flat.length <= max ? flat : flat.slice(0, Math.max(0, max - 1)) + '…';
}

/** "1 dead letter" / "3 dead letters". */
export function plural(n: number, word: string, many: string = word + 's'): string {
  return `${n} ${n === 1 ? word : many}`;
}
