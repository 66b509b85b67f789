/**
 * `/metrics` of a gateway with `workers`: the primary asks every worker for its counters
 * over IPC (prom-client's worker side answers) and sums them. Two things prom-client's own
 * `clusterMetrics()` gets wrong for a gateway whose workers can die and be replaced:
 *
 *   - a dead worker's counts vanished, so Prometheus saw a counter reset (and rate() a dip):
 *     here its last counters and histograms are kept and added to every later scrape
 *     (gauges, such as open WebSockets, go with the worker);
 *   - a scrape during a worker's death waited 5 s for an answer that never came and failed
 *     with 503: here each worker has one second, and one that does not answer in time
 *     counts with its last answer.
 */
import cluster, { type Worker } from 'node:cluster';
import { AggregatorRegistry, type MetricObjectWithValues, type MetricValue } from 'prom-client';

type MetricsJson = Array<MetricObjectWithValues<MetricValue<string>>>;

// prom-client's worker side answers these (main.ts sets it up in each worker).
const GET_METRICS_REQ = 'prom-client:getMetricsReq';
const GET_METRICS_RES = 'prom-client:getMetricsRes';

interface MetricsAnswer {
  readonly type: typeof GET_METRICS_RES;
  readonly requestId: number;
  readonly metrics?: MetricsJson[];
  readonly error?: string;
}

function isMetricsAnswer(message: unknown): message is MetricsAnswer {
  return typeof message === 'object' && message !== null && (message as { type?: unknown }).type === GET_METRICS_RES;
}

/** What outlives a worker: the metrics that only ever go up. */
function cumulativeOnly(metrics: MetricsJson): MetricsJson {
  return metrics.filter((metric) => ['counter', 'histogram'].includes(String(metric.type)));
}

export interface ClusterMetrics {
  readonly contentType: string;
  /** The Prometheus text of every worker, live and dead, summed. */
  text(): Promise<string>;
}

export function createClusterMetrics(options: { readonly answerTimeoutMs?: number } = {}): ClusterMetrics {
  const answerTimeoutMs = options.answerTimeoutMs ?? 1_000;
  const latest = new Map<number, MetricsJson>();
  // The summed counters of every worker that died, kept as one snapshot.
  let retired: MetricsJson = [];
  let requestCounter = 0;
  const waiting = new Map<number, (metrics: MetricsJson | undefined) => void>();

  cluster.on('message', (_worker: Worker, message: unknown) => {
    if (!isMetricsAnswer(message)) return;
    const resolve = waiting.get(message.requestId);
    if (!resolve) return; // answered after its time was up
    waiting.delete(message.requestId);
    resolve(message.error === undefined ? message.metrics?.flat() : undefined);
  });

  cluster.on('exit', (worker: Worker) => {
    const last = latest.get(worker.id);
    if (!last) return;
    void AggregatorRegistry.aggregate([retired, cumulativeOnly(last)])
      .getMetricsAsJSON()
      .then((summed) => {
        // In one step, so no scrape sees the dead worker's counts twice or not at all.
        retired = summed as MetricsJson;
        latest.delete(worker.id);
      });
  });

  function ask(worker: Worker): Promise<void> {
    const requestId = (requestCounter += 1);
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        waiting.delete(requestId);
        resolve();
      }, answerTimeoutMs);
      waiting.set(requestId, (metrics) => {
        clearTimeout(timer);
        if (metrics) latest.set(worker.id, metrics);
        resolve();
      });
      try {
        worker.send({ type: GET_METRICS_REQ, requestId });
      } catch {
        // The worker is going away between isConnected() and send(): its last answer counts.
        clearTimeout(timer);
        waiting.delete(requestId);
        resolve();
      }
    });
  }

  return {
    contentType: AggregatorRegistry.PROMETHEUS_CONTENT_TYPE,
    async text() {
      const workers = Object.values(cluster.workers ?? {}).filter((worker): worker is Worker => worker !== undefined && worker.isConnected());
      await Promise.all(workers.map(ask));
      // Every worker's last answer, a dying one's included until its counts are retired.
      return AggregatorRegistry.aggregate([retired, ...latest.values()]).metrics();
    },
  };
}
