import { api, paths } from '../api';
import { ErrorMessage, Json } from '../components';
import { useLoad } from '../hooks';

export function EntityPage({ slug, id }: { slug: string; id: string }) {
  const entity = useLoad(
    () => api<{ entity: Record<string, unknown> }>('GET', paths.entity(slug, id)),
    `${slug}:${id}`,
  );
  const attributes = Object.entries(entity.data?.entity ?? {}).filter(([k]) => !k.startsWith('_'));
  return (
    <>
      <h1>
        Entity {slug} <code>{id}</code>
      </h1>
      <ErrorMessage error={entity.error} />
      {entity.data && (
        <>
          <table className="attributes">
            <tbody>
              {attributes.map(([k, v]) => (
                <tr key={k}>
                  <th scope="row">{k}</th>
                  <td>{typeof v === 'string' ? v : <code>{JSON.stringify(v)}</code>}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <details>
            <summary>The whole entity (JSON)</summary>
            <Json value={entity.data.entity} />
          </details>
        </>
      )}
    </>
  );
}
