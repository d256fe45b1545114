import { randomUUID } from 'node:crypto';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Logger } from '@hub/observability';
import Fastify, { type FastifyBaseLogger, type FastifyError } from 'fastify';
import { ApiError } from './errors.js';
import { type ClientTraceContext, registerTracing, TracingLogController } from './tracing.js';

export interface HttpServerSettings {
  logger: Logger;
  /** Largest accepted request body in bytes. */
  bodyLimit?: number;
  /**
   * Recognises errors that mean a dependency is unreachable (e.g. `isUnavailableError` of libs/mongo):
   * they answer 503 with Retry-After, so clients retry, instead of 500.
   */
  isUnavailable?: (error: unknown) => boolean;
  /**
   * Parse JSON bodies, an empty one as no body (default true). The edge turns it off: it passes bodies
   * through to the services unparsed.
   */
  parseJson?: boolean;
  /**
   * Methods a path answers beyond this server's own routes (the edge: the public API's, from the OpenAPI
   * document), for the 405 of an undeclared method.
   */
  allowedMethods?: (path: string) => readonly string[];
  /**
   * What a request's `traceparent` is to its server span: `parent` (default; internal callers, the edge
   * for the services) or `link` (the public edge: a new trace linked to the caller's, `traceresponse`
   * answered).
   */
  clientTrace?: ClientTraceContext;
}

/**
 * A Fastify instance with the project's conventions: pino logger, request id taken from
 * `x-correlation-id`/`x-request-id` when sent, TypeBox type provider, one error handler that maps
 * errors to `{ code, message }` (5xx bodies hide internals and carry the request id), and a server span
 * per request (continuing an incoming `traceparent`, or linked to it: `clientTrace`) active while the
 * request is handled.
 */
