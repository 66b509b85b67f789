/**
 * Prometheus metrics, in a registry owned by one gateway (no global state, so tests can run
 * several gateways in one process).
 */
import { Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { RequestCounter, RouteHistogram } from './fast-collectors.js';

export interface GatewayMetrics {
  readonly registry: Registry;
  /** Counts a finished request. `route` is '' when no route matched. */
  countRequest(route: string, status: number): void;
  observeUpstreamLatency(route: string, seconds: number): void;
  websocketOpened(route: string): void;
  websocketClosed(route: string): void;
}

export function createGatewayMetrics(options: { collectProcessMetrics?: boolean } = {}): GatewayMetrics {
  const registry = new Registry();
  if (options.collectProcessMetrics ?? true) collectDefaultMetrics({ register: registry, prefix: 'gatehouse_' });
  const requests = new RequestCounter(registry, 'gatehouse_requests_total', 'Requests answered, by route and status class');
  const upstreamLatency = new RouteHistogram(
    registry,
    'gatehouse_upstream_duration_seconds',
    'Time from forwarding a request to the upstream response headers',
    [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
  );
  const websockets = new Gauge({
    name: 'gatehouse_websockets_active',
    help: 'WebSocket connections currently proxied',
    labelNames: ['route'] as const,
    registers: [registry],
  });

  return {
    registry,
    countRequest: (route, status) => requests.inc(route, status),
    observeUpstreamLatency: (route, seconds) => upstreamLatency.observe(route, seconds),
    websocketOpened(route) {
      websockets.labels(route).inc();
    },
    websocketClosed(route) {
      websockets.labels(route).dec();
    },
  };
}
