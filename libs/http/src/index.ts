export {
  type AuthSettings,
  authenticate,
  type DevTokenOptions,
  GRANTS,
  type Grant,
  type Principal,
  registerAuth,
  requireGrant,
  signToken,
} from './auth.js';
export { ApiError, badRequest, conflict, forbidden, notFound, unauthorized, unavailable } from './errors.js';
export { Counter, createMetrics, Gauge, Histogram, Registry, registerMetrics } from './metrics.js';
export { combine, type ProbeResult, type Probes, registerProbes } from './probes.js';
export { type RateLimitSettings, rateLimit, registerRateLimit } from './rate-limit.js';
export { createHttpServer, type HttpServer, type HttpServerSettings } from './server.js';
export { installShutdown, type ShutdownStep } from './shutdown.js';
