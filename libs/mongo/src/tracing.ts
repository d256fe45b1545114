import { activeContext, activeSpan, type Span, SpanKind, SpanStatusCode, tracer } from '@hub/observability';
import type { CommandFailedEvent, CommandStartedEvent, CommandSucceededEvent, MongoClient } from 'mongodb';

/**
 * A CLIENT span per MongoDB command, from the driver's command monitoring (`monitorCommands: true`):
 * named `<command> <collection>`, child of the active span. Commands outside any span (probes, sweepers,
 * connection set-up) get none, so no orphan traces. Query values are never recorded.
 */
export function traceCommands(client: MongoClient): void {
  const open = new Map<string, Span>();
  const key = (e: { requestId: number; connectionId?: string | number }) =>
    `${e.connectionId ?? ''}:${e.requestId}`;
  client.on('commandStarted', (e: CommandStartedEvent) => {
    if (!activeSpan()) return;
    const collection = collectionOf(e);
    const span = tracer().startSpan(
      collection ? `${e.commandName} ${collection}` : e.commandName,
      {
        kind: SpanKind.CLIENT,
        attributes: {
          'db.system.name': 'mongodb',
          'db.namespace': e.databaseName,
          'db.operation.name': e.commandName,
          ...(collection ? { 'db.collection.name': collection } : {}),
          'server.address': e.address,
        },
      },
      activeContext(),
    );
    open.set(key(e), span);
  });
  client.on('commandSucceeded', (e: CommandSucceededEvent) => {
    const span = open.get(key(e));
    if (!span) return;
    open.delete(key(e));
    span.setStatus({ code: SpanStatusCode.OK });
    span.end();
  });
  client.on('commandFailed', (e: CommandFailedEvent) => {
    const span = open.get(key(e));
    if (!span) return;
    open.delete(key(e));
    const failure = e.failure as Error & { code?: number };
    if (failure.code !== undefined) span.setAttribute('db.response.status_code', String(failure.code));
    span.recordException(failure);
    span.setStatus({ code: SpanStatusCode.ERROR, message: failure.message });
    span.end();
  });
}

function collectionOf(e: CommandStartedEvent): string | undefined {
  const target = e.command[e.commandName];
  return typeof target === 'string' ? target : undefined;
}
