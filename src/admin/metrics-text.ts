// Prometheus text exposition format 0.0.4, written by hand: a few metric
// families do not justify a client library.

/** Labels of one sample. */
export type Labels = Record<string, string>;

/** One histogram series: cumulative counts per upper bound (seconds), plus sum and count. */
export interface HistogramSeries {
  labels: Labels;
  /** counts[i] = observations ≤ bounds[i] (cumulative). */
  counts: number[];
  sum: number;
  count: number;
}

/** Escape a label value (backslash, double quote, newline). */
export function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function labelText(labels: Labels | undefined, extra?: [string, string]): string {
  const pairs = Object.entries(labels ?? {});
  if (extra) pairs.push(extra);
  return pairs.length ? `{${pairs.map(([k, v]) => `${k}="${escapeLabelValue(v)}"`).join(',')}}` : '';
}

function num(v: number): string {
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  if (Number.isNaN(v)) return 'NaN';
  return String(v);
}

/** Collects metric families and renders them. */
export class MetricsText {
  private readonly lines: string[] = [];

  private family(name: string, type: string, help: string): void {
    this.lines.push(`# HELP ${name} ${help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}`, `# TYPE ${name} ${type}`);
  }

  /** A counter family (name should end in _total). */
  counter(name: string, help: string, samples: { labels?: Labels; value: number }[]): this {
    this.family(name, 'counter', help);
    for (const s of samples) this.lines.push(`${name}${labelText(s.labels)} ${num(s.value)}`);
    return this;
  }

  /** A gauge family. */
  gauge(name: string, help: string, samples: { labels?: Labels; value: number }[]): this {
    this.family(name, 'gauge', help);
    for (const s of samples) this.lines.push(`${name}${labelText(s.labels)} ${num(s.value)}`);
    return this;
  }

  /** A histogram family with shared bucket bounds. */
  histogram(name: string, help: string, bounds: readonly number[], series: HistogramSeries[]): this {
    this.family(name, 'histogram', help);
    for (const s of series) {
      bounds.forEach((b, i) => this.lines.push(`${name}_bucket${labelText(s.labels, ['le', num(b)])} ${s.counts[i]}`));
      this.lines.push(`${name}_bucket${labelText(s.labels, ['le', '+Inf'])} ${s.count}`);
      this.lines.push(`${name}_sum${labelText(s.labels)} ${num(s.sum)}`);
      this.lines.push(`${name}_count${labelText(s.labels)} ${s.count}`);
    }
    return this;
  }

  /** The exposition text (ends with a newline). */
  toString(): string {
    return this.lines.join('\n') + '\n';
  }
}
