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

/** `GET /healthz` and `GET /readyz`: 200 when ok, 503 otherwise, with the named checks in the body. */
export function registerProbes(app: HttpServer, probes: Probes): void {
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
