import { useId, useState } from 'react';
import { api, type Integration, paths } from '../api';
import { ConfirmButton, ErrorMessage, Section, time } from '../components';
import { useLoad } from '../hooks';
import { href, navigate } from '../router';

export function IntegrationsPage() {
  const list = useLoad(() => api<{ integrations: Integration[] }>('GET', paths.integrations), 'integrations');
  const [error, setError] = useState<unknown>();
  const [editing, setEditing] = useState<string>();

  const remove = async (id: string) => {
    setError(undefined);
    try {
      await api('DELETE', paths.integration(id));
      list.reload();
    } catch (err) {
      setError(err);
    }
  };

  return (
    <>
      <h1>Integrations</h1>
      <ErrorMessage error={list.error ?? error} />
      <Section title="All integrations">
        {list.data && list.data.integrations.length === 0 && <p>No integrations yet: create one below.</p>}
        {list.data && list.data.integrations.length > 0 && (
          <table>
            <thead>
              <tr>
                <th>Name</th>
                <th>Description</th>
                <th>Updated</th>
                <th>Actions</th>
              </tr>
            </thead>
            <tbody>
              {list.data.integrations.map((i) =>
                editing === i.id ? (
                  <tr key={i.id}>
                    <td colSpan={4}>
                      <IntegrationForm
                        initial={i}
                        submitLabel="Save"
                        onDone={() => {
                          setEditing(undefined);
                          list.reload();
                        }}
                        onCancel={() => setEditing(undefined)}
                      />
                    </td>
                  </tr>
                ) : (
                  <tr key={i.id}>
                    <td>
                      <a href={href('integrations', i.id)}>{i.name}</a>
                    </td>
                    <td>{i.description}</td>
                    <td>{time(i.updated_at)}</td>
                    <td className="actions">
                      <button type="button" onClick={() => setEditing(i.id)}>
                        Edit
                      </button>
                      <ConfirmButton label="Delete" onConfirm={() => remove(i.id)} />
                    </td>
                  </tr>
                ),
              )}
            </tbody>
          </table>
        )}
      </Section>
      <Section title="New integration">
        <IntegrationForm
          submitLabel="Create integration"
          onDone={(created) => navigate(href('integrations', created.id))}
        />
      </Section>
    </>
  );
}

function IntegrationForm({
  initial,
  submitLabel,
  onDone,
  onCancel,
}: {
  initial?: Integration;
  submitLabel: string;
  onDone: (saved: Integration) => void;
  onCancel?: () => void;
}) {
  const id = useId();
  const [name, setName] = useState(initial?.name ?? '');
  const [description, setDescription] = useState(initial?.description ?? '');
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  return (
    <form
      className="inline-form"
      onSubmit={async (e) => {
        e.preventDefault();
        setBusy(true);
        setError(undefined);
        try {
          const body = { name, ...(description ? { description } : {}) };
          const saved = initial
            ? await api<Integration>('PUT', paths.integration(initial.id), body)
            : await api<Integration>('POST', paths.integrations, body);
          onDone(saved);
        } catch (err) {
          setError(err);
        } finally {
          setBusy(false);
        }
      }}
    >
      <label htmlFor={`${id}-name`}>Name</label>
      <input id={`${id}-name`} value={name} onChange={(e) => setName(e.target.value)} required />
      <label htmlFor={`${id}-description`}>Description</label>
      <input id={`${id}-description`} value={description} onChange={(e) => setDescription(e.target.value)} />
      <button type="submit" disabled={busy}>
        {submitLabel}
      </button>
      {onCancel && (
        <button type="button" onClick={onCancel}>
          Cancel
        </button>
      )}
      <ErrorMessage error={error} />
    </form>
  );
}
