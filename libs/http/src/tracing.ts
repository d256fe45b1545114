import {
  contextFromTraceparent,
  contextWithSpan,
  failSpan,
  linksTo,
  type Span,
  SpanKind,
  SpanStatusCode,
  TRACEPARENT_HEADER,
  traceparentOf,
  tracer,
  withContext,
} from '@hub/observability';
import { type FastifyInstance, type FastifyReply, type FastifyRequest, LogController } from 'fastify';

/** Routes polled by orchestrators and Prometheus: no span, so traces show work, not probes. */
const UNTRACED = new Set(['/healthz', '/readyz', '/metrics']);

const kSpan = Symbol('hub.span');
type TracedRequest = FastifyRequest & { [kSpan]?: Span };

/** Defers Fastify's "incoming request" line to the tracing hook, which writes it inside the request's span. */
export class TracingLogController extends LogController {
  override incomingRequest(): void {}
}

function header(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/**
 * What a request's `traceparent` is to the server span: `parent` (an internal caller: the span continues
 * its trace) or `link` (a public caller: a new trace whose span links to the caller's, and the response
 * names the new trace in `traceresponse`; ADR 0015, decision 17).
 */
export type ClientTraceContext = 'parent' | 'link';

/** W3C Trace Context level 2: the trace the server recorded the request in, answered to the caller. */
export const TRACERESPONSE_HEADER = 'traceresponse';

/**
 * A SERVER span per request: parent from the request's `traceparent` (or a link to it), named `<METHOD> <route>`, with the
 * route, status code and request id; status ERROR for 5xx. The span is active from `onRequest` and again
 * after the body is parsed (`preValidation`: body parsing resumes outside the request's async context),
 * and while the response is logged, so every log line and every Kafka message or Mongo command of the
 * request belongs to it.
 */
export function registerTracing(
  app: FastifyInstance,
  logController: LogController,
  clientTrace: ClientTraceContext = 'parent',
): void {
  app.addHook('onRequest', (request: TracedRequest, reply, done) => {
    const route = request.routeOptions.url;
    const log = () => {
      if (!logController.isLogDisabled(request)) {
        // The path only: query strings carry search values (names, customer numbers...), never logged.
        const req = { method: request.method, url: request.url.split('?')[0], remoteAddress: request.ip };
        request.log.info({ req }, 'incoming request');
      }
    };
    if (route && UNTRACED.has(route)) {
      log();
      done();
      return;
    }
    const incoming = header(request.headers[TRACEPARENT_HEADER]);
    const linked = clientTrace === 'link';
    // A public caller neither chooses our trace id nor switches our sampling off with its flags.
    const parent = contextFromTraceparent(linked ? undefined : incoming);
    const span = tracer().startSpan(
      route ? `${request.method} ${route}` : request.method,
      {
        kind: SpanKind.SERVER,
        attributes: {
          'http.request.method': request.method,
          'url.path': request.url.split('?')[0] ?? request.url,
          ...(route ? { 'http.route': route } : {}),
          'hub.request_id': request.id,
        },
        links: linked ? linksTo(incoming) : [],
      },
      parent,
    );
    request[kSpan] = span;
    if (linked) {
      const ours = traceparentOf(span);
      if (ours) reply.header(TRACERESPONSE_HEADER, ours);
    }
    withContext(contextWithSpan(span, parent), () => {
      log();
      done();
    });
  });
  app.addHook('preValidation', (request: TracedRequest, _reply, done) => {
    const span = request[kSpan];
    if (!span) return done();
    withContext(contextWithSpan(span), done);
  });
  const end = (request: TracedRequest, reply: FastifyReply, done: () => void) => {
    const span = request[kSpan];
    if (!span) return done();
    request[kSpan] = undefined;
    span.setAttribute('http.response.status_code', reply.statusCode);
    if (reply.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
    span.end();
    // The "request completed" line follows this hook: keep the span's ids on it.
    withContext(contextWithSpan(span), done);
  };
  app.addHook('onResponse', (request: TracedRequest, reply, done) => end(request, reply, done));
  app.addHook('onRequestAbort', (request: TracedRequest, done) => {
    const span = request[kSpan];
    if (span) {
      request[kSpan] = undefined;
      failSpan(span, new Error('request aborted by the client'));
      span.end();
    }
    done();
  });
}
