import { useEffect, useId, useState } from 'react';
import {
  api,
  type InboundOutcome,
  paths,
  type SimulationResponse,
  type Span,
  type StoredEvent,
  type UseCase,
} from '../api';
import { ConfigEditor, configurationProblems, ErrorMessage, Json, Status, time } from '../components';
import { useLoad } from '../hooks';
import { href } from '../router';
import { IntegrationNav } from './IntegrationNav';

/** Runs the mapping on a payload with the configuration as edited (unsaved); one click saves it. */
export function PlaygroundPage({ integrationId, useCaseId }: { integrationId: string; useCaseId: string }) {
  const id = useId();
  const useCase = useLoad(() => api<UseCase>('GET', paths.caseOf(integrationId, useCaseId)), useCaseId);
  const recent = useLoad(
    () =>
      api<{ data: StoredEvent[] }>('POST', paths.events(integrationId), {
        use_case_id: useCaseId,
        limit: 10,
      }),
    `recent:${useCaseId}`,
  );
  const [text, setText] = useState('');
  const [payload, setPayload] = useState('');
  const [format, setFormat] = useState<'json' | 'xml'>('json');
  const [result, setResult] = useState<SimulationResponse>();
  const [error, setError] = useState<unknown>();
  const [saveError, setSaveError] = useState<unknown>();
  const [saved, setSaved] = useState<string>();
  const [outcomes, setOutcomes] = useState<InboundOutcome[]>();
  /** The mapper's warnings about the event (a value kept as given): on its `mapped` record, not final. */
  const [warned, setWarned] = useState<Span[]>([]);

  useEffect(() => {
    if (useCase.data) setText(JSON.stringify(useCase.data.configuration ?? {}, null, 2));
  }, [useCase.data]);

  const pick = (eventId: string) => {
    const event = recent.data?.data.find((e) => e.event_id === eventId);
    if (!event) return;
    setFormat(event.format);
    setPayload(event.format === 'json' ? pretty(event.payload) : event.payload);
    // What became of it when the mapper ran it: the failure the edited configuration should fix.
    setOutcomes(undefined);
    setWarned([]);
    api<{ monitoring_events: Span[] }>('GET', paths.associated(integrationId, eventId)).then(
      (page) => setWarned(page.monitoring_events.filter((s) => s.code === 'MAPPING_WARNINGS')),
      () => setWarned([]),
    );
    api<{ data: InboundOutcome[] }>('POST', paths.outcomes(integrationId), {
      event_id: eventId,
      limit: 20,
    }).then(
      (page) => setOutcomes(page.data),
      () => setOutcomes([]),
    );
  };

  const run = async () => {
    setError(undefined);
    setResult(undefined);
    try {
      setResult(
        await api<SimulationResponse>('POST', paths.simulate, {
          event_configuration: JSON.parse(text),
          format,
          payload,
        }),
      );
    } catch (err) {
      setError(err);
    }
  };

  const save = async () => {
    setSaveError(undefined);
    setSaved(undefined);
    try {
      const updated = await api<UseCase>('PUT', paths.caseOf(integrationId, useCaseId), {
        configuration: JSON.parse(text),
        change_description: 'saved from the mapping playground',
      });
      setSaved(`Configuration saved at ${time(updated.updated_at)}.`);
    } catch (err) {
      setSaveError(err);
    }
  };

  const problems = configurationProblems(error) ?? configurationProblems(saveError);
  return (
    <>
      <IntegrationNav integrationId={integrationId} current="Use cases" />
      <h1>
        Mapping playground:{' '}
        <a href={href('integrations', integrationId, 'use-cases', useCaseId)}>{useCase.data?.name ?? '…'}</a>
      </h1>
      <ErrorMessage error={useCase.error} />
      <form
        className="playground"
        onSubmit={(e) => {
          e.preventDefault();
          void run();
        }}
      >
        <div className="pane">
          <h2>Payload</h2>
          <label htmlFor={`${id}-recent`}>Recent payloads of this use case</label>
          <select id={`${id}-recent`} defaultValue="" onChange={(e) => pick(e.target.value)}>
            <option value="">{recent.data?.data.length ? 'Pick an event…' : 'No stored events yet'}</option>
            {recent.data?.data.map((e) => (
              <option key={e.event_id} value={e.event_id}>
                {time(e.event_time)} · {e.event_id} · {e.status}
              </option>
            ))}
          </select>
          <label htmlFor={`${id}-format`}>Format</label>
          <select
            id={`${id}-format`}
            value={format}
            onChange={(e) => setFormat(e.target.value as 'json' | 'xml')}
          >
            <option value="json">JSON</option>
            <option value="xml">XML</option>
          </select>
          <label htmlFor={`${id}-payload`}>Payload</label>
          <textarea
            id={`${id}-payload`}
            rows={16}
            spellCheck={false}
            value={payload}
            onChange={(e) => setPayload(e.target.value)}
          />
          {outcomes && (
            <div className="outcomes">
              <h3>Recorded outcome of this event</h3>
              {outcomes.length === 0 && <p>None recorded (yet).</p>}
              <ul>
                {outcomes.map((o) => (
                  <li key={o.id}>
                    <Status value={o.status} /> {o.error_code && <code>{o.error_code}</code>}{' '}
                    {o.error_message}
                  </li>
                ))}
                {warned.map((w) => (
                  <li key={w.id}>
                    <Status value={w.level} /> <code>{w.code}</code> {w.message}
                  </li>
                ))}
              </ul>
            </div>
          )}
        </div>
        <div className="pane">
          <h2>Configuration (unsaved)</h2>
          <ConfigEditor
            label="Mapping configuration (JSON)"
            text={text}
            onChange={setText}
            problems={problems}
          />
          <div className="buttons">
            <button type="submit">Run simulation</button>
            <button type="button" onClick={() => void save()}>
              Save configuration
            </button>
          </div>
          {!configurationProblems(saveError) && <ErrorMessage error={saveError} />}
          {saved && (
            <p className="notice" role="status">
              {saved}
            </p>
          )}
        </div>
        <div className="pane" aria-live="polite">
          <h2>Result</h2>
          {!configurationProblems(error) && <ErrorMessage error={error} />}
          {!result && !error && <p>Run the simulation to see what this payload becomes.</p>}
          {result && <Result result={result} />}
        </div>
      </form>
    </>
  );
}

