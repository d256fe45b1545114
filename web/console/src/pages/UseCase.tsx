import { useEffect, useId, useState } from 'react';
import { api, type HistoryEntry, paths, type UseCase } from '../api';
import {
  ConfigEditor,
  ConfirmButton,
  configurationProblems,
  ErrorMessage,
  Json,
  Section,
  Status,
  time,
} from '../components';
import { useLoad } from '../hooks';
import { href, navigate } from '../router';
import { IntegrationNav } from './IntegrationNav';

export function UseCasePage({ integrationId, useCaseId }: { integrationId: string; useCaseId: string }) {
  const id = useId();
  const useCase = useLoad(() => api<UseCase>('GET', paths.caseOf(integrationId, useCaseId)), useCaseId);
  const history = useLoad(
    () => api<{ history: HistoryEntry[] }>('GET', paths.history(integrationId, useCaseId)),
    `history:${useCaseId}`,
  );
  const [name, setName] = useState('');
  const [enabled, setEnabled] = useState(true);
  const [text, setText] = useState('');
  const [change, setChange] = useState('');
  const [error, setError] = useState<unknown>();
  const [saved, setSaved] = useState<string>();

  useEffect(() => {
    if (!useCase.data) return;
    setName(useCase.data.name);
    setEnabled(useCase.data.enabled);
    setText(JSON.stringify(useCase.data.configuration ?? {}, null, 2));
  }, [useCase.data]);

  const problems = configurationProblems(error);
  const save = async () => {
    setError(undefined);
    setSaved(undefined);
    let configuration: unknown;
    try {
      configuration = JSON.parse(text);
    } catch {
      return; // the editor says why
    }
    try {
      const updated = await api<UseCase>('PUT', paths.caseOf(integrationId, useCaseId), {
        name,
        enabled,
        configuration,
        ...(change ? { change_description: change } : {}),
      });
      setSaved(`Saved at ${time(updated.updated_at)}.`);
      setChange('');
      useCase.reload();
      history.reload();
    } catch (err) {
      setError(err);
    }
  };

  return (
    <>
      <IntegrationNav integrationId={integrationId} current="Use cases" />
      <h1>
        Use case {useCase.data?.name ?? ''}{' '}
        {useCase.data && <Status value={useCase.data.enabled ? 'enabled' : 'disabled'} />}{' '}
        {useCase.data?.status === 'quarantined' && <Status value="quarantined" />}
      </h1>
      <ErrorMessage error={useCase.error} />
      {useCase.data?.status === 'quarantined' && (
        <section className="quarantine" aria-labelledby={`${id}-quarantine`}>
          <h2 id={`${id}-quarantine`}>Quarantined: its events wait, none is lost</h2>
          <p>
            Since {time(useCase.data.quarantined_since)}, the hub parks this use case's events instead of
            mapping them: too many of them hit the mapping budget (the time or memory one event may take).
          </p>
          {useCase.data.quarantine_reason && <p className="muted">{useCase.data.quarantine_reason}</p>}
          <p>
            <strong>To resume</strong>, change the configuration below (an expression that runs too long or
            builds too much is the usual cause; try it in the mapping playground) and save it. Any saved
            change makes a new version: the quarantine ends and the parked events are mapped with the new
            configuration.
          </p>
        </section>
      )}
      {useCase.data && (
        <p className="muted">
          This version: {time(useCase.data.updated_at)}
          {useCase.data.change_description ? ` · ${useCase.data.change_description}` : ''}
        </p>
      )}
      <p className="links">
        <a href={href('integrations', integrationId, 'use-cases', useCaseId, 'playground')}>
          Open in the mapping playground
        </a>
        <a
          href={`${href('integrations', integrationId, 'events')}?use_case_id=${encodeURIComponent(useCaseId)}`}
        >
          Events of this use case
        </a>
      </p>
      {useCase.data && (
        <form
          onSubmit={(e) => {
            e.preventDefault();
            void save();
          }}
        >
          <div className="fields">
            <label htmlFor={`${id}-name`}>Name</label>
            <input id={`${id}-name`} value={name} onChange={(e) => setName(e.target.value)} required />
            <span>
              Slug <code>{useCase.data.slug}</code> (fixed once set)
            </span>
            <label className="check">
              <input type="checkbox" checked={enabled} onChange={(e) => setEnabled(e.target.checked)} />{' '}
              Enabled
            </label>
            <label htmlFor={`${id}-change`}>What changed (kept in the history)</label>
            <input id={`${id}-change`} value={change} onChange={(e) => setChange(e.target.value)} />
          </div>
          <ConfigEditor
            label="Mapping configuration (JSON)"
            text={text}
            onChange={setText}
            problems={problems}
          />
          {!problems && <ErrorMessage error={error} />}
          {saved && (
            <p className="notice" role="status">
              {saved}
            </p>
          )}
          <div className="buttons">
            <button type="submit">Save use case</button>
            <ConfirmButton
              label="Delete use case"
              onConfirm={async () => {
                try {
                  await api('DELETE', paths.caseOf(integrationId, useCaseId));
                  navigate(href('integrations', integrationId));
                } catch (err) {
                  setError(err);
                }
              }}
            />
          </div>
        </form>
      )}
      <Section title="History">
        <ErrorMessage error={history.error} />
        {history.data?.history.length === 0 && <p>No earlier versions.</p>}
        {!!history.data?.history.length && (
          <table>
            <thead>
              <tr>
                <th>Replaced at</th>
                <th>Name</th>
                <th>State</th>
                <th>Change</th>
                <th>Configuration</th>
              </tr>
            </thead>
            <tbody>
              {history.data.history.map((h) => (
                <tr key={h.id}>
                  <td>{time(h.history_created_at)}</td>
                  <td>{h.name}</td>
                  <td>
                    <Status value={h.enabled ? 'enabled' : 'disabled'} />
                  </td>
                  <td>{h.change_description}</td>
                  <td>
                    <details>
                      <summary>Show</summary>
                      <Json value={h.configuration} />
                      <button
                        type="button"
                        onClick={() => setText(JSON.stringify(h.configuration ?? {}, null, 2))}
                      >
                        Load this version into the editor
                      </button>
                    </details>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Section>
    </>
  );
}
