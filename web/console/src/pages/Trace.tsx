import { api, paths, type Span, type Trace } from '../api';
import { ErrorMessage, Json, Section, Status, time } from '../components';
import { useLoad } from '../hooks';
import { href } from '../router';
import { IntegrationNav } from './IntegrationNav';

const SERVICE_OF: Record<string, string> = {
  accepted: 'gateway',
  skipped: 'gateway',
  ignored: 'gateway',
  rejected: 'gateway',
  replayed: 'config-service',
  external: 'external',
  mapped: 'mapper',
  mapping_failed: 'mapper',
  quarantined: 'mapper',
  entity_written: 'entity-writer',
  relation_target_created: 'entity-writer',
  meter_reading_written: 'entity-writer',
  prune_applied: 'entity-writer',
};

const serviceOf = (s: Span) =>
  SERVICE_OF[s.stage] ?? (typeof s.detail?.service === 'string' ? s.detail.service : s.stage);
const ms = (iso: string) => Date.parse(iso);
const isDeadLetter = (s: Span) => s.stage === 'dead_lettered' || s.detail?.dead_lettered === true;

/**
 * Every monitoring record of a correlation id as a waterfall: each span runs from the previous record of
 * its event (or the gateway's receipt) to its own time.
 */
export function TracePage({
  integrationId,
  correlationId,
}: {
  integrationId: string;
  correlationId: string;
}) {
  const trace = useLoad(
    () => api<Trace>('GET', paths.trace(integrationId, correlationId)),
    `${integrationId}:${correlationId}`,
  );
  const t = trace.data;
  const rows = t ? waterfall(t.spans) : [];
  const start = Math.min(...rows.map((r) => r.start));
  const end = Math.max(...rows.map((r) => r.end));
  const total = Math.max(end - start, 1);
  return (
    <>
      <IntegrationNav integrationId={integrationId} current="Events" />
      <h1>
        Trace <code>{correlationId}</code> {t && <Status value={t.status} />}
      </h1>
      <ErrorMessage error={trace.error} />
      {t && t.span_count === 0 && <p>No spans recorded for this correlation id (yet).</p>}
      {t && t.span_count > 0 && (
        <>
          <p>
            {t.span_count} spans from {time(t.started_at)} to {time(t.ended_at)} · {end - start} ms
            {t.truncated ? ' · truncated' : ''} ·{' '}
            <a
              href={`${href('integrations', integrationId, 'events')}?correlation_id=${encodeURIComponent(correlationId)}`}
            >
              Its events (replay)
            </a>
          </p>
          <ol className="waterfall" aria-label="Spans">
            {rows.map(({ span, start: s, end: e }) => (
              <li key={span.id} className={`span level-${span.level}`}>
                <div className="span-label">
                  <strong>{serviceOf(span)}</strong> · {span.stage} <Status value={span.level} />{' '}
                  {span.code && <code>{span.code}</code>}
                  <span className="muted"> {e - s} ms</span>
                </div>
                <div className="span-track">
                  <span
                    className="span-bar"
                    style={{
                      left: `${((s - start) / total) * 100}%`,
                      width: `max(2px, ${((e - s) / total) * 100}%)`,
                    }}
                  />
                </div>
                <div className="span-detail">
                  {span.message && <span>{span.message}</span>} <SpanLinks span={span} />
                </div>
              </li>
            ))}
          </ol>
        </>
      )}
      {t?.inbound_event && (
        <Section title="Inbound event">
          <p>
            <code>{t.inbound_event.event_id}</code> at {time(t.inbound_event.event_time)} (
            {t.inbound_event.format})
          </p>
          <pre className="json">{t.inbound_event.payload}</pre>
        </Section>
      )}
    </>
  );
}

function SpanLinks({ span }: { span: Span }) {
  const d = span.detail ?? {};
  if (
    typeof d.entity_id === 'string' &&
    typeof d.entity_schema === 'string' &&
    span.stage !== 'dead_lettered'
  ) {
    return (
      <a href={href('entities', d.entity_schema, d.entity_id)}>
        Entity {d.entity_schema} {d.entity_id}
      </a>
    );
  }
  if (isDeadLetter(span)) {
    return (
      <details>
        <summary>Dead letter</summary>
        <p>
          Sent to <code>erp.dead-letters</code>
          {typeof d.topic === 'string' ? ` from ${d.topic}[${d.partition}]@${d.offset}` : ''}; replay the
          event once the cause is fixed.
        </p>
        <Json value={d} />
      </details>
    );
  }
  return null;
}

function waterfall(spans: Span[]) {
  const lastOf = new Map<string, number>();
  return spans.map((span) => {
    const end = ms(span.created_at);
    const previous = lastOf.get(span.event_id);
    const received = span.received_at ? ms(span.received_at) : end;
    const start = Math.min(previous ?? received, end);
    lastOf.set(span.event_id, end);
    return { span, start, end };
  });
}
