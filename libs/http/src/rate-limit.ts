import type { FastifyRequest } from 'fastify';
import { authenticate } from './auth.js';
import { ApiError } from './errors.js';
import type { HttpServer } from './server.js';

export interface RateLimitSettings {
  /** Requests allowed per organisation per window. */
  limit: number;
  windowMs: number;
  /** Counts one request for `key` in the current window, across every instance. */
  hit: (key: string, windowMs: number, limit: number) => Promise<{ count: number; resetAt: number }>;
}

/**
 * A hook (after authentication) limiting requests per organisation (decision 8): over the limit,
 * 429 with `Retry-After` and a message naming the limit. If the counter store fails, the request is let
 * through (availability over strictness) and the failure logged.
 */
export function rateLimit(settings: RateLimitSettings) {
  const perMinute = Math.round((settings.limit * 60_000) / settings.windowMs);
  return async (request: FastifyRequest): Promise<void> => {
    const key = `org:${request.principal.orgId}`;
    let outcome: { count: number; resetAt: number };
    try {
      outcome = await settings.hit(key, settings.windowMs, settings.limit);
    } catch (err) {
      request.log.warn({ err }, 'rate-limit counter unavailable; request allowed');
      return;
    }
    if (outcome.count > settings.limit) {
      const retryAfter = Math.max(1, Math.ceil((outcome.resetAt - Date.now()) / 1000));
      throw new ApiError(
        429,
        'RATE_LIMITED',
        `rate limit of ${perMinute} requests per minute per organisation exceeded; retry in ${retryAfter} s`,
        { 'retry-after': String(retryAfter) },
      );
    }
  };
}

const UNLIMITED = new Set(['/healthz', '/readyz', '/metrics']);

/**
 * Applies `rateLimit` to every route of the app except the probes and metrics: authenticates first
 * (the limit is per organisation), so a request without a valid token is 401 before it is counted.
 * Both run in `onRequest`, before the body is read: an anonymous or throttled client cannot make the
 * service parse and validate a 10 MB body.
 */
export function registerRateLimit(app: HttpServer, settings: RateLimitSettings): void {
  const limit = rateLimit(settings);
  app.addHook('onRequest', async (request) => {
    const route = request.routeOptions.url;
    if (!route || UNLIMITED.has(route)) return;
    await authenticate(request);
    await limit(request);
  });
}
