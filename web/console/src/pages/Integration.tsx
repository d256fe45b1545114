import { useId, useState } from 'react';
import { api, paths, type UseCase } from '../api';
import { ConfigEditor, configurationProblems, ErrorMessage, Section, Status, time } from '../components';
import { useLoad } from '../hooks';
import { href, navigate } from '../router';
import { IntegrationNav } from './IntegrationNav';

const STARTER = {
  entities: [
    {
      entity_schema: 'contact',
      unique_ids: ['customer_number'],
      fields: [
        { attribute: 'customer_number', field: 'customerId' },
        { attribute: 'first_name', field: 'firstName' },
        { attribute: 'last_name', field: 'lastName' },
      ],
    },
  ],
};

export function IntegrationPage({ integrationId }: { integrationId: string }) {
  const useCases = useLoad(
    () => api<{ use_cases: UseCase[] }>('GET', paths.casesOf(integrationId)),
    `use-cases:${integrationId}`,
  );
  const [error, setError] = useState<unknown>();

  const toggle = async (u: UseCase) => {
    setError(undefined);
    try {
      await api('PUT', paths.caseOf(integrationId, u.id), {
        enabled: !u.enabled,
        change_description: u.enabled ? 'disabled in the console' : 'enabled in the console',
      });
      useCases.reload();
    } catch (err) {
      setError(err);
    }
  };

  return (
    <>
      <IntegrationNav integrationId={integrationId} current="Use cases" />
      <h1>Use cases</h1>
      <ErrorMessage error={useCases.error ?? error} />
      <Section title="Use cases of this integration">
        {useCases.data?.use_cases.length === 0 && <p>No use cases yet: create one below.</p>}
        {!!useCases.data?.use_cases.length && (
          <table>
            <thead>
              <tr>
                <th>Name</th>
                <th>Slug</th>
                <th>Type</th>
                <th>State</th>
                <th>Updated</th>
                <th>Actions</th>
              </tr>
            </thead>
            <tbody>
              {useCases.data.use_cases.map((u) => (
                <tr key={u.id}>
                  <td>
                    <a href={href('integrations', integrationId, 'use-cases', u.id)}>{u.name}</a>
                  </td>
                  <td>
                    <code>{u.slug}</code>
                  </td>
                  <td>{u.type}</td>
                  <td>
                    <Status value={u.enabled ? 'enabled' : 'disabled'} />
                    {u.status === 'quarantined' && (
                      <>
                        {' '}
                        <Status value="quarantined" />
                      </>
                    )}
                  </td>
                  <td>{time(u.updated_at)}</td>
                  <td className="actions">
                    <button type="button" onClick={() => toggle(u)}>
                      {u.enabled ? 'Disable' : 'Enable'} {u.name}
                    </button>
                    <a href={href('integrations', integrationId, 'use-cases', u.id, 'playground')}>
                      Playground
                    </a>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Section>
      <Section title="New use case">
        <NewUseCase integrationId={integrationId} />
      </Section>
    </>
  );
}

function NewUseCase({ integrationId }: { integrationId: string }) {
  const id = useId();
  const [name, setName] = useState('');
  const [slug, setSlug] = useState('');
  const [enabled, setEnabled] = useState(true);
  const [text, setText] = useState(JSON.stringify(STARTER, null, 2));
  const [error, setError] = useState<unknown>();
  const problems = configurationProblems(error);
  return (
    <form
      onSubmit={async (e) => {
        e.preventDefault();
        setError(undefined);
        try {
          const created = await api<UseCase>('POST', paths.casesOf(integrationId), {
            name,
            ...(slug ? { slug } : {}),
            type: 'inbound',
            enabled,
            configuration: JSON.parse(text),
          });
          navigate(href('integrations', integrationId, 'use-cases', created.id));
        } catch (err) {
          setError(err);
        }
      }}
    >
      <div className="fields">
        <label htmlFor={`${id}-name`}>Name</label>
        <input id={`${id}-name`} value={name} onChange={(e) => setName(e.target.value)} required />
        <label htmlFor={`${id}-slug`}>Slug (optional: from the name)</label>
        <input
          id={`${id}-slug`}
          value={slug}
          onChange={(e) => setSlug(e.target.value)}
          pattern="[a-z0-9][a-z0-9_\-]*"
        />
        <label className="check">
          <input type="checkbox" checked={enabled} onChange={(e) => setEnabled(e.target.checked)} /> Enabled
        </label>
      </div>
      <ConfigEditor
        label="Mapping configuration (JSON)"
        text={text}
        onChange={setText}
        problems={problems}
        rows={14}
      />
      {!problems && <ErrorMessage error={error} />}
      <button type="submit">Create use case</button>
    </form>
  );
}
