import { useId, useState } from 'react';
import { api, type InboundOutcome, paths, type StoredEvent, type UseCase } from '../api';
import { ErrorMessage, Section, Status, time } from '../components';
import { useLoad } from '../hooks';
import { href } from '../router';
import { IntegrationNav } from './IntegrationNav';

const MAX_REPLAY = 100;

interface Filters {
  status: string;
  use_case_id: string;
  from: string;
  to: string;
  correlation_id: string;
}

interface Page {
  data: InboundOutcome[];
  next_cursor: unknown;
  has_more: boolean;
}

interface ReplayResult {
  event_id: string;
  status: string;
  replay_event_id?: string;
  message: string;
  correlation_id?: string;
}

/** datetime-local (the user's zone) → ISO 8601 UTC. */
const iso = (local: string) => (local ? new Date(local).toISOString() : undefined);

/** The outcomes of an integration's events (monitoring's final records), filtered; replay of the selected ones. */
export function EventsPage({ integrationId, query }: { integrationId: string; query: URLSearchParams }) {
  const id = useId();
  const initial: Filters = {
    status: query.get('status') ?? '',
    use_case_id: query.get('use_case_id') ?? '',
    from: '',
    to: '',
    correlation_id: query.get('correlation_id') ?? '',
  };
  const [draft, setDraft] = useState(initial);
  const [filters, setFilters] = useState(initial);
  const [pages, setPages] = useState<InboundOutcome[]>([]);
  const [cursor, setCursor] = useState<unknown>(null);
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [replayed, setReplayed] = useState<ReplayResult[]>();
  const [error, setError] = useState<unknown>();

  const useCases = useLoad(
    () => api<{ use_cases: UseCase[] }>('GET', paths.casesOf(integrationId)),
    `use-cases:${integrationId}`,
  );
  const body = (f: Filters, after?: unknown) => ({
    ...(f.status ? { status: f.status } : {}),
    ...(f.use_case_id ? { use_case_id: f.use_case_id } : {}),
    ...(f.from ? { from_date: iso(f.from) } : {}),
    ...(f.to ? { to_date: iso(f.to) } : {}),
    ...(f.correlation_id ? { correlation_id: f.correlation_id.trim() } : {}),
    limit: 50,
    ...(after ? { cursor: after } : {}),
  });
  const first = useLoad(
    async () => {
      const page = await api<Page>('POST', paths.outcomes(integrationId), body(filters));
      setPages(page.data);
      setCursor(page.has_more ? page.next_cursor : null);
      return page;
    },
    `events:${integrationId}:${JSON.stringify(filters)}`,
  );

  const more = async () => {
    try {
      const page = await api<Page>('POST', paths.outcomes(integrationId), body(filters, cursor));
      setPages((p) => [...p, ...page.data]);
      setCursor(page.has_more ? page.next_cursor : null);
    } catch (err) {
      setError(err);
    }
  };

  const replay = async () => {
    setError(undefined);
    setReplayed(undefined);
    try {
      const answer = await api<{ results: ReplayResult[] }>('POST', paths.replay(integrationId), {
        event_ids: [...selected],
      });
      // The replays' correlation ids, so each result links to its trace.
      const results = await Promise.all(
        answer.results.map(async (r) => {
          if (!r.replay_event_id) return r;
          const found = await api<{ data: StoredEvent[] }>('POST', paths.events(integrationId), {
            event_id: r.replay_event_id,
            limit: 1,
          });
          return { ...r, correlation_id: found.data[0]?.correlation_id };
        }),
      );
      setReplayed(results);
      setSelected(new Set());
    } catch (err) {
      setError(err);
    }
  };

  const names = new Map(useCases.data?.use_cases.map((u) => [u.id, u.name]));
  const toggle = (eventId: string) =>
    setSelected((s) => {
      const next = new Set(s);
      if (next.has(eventId)) next.delete(eventId);
      else next.add(eventId);
      return next;
    });

  return (
    <>
      <IntegrationNav integrationId={integrationId} current="Events" />
      <h1>Events</h1>
      <form
        className="filters"
        onSubmit={(e) => {
          e.preventDefault();
          setSelected(new Set());
          setFilters(draft);
          first.reload();
        }}
      >
        <label htmlFor={`${id}-status`}>Status</label>
        <select
          id={`${id}-status`}
          value={draft.status}
          onChange={(e) => setDraft({ ...draft, status: e.target.value })}
        >
          <option value="">any</option>
          {['success', 'error', 'warning', 'skipped'].map((s) => (
            <option key={s} value={s}>
              {s}
            </option>
          ))}
        </select>
        <label htmlFor={`${id}-uc`}>Use case</label>
        <select
          id={`${id}-uc`}
          value={draft.use_case_id}
          onChange={(e) => setDraft({ ...draft, use_case_id: e.target.value })}
        >
          <option value="">any</option>
          {useCases.data?.use_cases.map((u) => (
            <option key={u.id} value={u.id}>
              {u.name}
            </option>
          ))}
        </select>
        <label htmlFor={`${id}-from`}>From</label>
        <input
          id={`${id}-from`}
          type="datetime-local"
          value={draft.from}
          onChange={(e) => setDraft({ ...draft, from: e.target.value })}
        />
        <label htmlFor={`${id}-to`}>To</label>
        <input
          id={`${id}-to`}
          type="datetime-local"
          value={draft.to}
          onChange={(e) => setDraft({ ...draft, to: e.target.value })}
        />
        <label htmlFor={`${id}-corr`}>Correlation id</label>
        <input
          id={`${id}-corr`}
          value={draft.correlation_id}
          onChange={(e) => setDraft({ ...draft, correlation_id: e.target.value })}
        />
        <button type="submit">Search</button>
      </form>
      <ErrorMessage error={first.error ?? error} />
      <Section
        title={`Outcomes (${pages.length}${cursor ? '+' : ''})`}
        actions={
          <span className="buttons">
            <span>{selected.size} selected</span>
            <button
              type="button"
              disabled={pages.length === 0}
              onClick={() => setSelected(new Set(pages.map((o) => o.event_id)))}
            >
              Select all shown
            </button>
            <button type="button" disabled={selected.size === 0} onClick={() => setSelected(new Set())}>
              Clear selection
            </button>
            <button
              type="button"
              disabled={selected.size === 0 || selected.size > MAX_REPLAY}
              onClick={() => void replay()}
            >
              Replay selected
            </button>
          </span>
        }
      >
        {selected.size > MAX_REPLAY && (
          <p className="error" role="alert">
            At most {MAX_REPLAY} events can be replayed at once; {selected.size} are selected.
          </p>
        )}
        {first.data && pages.length === 0 && <p>No events match these filters.</p>}
        {pages.length > 0 && (
          <table className="events">
            <thead>
              <tr>
                <th>Replay</th>
                <th>Completed</th>
                <th>Event</th>
                <th>Use case</th>
                <th>Status</th>
                <th>Error</th>
                <th>Took</th>
                <th>Trace</th>
              </tr>
            </thead>
            <tbody>
              {pages.map((o) => (
                <tr key={o.id}>
                  <td>
                    <input
                      type="checkbox"
                      aria-label={`select ${o.event_id}`}
                      checked={selected.has(o.event_id)}
                      onChange={() => toggle(o.event_id)}
                    />
                  </td>
                  <td>{time(o.completed_at)}</td>
                  <td>
                    <code>{o.event_id}</code>
                    <div className="muted">{o.object_type}</div>
                  </td>
                  <td>{o.use_case_id ? (names.get(o.use_case_id) ?? o.use_case_id) : 'none'}</td>
                  <td>
                    <Status value={o.status} />
                  </td>
                  <td>
                    {o.error_code && <code>{o.error_code}</code>} {o.error_message}
                  </td>
                  <td>{o.processing_duration_ms ?? ''} ms</td>
                  <td>
                    {o.correlation_id && (
                      <a href={href('integrations', integrationId, 'traces', o.correlation_id)}>Trace</a>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        {cursor !== null && (
          <button type="button" onClick={() => void more()}>
            Load more
          </button>
        )}
      </Section>
      {replayed && (
        <Section title="Replay result">
          <table>
            <thead>
              <tr>
                <th>Event</th>
                <th>Result</th>
                <th>New event</th>
                <th>Message</th>
              </tr>
            </thead>
            <tbody>
              {replayed.map((r) => (
                <tr key={r.event_id}>
                  <td>
                    <code>{r.event_id}</code>
                  </td>
                  <td>
                    <Status value={r.status} />
                  </td>
                  <td>
                    {r.replay_event_id && <code>{r.replay_event_id}</code>}{' '}
                    {r.correlation_id && (
                      <a href={href('integrations', integrationId, 'traces', r.correlation_id)}>
                        Trace of the replay
                      </a>
                    )}
                  </td>
                  <td>{r.message}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </Section>
      )}
    </>
  );
}
