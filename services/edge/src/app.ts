import proxy from '@fastify/http-proxy';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { buildAsyncApi } from '@hub/contracts';
import {
  combine,
  createHttpServer,
  createMetrics,
  pathPattern,
  registerMetrics,
  registerProbes,
  shared,
} from '@hub/http';
import { type Logger, traceparentOf } from '@hub/observability';
import type { EdgeConfig } from './config.js';
import { DEFAULT_CONSOLE_DIR, registerConsole } from './console.js';
import { buildOpenApi } from './openapi.js';

/** Path routing in front of the services: one base URL for the whole public API, as the hosted API has. */
export function routes(config: EdgeConfig): Array<{ prefix: string; upstream: string }> {
  return [
    { prefix: '/v1/erp/updates/events', upstream: config.INGEST_GATEWAY_URL },
    { prefix: '/v2/erp/updates/events', upstream: config.INGEST_GATEWAY_URL },
    { prefix: '/v3/erp/updates/events', upstream: config.INGEST_GATEWAY_URL },
    { prefix: '/v1/entity', upstream: config.ENTITY_WRITER_URL },
    { prefix: '/v1', upstream: config.CONFIG_SERVICE_URL },
    { prefix: '/v2', upstream: config.CONFIG_SERVICE_URL },
  ];
}

export async function buildEdge(config: EdgeConfig, deps: { logger: Logger }) {
  const document = buildOpenApi(config.PUBLIC_BASE_URL);
  const templates = Object.entries(document.paths as Record<string, Record<string, unknown>>).map(
    ([template, item]) => ({
      pattern: pathPattern(template),
      methods: Object.keys(item)
        .filter((m) => m !== 'parameters')
        .map((m) => m.toUpperCase()),
    }),
  );
  const app = createHttpServer({
    // A public path with an undeclared method (TRACE, QUERY... which the proxy does not forward): 405.
    allowedMethods: (path) => templates.filter((t) => t.pattern.test(path)).flatMap((t) => t.methods),
    logger: deps.logger,
    bodyLimit: config.EDGE_BODY_LIMIT_BYTES,
    parseJson: false,
    // A client's traceparent is linked, not continued: its trace ids and sampling flag are not ours to
    // take (ADR 0015, decision 17); the response's traceresponse names the trace we recorded.
    clientTrace: 'link',
  });
  const upstreams = {
    'ingest-gateway': config.INGEST_GATEWAY_URL,
    'config-service': config.CONFIG_SERVICE_URL,
    mapper: config.MAPPER_URL,
    'entity-writer': config.ENTITY_WRITER_URL,
  };

  // The edge's port is public: /metrics and the fan-out /readyz are computed at most once a second,
  // however many anonymous callers ask.
  const metrics = createMetrics('edge');
  registerMetrics(app, metrics, { cacheMs: 1_000 });
  registerProbes(
    app,
    {
      live: () => combine({ process: true }),
      // Ready only when every service behind the edge is ready (EDGE_READINESS=upstreams), or when the
      // edge itself serves (self).
      ready:
        config.EDGE_READINESS === 'self'
          ? () => combine({ serving: true })
          : shared(async () => {
              const checks = await Promise.all(
                Object.entries(upstreams).map(async ([name, url]) => {
                  try {
                    const res = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(2_000) });
                    return [name, res.ok] as const;
                  } catch {
                    return [name, false] as const;
                  }
                }),
              );
              return combine(Object.fromEntries(checks));
            }, 1_000),
    },
    metrics,
  );

  // Our OpenAPI document and a browsable reference page (assets served locally, no CDN).
  await app.register(swagger, { mode: 'static', specification: { document: document as never } });
  await app.register(swaggerUi, {
    routePrefix: '/docs',
    uiConfig: { docExpansion: 'list', deepLinking: true },
  });
  app.get('/openapi.json', async () => document);
  // The topics' contract (AsyncAPI 3.0): the same TypeBox schemas the services use (libs/contracts).
  const topics = buildAsyncApi({ kafkaBrokers: config.KAFKA_BROKERS });
  app.get('/asyncapi.json', async () => topics);
  // The web console: static files calling the public API above with the user's token.
  await registerConsole(app, config.CONSOLE_DIR ?? DEFAULT_CONSOLE_DIR);

  /** Replies the proxy's onError has answered (see there). */
  const answered = new WeakSet<object>();
  for (const { prefix, upstream } of routes(config)) {
    await app.register(proxy, {
      upstream,
      prefix,
      rewritePrefix: prefix,
      http: { requestOptions: { timeout: 60_000 } },
      replyOptions: {
        // The service's span continues the edge's request span.
        rewriteRequestHeaders: (request, headers) => {
          // The client's trace context never reaches the services, only the edge's span.
          const { traceparent: _client, tracestate: _state, ...rest } = headers;
          const traceparent = traceparentOf();
          return { ...rest, 'x-request-id': request.id, ...(traceparent ? { traceparent } : {}) };
        },
        // A service that is restarting or gone answers like the services do when *their* dependencies
        // are: 503 with Retry-After (504 on a timeout), so clients retry instead of giving up on a 500.
        onError: (reply, { error }) => {
          // The service answered, then the connection went: nothing more to say. @fastify/reply-from
          // 12 reports one refused connection twice for a streamed body (the request's 'error' and the
          // body pipeline's callback), the second while the first answer is still in its onSend hooks
          // (`reply.sent` false): answering again made Fastify log "Reply was already sent" and a 500.
          if (reply.sent || answered.has(reply)) return;
          answered.add(reply);
          const timeout = /timeout/i.test(error.name) || /timeout/i.test(error.message);
          reply.log.warn({ err: error, upstream }, 'upstream unavailable');
          void reply
            .code(timeout ? 504 : 503)
            .header('retry-after', '5')
            .send({
              code: timeout ? 'UPSTREAM_TIMEOUT' : 'UPSTREAM_UNAVAILABLE',
              message: `the service behind ${prefix} is ${timeout ? 'not answering in time' : 'unavailable'}; retry the request`,
            });
        },
      },
    });
  }
  return app;
}
