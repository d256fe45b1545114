import { Gauge, type Registry } from 'prom-client';
import type { HttpServer } from './server.js';

export interface ProbeResult {
  ok: boolean;
  /** Named sub-checks, shown in the body so an operator sees what is not ready. */
  checks: Record<string, boolean>;
}

export interface Probes {
  /** Liveness: the process makes progress (e.g. the consume loop moved recently). */
  live: () => ProbeResult | Promise<ProbeResult>;
  /** Readiness: started, dependencies reachable, not shutting down. */
  ready: () => ProbeResult | Promise<ProbeResult>;
}

/**
 * `GET /healthz` and `GET /readyz`: 200 when ok, 503 otherwise, with the named checks in the body. With a
 * registry, readiness is also a metric evaluated at each scrape: `hub_ready` (1/0) and
 * `hub_readiness_check{check}` (1/0 per named check, e.g. `mongo`), what the alert rules watch
 * (deploy/prometheus/alerts.yml).
 */
export function registerProbes(app: HttpServer, probes: Probes, registry?: Registry): void {
  if (registry) {
    // One evaluation per scrape, shared by both gauges (each collects before it is rendered).
    const evaluate = shared(
      () =>
        Promise.resolve()
          .then(() => probes.ready())
          .catch((): ProbeResult => ({ ok: false, checks: { probe: false } })),
      500,
    );
    new Gauge({
      name: 'hub_ready',
      help: 'Whether this instance is ready (its /readyz answers 200) at scrape time',
      registers: [registry],
      async collect() {
        this.set((await evaluate()).ok ? 1 : 0);
      },
    });
    new Gauge({
      name: 'hub_readiness_check',
      help: 'Each named readiness check of this instance at scrape time (1 passing, 0 failing)',
      labelNames: ['check'] as const,
      registers: [registry],
      async collect() {
        const result = await evaluate();
        this.reset();
        for (const [name, ok] of Object.entries(result.checks)) this.set({ check: name }, ok ? 1 : 0);
      },
    });
  }
  const route = (path: string, probe: () => ProbeResult | Promise<ProbeResult>) =>
    app.get(path, { logLevel: 'warn' }, async (_request, reply) => {
      let result: ProbeResult;
      try {
        result = await probe();
      } catch {
        result = { ok: false, checks: { probe: false } };
      }
      return reply
        .code(result.ok ? 200 : 503)
        .send({ status: result.ok ? 'ok' : 'unavailable', ...result.checks });
    });
  route('/healthz', probes.live);
  route('/readyz', probes.ready);
}

/**
 * `fn` called at most once per `ttlMs`: callers in between (and concurrent ones) share its result. Keeps
 * an anonymous endpoint that fans out or renders (the edge's `/readyz`, `/metrics`) from amplifying load.
 */
export function shared<T>(fn: () => Promise<T>, ttlMs: number): () => Promise<T> {
  let last: { at: number; value: Promise<T> } | undefined;
  return () => {
    const now = Date.now();
    if (!last || now - last.at >= ttlMs) {
      const value = fn();
      last = { at: now, value };
      value.catch(() => {
        if (last?.value === value) last = undefined; // a failure is not kept
      });
    }
    return last.value;
  };
}

export function combine(checks: Record<string, boolean>): ProbeResult {
  return { ok: Object.values(checks).every(Boolean), checks };
}