function Result({ result }: { result: SimulationResponse }) {
  const prunes = [
    ...(result.prune_scope_updates ?? []),
    ...(result.meter_readings_prune_scope_updates ?? []),
  ];
  return (
    <div className="result">
      <h3>Entity updates ({result.entity_updates.length})</h3>
      {result.entity_updates.map((u) => (
        <div className="update" key={JSON.stringify(u)}>
          <p>
            <strong>{u.entity_slug}</strong> {u.mode && <span className="muted">({u.mode})</span>} by{' '}
            <code>{JSON.stringify(u.unique_identifiers)}</code>
          </p>
          <table className="attributes">
            <tbody>
              {Object.entries(u.attributes).map(([k, v]) => (
                <tr key={k}>
                  <th scope="row">{k}</th>
                  <td>
                    <code>{JSON.stringify(v)}</code>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ))}
      {result.entity_updates.length === 0 && result.meter_readings_updates.length === 0 && (
        <p className="notice" role="status">
          Nothing was mapped. What the mapping dropped, and why, is listed under Warnings below; the recorded
          outcome of a picked event says what the mapper did with it.
        </p>
      )}
      <h3>Meter readings ({result.meter_readings_updates.length})</h3>
      {result.meter_readings_updates.length > 0 && <Json value={result.meter_readings_updates} />}
      <h3>Prune scopes ({prunes.length})</h3>
      {prunes.length > 0 && <Json value={prunes} />}
      <h3>Warnings ({result.warnings?.length ?? 0})</h3>
      {!!result.warnings?.length && (
        <ul className="warnings">
          {result.warnings.map((w) => (
            <li key={JSON.stringify(w)}>{warningText(w)}</li>
          ))}
        </ul>
      )}
    </div>
  );
}

/** A reference `MappingSimulationWarning` as one line: the attribute, then what happened and where. */
function warningText(w: unknown): string {
  if (typeof w === 'string') return w;
  const { field, message } = (w ?? {}) as { field?: unknown; message?: unknown };
  return typeof message === 'string' ? `${String(field)}: ${message}` : JSON.stringify(w);
}

function pretty(json: string): string {
  try {
    return JSON.stringify(JSON.parse(json), null, 2);
  } catch {
    return json;
  }
}
