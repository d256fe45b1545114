export {
  type AuthSettings,
  authenticate,
  authSettingsFrom,
  DEFAULT_AUDIENCE,
  type DevTokenOptions,
  GRANTS,
  type Grant,
  JwksKeys,
  type Principal,
  REQUIRED_CLAIMS,
  registerAuth,
  requireGrant,
  signToken,
} from './auth.js';
export { ApiError, badRequest, conflict, forbidden, notFound, unauthorized, unavailable } from './errors.js';
export { FairQueue, type FairQueueSettings } from './fair-queue.js';
export {
  Counter,
  createMetrics,
  Gauge,
  Histogram,
  Registry,
  registerConfigViewMetrics,
  registerMetrics,
} from './metrics.js';
export { combine, type ProbeResult, type Probes, registerProbes, shared } from './probes.js';
export { type RateLimitSettings, rateLimit, registerRateLimit } from './rate-limit.js';
export { everyIntervalFromRandomStart } from './schedule.js';
export { createHttpServer, type HttpServer, type HttpServerSettings, pathPattern } from './server.js';
export { exitOnSignalsAndCrashes, installShutdown, type ShutdownStep } from './shutdown.js';
export { type ClientTraceContext, TRACERESPONSE_HEADER } from './tracing.js';
