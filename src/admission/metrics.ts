// Prometheus text exposition for the webhook: labelled counters and one latency histogram, hand-written (a few
// dozen lines; a metrics library would be the webhook's largest dependency).

const BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

type Labels = Record<string, string>;

const key = (labels: Labels) =>
  Object.entries(labels)
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([k, v]) => `${k}="${v.replace(/["\\\n]/g, (c) => (c === '\n' ? '\\n' : `\\${c}`))}"`)
    .join(',');

interface Histogram {
  counts: number[];
  sum: number;
  count: number;
}

/** Counters and histograms by name and label set. */
export class Metrics {
  private readonly counters = new Map<string, Map<string, number>>();
  private readonly histograms = new Map<string, Map<string, Histogram>>();

  inc(name: string, labels: Labels, by = 1): void {
    const m = this.counters.get(name) ?? new Map<string, number>();
    this.counters.set(name, m);
    const k = key(labels);
    m.set(k, (m.get(k) ?? 0) + by);
  }

  observe(name: string, labels: Labels, value: number): void {
    const m = this.histograms.get(name) ?? new Map<string, Histogram>();
    this.histograms.set(name, m);
    const k = key(labels);
    const h = m.get(k) ?? { counts: BUCKETS.map(() => 0), sum: 0, count: 0 };
    m.set(k, h);
    BUCKETS.forEach((b, i) => {
      if (value <= b) h.counts[i]!++;
    });
    h.sum += value;
    h.count++;
  }

  /** The exposition text, with `gauges` (name → value) appended. */
  render(gauges: Record<string, number> = {}): string {
    const out: string[] = [];
    for (const [name, m] of this.counters) {
      out.push(`# TYPE ${name} counter`);
      for (const [k, v] of m) out.push(`${name}${k ? `{${k}}` : ''} ${v}`);
    }
    for (const [name, m] of this.histograms) {
      out.push(`# TYPE ${name} histogram`);
      for (const [k, h] of m) {
        const sep = k ? `${k},` : '';
        for (const [i, b] of BUCKETS.entries()) out.push(`${name}_bucket{${sep}le="${b}"} ${h.counts[i]}`);
        out.push(`${name}_bucket{${sep}le="+Inf"} ${h.count}`);
        out.push(`${name}_sum${k ? `{${k}}` : ''} ${h.sum}`);
        out.push(`${name}_count${k ? `{${k}}` : ''} ${h.count}`);
      }
    }
    for (const [name, v] of Object.entries(gauges)) out.push(`# TYPE ${name} gauge`, `${name} ${v}`);
    return `${out.join('\n')}\n`;
  }
}
