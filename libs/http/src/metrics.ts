import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { shared } from './probes.js';
import type { HttpServer } from './server.js';

export { Counter, Gauge, Histogram, Registry };

/** One registry per service process, with Node's default metrics and HTTP request metrics. */
export function createMetrics(service: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry });
  return registry;
}

/**
 * `GET /metrics` in Prometheus text format, plus request count and latency by route and status. With
 * `cacheMs`, callers within that time share one rendering (for a port reachable by anyone, like the edge's).
 */
export function registerMetrics(
  app: HttpServer,
  registry: Registry,
  options: { cacheMs?: number } = {},
): void {
  const render = options.cacheMs
    ? shared(() => registry.metrics(), options.cacheMs)
    : () => registry.metrics();
  const duration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request latency by route and status code',
    labelNames: ['method', 'route', 'status_code'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    if (route === '/metrics' || route === '/healthz' || route === '/readyz') return;
    duration.observe(
      { method: request.method, route, status_code: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
  });
  app.get('/metrics', { logLevel: 'warn' }, async (_request, reply) => {
    return reply.type(registry.contentType).send(await render());
  });
}

/**
 * `hub_config_view_bytes` and `hub_config_view_integrations`: the configuration snapshots a gateway or
 * mapper holds in memory (its mirror of `erp.config.changes`), read at each scrape (ADR 0015, decision 14).
 */
export function registerConfigViewMetrics(
  registry: Registry,
  view: { readonly bytes: number; readonly size: number },
): void {
  new Gauge({
    name: 'hub_config_view_bytes',
    help: 'Bytes of JSON of the configuration snapshots this instance holds (latest per integration)',
    registers: [registry],
    collect() {
      this.set(view.bytes);
    },
  });
  new Gauge({
    name: 'hub_config_view_integrations',
    help: 'Integrations whose configuration snapshot this instance holds',
    registers: [registry],
    collect() {
      this.set(view.size);
    },
  });
}
