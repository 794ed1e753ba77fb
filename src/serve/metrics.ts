// The few Prometheus metric kinds the service exports, in the text exposition format (0.0.4).

const escapeLabel = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
const labelText = (labels: Record<string, string>) => {
  const keys = Object.keys(labels);
  return keys.length === 0 ? '' : `{${keys.map((k) => `${k}="${escapeLabel(labels[k]!)}"`).join(',')}}`;
};

export class Counter {
  private values = new Map<string, number>();
  constructor(
    readonly name: string,
    readonly help: string,
  ) {}
  inc(labels: Record<string, string> = {}, by = 1): void {
    const key = labelText(labels);
    this.values.set(key, (this.values.get(key) ?? 0) + by);
  }
  get(labels: Record<string, string> = {}): number {
    return this.values.get(labelText(labels)) ?? 0;
  }
  text(): string {
    const rows = [...this.values].map(([l, v]) => `${this.name}${l} ${v}`);
    // A counter never incremented is still shown (at 0 when it has no labels), so dashboards find it.
    if (rows.length === 0) rows.push(`${this.name} 0`);
    return `# HELP ${this.name} ${this.help}\n# TYPE ${this.name} counter\n${rows.join('\n')}\n`;
  }
}

export class Gauge {
  constructor(
    readonly name: string,
    readonly help: string,
    private readonly read: () => number,
  ) {}
  text(): string {
    return `# HELP ${this.name} ${this.help}\n# TYPE ${this.name} gauge\n${this.name} ${this.read()}\n`;
  }
}

export class Histogram {
  private counts: number[];
  private sum = 0;
  private count = 0;
  constructor(
    readonly name: string,
    readonly help: string,
    readonly buckets: readonly number[],
  ) {
    this.counts = buckets.map(() => 0);
  }
  observe(v: number): void {
    this.buckets.forEach((b, i) => {
      if (v <= b) this.counts[i]!++;
    });
    this.sum += v;
    this.count++;
  }
  text(): string {
    const rows = this.buckets.map((b, i) => `${this.name}_bucket{le="${b}"} ${this.counts[i]}`);
    rows.push(`${this.name}_bucket{le="+Inf"} ${this.count}`, `${this.name}_sum ${Number(this.sum.toFixed(6))}`, `${this.name}_count ${this.count}`);
    return `# HELP ${this.name} ${this.help}\n# TYPE ${this.name} histogram\n${rows.join('\n')}\n`;
  }
}