export function createHttpServer(settings: HttpServerSettings) {
  const logController = new TracingLogController();
  const app = Fastify({
    loggerInstance: settings.logger as FastifyBaseLogger,
    bodyLimit: settings.bodyLimit ?? 10 * 1024 * 1024,
    genReqId: (req) => {
      const header = req.headers['x-correlation-id'] ?? req.headers['x-request-id'];
      const value = Array.isArray(header) ? header[0] : header;
      return value && value.length <= 200 ? value : randomUUID();
    },
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, allErrors: true } },
    return503OnClosing: true,
    // "incoming request" is logged by the tracing hook, inside the request's span (trace ids on the line).
    logController,
  }).withTypeProvider<TypeBoxTypeProvider>();

  registerTracing(app, logController, settings.clientTrace);

  // An existing path with an undeclared method is 405 with `Allow`, not 404; checked before any body is
  // read (Fastify would otherwise ask a QUERY or TRACE request for its Content-Type first).
  const known: Array<{ pattern: RegExp; methods: string[] }> = [];
  app.addHook('onRoute', (route) => {
    if (route.url.includes('*')) return; // a proxy's catch-all says nothing about a path
    const methods = (Array.isArray(route.method) ? route.method : [route.method]).map(String);
    known.push({ pattern: pathPattern(route.url), methods });
  });
  app.addHook('onRequest', async (request, reply) => {
    if (!request.is404) return;
    const path = request.url.split('?')[0] ?? request.url;
    const allowed = new Set(settings.allowedMethods?.(path) ?? []);
    for (const k of known) if (k.pattern.test(path)) for (const m of k.methods) allowed.add(m);
    allowed.delete(request.method);
    if (allowed.size === 0) return;
    const list = [...allowed].sort().join(', ');
    reply.header('allow', list);
    throw new ApiError(
      405,
      'METHOD_NOT_ALLOWED',
      `${request.method} is not allowed on ${path}; allowed: ${list}`,
    );
  });

  // An empty body is no body, whatever its Content-Type says: the guide's curl style sends
  // `Content-Type: application/json` on every request, DELETE included. Anything else is parsed by
  // Fastify's own parser with JSON.parse's semantics: a key `__proto__` or `constructor` is an ordinary own
  // property (JSON.parse defines it, it never sets a prototype), kept like any other key the schema allows
  // (free-form payloads and settings may carry it; refusing it was a fuzzer finding, ST202). Code that
  // copies client keys must define properties (spread, Object.fromEntries), never assign them.
  if (settings.parseJson !== false) {
    const parseJson = app.getDefaultJsonParser('ignore', 'ignore');
    app.removeContentTypeParser('application/json');
    app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
      const text = typeof body === 'string' ? body : body.toString('utf8');
      if (text.trim() === '') return done(null, undefined);
      return parseJson(request, text, done);
    });
  }

  app.addHook('onSend', async (request, reply) => {
    reply.header('x-request-id', request.id);
    // Answered before the body was read (401, 403, 429, 415...): the connection cannot carry another
    // request, so say so; a keep-alive client (the edge) would otherwise reuse it and get a reset.
    if (!request.raw.complete) reply.header('connection', 'close');
  });

  app.setErrorHandler((error: FastifyError | ApiError, request, reply) => {
    if (error instanceof ApiError) {
      if (error.statusCode >= 500) request.log.error({ err: error }, error.message);
      for (const [k, v] of Object.entries(error.headers)) reply.header(k, v);
      return reply.code(error.statusCode).send({ code: error.code, message: error.message });
    }
    const fe = error as FastifyError;
    if (fe.validation) {
      const where = fe.validationContext ?? 'request';
      const details = fe.validation
        .slice(0, 20)
        .map((v) => {
          const path = `${where}${v.instancePath ? v.instancePath.replace(/\/(\d+)/g, '[$1]').replaceAll('/', '.') : ''}`;
          const extra =
            v.keyword === 'required'
              ? `.${(v.params as { missingProperty?: string }).missingProperty}`
              : v.keyword === 'additionalProperties'
                ? `.${(v.params as { additionalProperty?: string }).additionalProperty}`
                : '';
          return `${path}${extra}: ${v.message ?? 'is invalid'}`;
        })
        .join('; ');
      return reply.code(400).send({ code: 'BAD_REQUEST', message: details });
    }
    const status = fe.statusCode ?? 500;
    if (status < 500) {
      // Never a framework code (FST_ERR_*) to a client: our codes, a message saying what is wrong.
      const code =
        fe.code && !fe.code.startsWith('FST_') ? fe.code : (CLIENT_ERROR_CODES[status] ?? 'BAD_REQUEST');
      const message =
        status === 413
          ? `request body exceeds the limit of ${settings.bodyLimit ?? 10 * 1024 * 1024} bytes`
          : fe.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE'
            ? `unsupported Content-Type ${JSON.stringify(request.headers['content-type'] ?? '')}: send application/json`
            : fe.code === 'FST_ERR_CTP_INVALID_JSON_BODY'
              ? 'request body is not valid JSON; Content-Type says application/json'
              : fe.message;
      return reply.code(status).send({ code, message });
    }
    if (settings.isUnavailable?.(error)) {
      request.log.warn({ err: error }, 'dependency unavailable');
      return reply
        .code(503)
        .header('retry-after', '5')
        .send({
          code: 'SERVICE_UNAVAILABLE',
          message: `a dependency of this service is unavailable; retry the request (request id ${request.id})`,
        });
    }
    request.log.error({ err: error }, 'unhandled error');
    return reply.code(500).send({
      code: 'INTERNAL_ERROR',
      message: `internal error; quote request id ${request.id} to find the log`,
    });
  });

  app.setNotFoundHandler((request, reply) => {
    reply
      .code(404)
      .send({ code: 'NOT_FOUND', message: `no route ${request.method} ${request.url.split('?')[0]}` });
  });

  return app;
}

export type HttpServer = ReturnType<typeof createHttpServer>;

/** A Fastify route (`/a/:id/b`) or an OpenAPI path template (`/a/{id}/b`) as a regular expression. */
export function pathPattern(template: string): RegExp {
  const escaped = template
    .split('/')
    .map((segment) =>
      segment.startsWith(':') || /^\{[^}]+\}$/.test(segment)
        ? '[^/]+'
        : segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'),
    )
    .join('/');
  return new RegExp(`^${escaped}/?$`);
}

const CLIENT_ERROR_CODES: Record<number, string> = {
  400: 'BAD_REQUEST',
  404: 'NOT_FOUND',
  405: 'METHOD_NOT_ALLOWED',
  406: 'NOT_ACCEPTABLE',
  408: 'REQUEST_TIMEOUT',
  413: 'PAYLOAD_TOO_LARGE',
  414: 'URI_TOO_LONG',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  431: 'HEADERS_TOO_LARGE',
};
