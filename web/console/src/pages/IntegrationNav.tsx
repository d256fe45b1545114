import { api, type Integration, paths } from '../api';
import { useLoad } from '../hooks';
import { href } from '../router';

/** The integration's name and its tabs, on every page of an integration. */
export function IntegrationNav({ integrationId, current }: { integrationId: string; current: string }) {
  const integration = useLoad(() => api<Integration>('GET', paths.integration(integrationId)), integrationId);
  const tabs = [
    ['Use cases', href('integrations', integrationId)],
    ['Events', href('integrations', integrationId, 'events')],
    ['Monitoring', href('integrations', integrationId, 'monitoring')],
  ] as const;
  return (
    <div className="integration-nav">
      <p className="crumbs">
        <a href={href()}>Integrations</a> / <strong>{integration.data?.name ?? '…'}</strong>
      </p>
      <nav aria-label="Integration">
        {tabs.map(([label, link]) => (
          <a key={label} href={link} aria-current={label === current ? 'page' : undefined}>
            {label}
          </a>
        ))}
      </nav>
    </div>
  );
}
