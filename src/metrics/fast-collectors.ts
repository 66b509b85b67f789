/**
 * Per-request metrics without per-request hashing. prom-client's labelled metrics hash the
 * label set on every `inc()`/`observe()`, which on the proxy's hot path costs more than a
 * whole header rewrite. These collectors count into plain arrays and render in prom-client's
 * format when `/metrics` is scraped; they register in the same prom-client Registry.
 */
import type { Metric, Registry } from 'prom-client';

/** One line of a metric, in the shape prom-client's registry renders. */
interface MetricSample {
  readonly labels: Readonly<Record<string, string | number>>;
  readonly value: number;
  readonly metricName?: string;
}

interface MetricSnapshot {
  readonly name: string;
  readonly help: string;
  readonly type: 'counter' | 'histogram';
  readonly aggregator: 'sum';
  readonly values: MetricSample[];
}

interface RegistrableMetric extends Omit<MetricSnapshot, 'values'> {
  get(): Promise<MetricSnapshot>;
  reset(): void;
}

function register(registry: Registry, metric: RegistrableMetric): void {
  // The registry only calls name, type, get() and reset(): the shape above.
  registry.registerMetric(metric as unknown as Metric);
}

const STATUS_CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx'] as const;

/** `<name>{route, status_class}` counters. */
export class RequestCounter {
  private readonly counts = new Map<string, Float64Array>();

  constructor(registry: Registry, name: string, help: string) {
    register(registry, {
      name,
      help,
      type: 'counter',
      aggregator: 'sum',
      get: async () => ({
        name,
        help,
        type: 'counter',
        aggregator: 'sum',
        values: [...this.counts].flatMap(([route, counts]) =>
          STATUS_CLASSES.map((statusClass, index) => ({ labels: { route, status_class: statusClass }, value: counts[index]! })),
        ),
      }),
      reset: () => this.counts.clear(),
    });
  }

  inc(route: string, status: number): void {
    let counts = this.counts.get(route);
    if (!counts) this.counts.set(route, (counts = new Float64Array(STATUS_CLASSES.length)));
    const index = status >= 500 ? 4 : status >= 400 ? 3 : status >= 300 ? 2 : status >= 200 ? 1 : 0;
    counts[index]! += 1;
  }
}

interface HistogramSeries {
  readonly buckets: Float64Array;
  sum: number;
  count: number;
}

/** `<name>{route}` histogram with fixed buckets (seconds). */
export class RouteHistogram {
  private readonly series = new Map<string, HistogramSeries>();

  constructor(
    registry: Registry,
    name: string,
    help: string,
    private readonly upperBounds: readonly number[],
  ) {
    register(registry, {
      name,
      help,
      type: 'histogram',
      aggregator: 'sum',
      get: async () => ({
        name,
        help,
        type: 'histogram',
        aggregator: 'sum',
        values: [...this.series].flatMap(([route, series]) => {
          const values: MetricSample[] = [];
          let cumulative = 0;
          this.upperBounds.forEach((bound, index) => {
            cumulative += series.buckets[index]!;
            values.push({ labels: { le: bound, route }, value: cumulative, metricName: `${name}_bucket` });
          });
          values.push({ labels: { le: '+Inf', route }, value: series.count, metricName: `${name}_bucket` });
          values.push({ labels: { route }, value: series.sum, metricName: `${name}_sum` });
          values.push({ labels: { route }, value: series.count, metricName: `${name}_count` });
          return values;
        }),
      }),
      reset: () => this.series.clear(),
    });
  }

  observe(route: string, value: number): void {
    let series = this.series.get(route);
    if (!series) this.series.set(route, (series = { buckets: new Float64Array(this.upperBounds.length), sum: 0, count: 0 }));
    const bounds = this.upperBounds;
    for (let index = 0; index < bounds.length; index += 1) {
      if (value <= bounds[index]!) {
        series.buckets[index]! += 1;
        break;
      }
    }
    series.sum += value;
    series.count += 1;
  }
}
