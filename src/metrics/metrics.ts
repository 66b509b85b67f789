/**
 * Prometheus metrics, in a registry owned by one gateway (no global state, so tests can run
 * several gateways in one process).
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface GatewayMetrics {
  readonly registry: Registry;
  /** Counts a finished request. `route` is '' when no route matched. */
  countRequest(route: string, status: number): void;
  observeUpstreamLatency(route: string, seconds: number): void;
  websocketOpened(route: string): void;
  websocketClosed(route: string): void;
}

const STATUS_CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx'] as const;

export function createGatewayMetrics(options: { collectProcessMetrics?: boolean } = {}): GatewayMetrics {
  const registry = new Registry();
  if (options.collectProcessMetrics ?? true) collectDefaultMetrics({ register: registry, prefix: 'gatehouse_' });
  const requests = new Counter({
    name: 'gatehouse_requests_total',
    help: 'Requests answered, by route and status class',
    labelNames: ['route', 'status_class'] as const,
    registers: [registry],
  });
  const upstreamLatency = new Histogram({
    name: 'gatehouse_upstream_duration_seconds',
    help: 'Time from forwarding a request to the upstream response headers',
    labelNames: ['route'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [registry],
  });
  const websockets = new Gauge({
    name: 'gatehouse_websockets_active',
    help: 'WebSocket connections currently proxied',
    labelNames: ['route'] as const,
    registers: [registry],
  });

  // Label lookups are cached per route: prom-client's labels() hashes on every call.
  const requestCounters = new Map<string, ReturnType<typeof requests.labels>[]>();
  const latencyHistograms = new Map<string, ReturnType<typeof upstreamLatency.labels>>();

  return {
    registry,
    countRequest(route, status) {
      let counters = requestCounters.get(route);
      if (!counters) {
        counters = STATUS_CLASSES.map((statusClass) => requests.labels(route, statusClass));
        requestCounters.set(route, counters);
      }
      const index = Math.min(Math.max(Math.floor(status / 100) - 1, 0), 4);
      counters[index]!.inc();
    },
    observeUpstreamLatency(route, seconds) {
      let histogram = latencyHistograms.get(route);
      if (!histogram) {
        histogram = upstreamLatency.labels(route);
        latencyHistograms.set(route, histogram);
      }
      histogram.observe(seconds);
    },
    websocketOpened(route) {
      websockets.labels(route).inc();
    },
    websocketClosed(route) {
      websockets.labels(route).dec();
    },
  };
}
