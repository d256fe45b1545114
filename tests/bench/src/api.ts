import { Topics } from '@hub/contracts';
import { signToken } from '@hub/http';
import { apiClient, collectTopic, eventually } from '@hub/testing';
import { GUIDE_INTEGRATION, GUIDE_USE_CASE, type Target } from './fixtures.js';

/** What one events request got: the per-event results, or the status of a refusal, or no answer. */
export interface PostOutcome {
  status: number | 'no answer';
  results?: Array<{ event_id: string; status: string }>;
}

/**
 * An organisation with the guide's integration and use case, created through the public API exactly as
 * the guide's first two requests do.
 */
export async function createTarget(
  baseUrl: string,
  auth: { secret: string; issuer: string; audience: string },
  org: string,
  grouped: boolean,
): Promise<Target> {
  const token = signToken({ ...auth, orgId: org, expiresInSeconds: 24 * 3600 });
  const api = apiClient(baseUrl, token);
  const integration = await api.request<{ id?: string }>('POST', '/v2/integrations', GUIDE_INTEGRATION);
  if (integration.status !== 201 || !integration.body.id) {
    throw new Error(`creating an integration: ${integration.status} ${JSON.stringify(integration.body)}`);
  }
  const integrationId = integration.body.id;
  const useCase = await api.request<{ id?: string; slug?: string }>(
    'POST',
    `/v1/integrations/${integrationId}/use-cases`,
    GUIDE_USE_CASE,
  );
  if (useCase.status !== 201 || !useCase.body.id || !useCase.body.slug) {
    throw new Error(`creating the use case: ${useCase.status} ${JSON.stringify(useCase.body)}`);
  }
  return { org, token, integrationId, useCaseId: useCase.body.id, useCaseSlug: useCase.body.slug, grouped };
}

/** `POST /v3/erp/updates/events` of one batch; never throws for a refusal or a lost answer. */
export async function postEvents(baseUrl: string, target: Target, events: unknown[]): Promise<PostOutcome> {
  try {
    const res = await fetch(`${baseUrl}/v3/erp/updates/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${target.token}` },
      body: JSON.stringify({ integration_id: target.integrationId, events }),
      signal: AbortSignal.timeout(120_000),
    });
    const text = await res.text();
    if (res.status !== 200) return { status: res.status };
    return { status: 200, results: (JSON.parse(text) as { results: PostOutcome['results'] }).results };
  } catch {
    return { status: 'no answer' };
  }
}

/** The integration's configuration revision as published on `erp.config.changes` (what the gateway routes with). */
export async function configRevision(brokers: string[], integrationId: string): Promise<number> {
  const changes = await collectTopic(brokers, Topics.configChanges);
  try {
    return await eventually(
      async () => {
        const revisions = changes
          .values<{ integration?: { id: string; revision: number } }>(
            (v) => v.integration?.id === integrationId,
          )
          .map((v) => v.integration!.revision);
        return revisions.length > 0 ? Math.max(...revisions) : undefined;
      },
      30_000,
      `the configuration snapshot of ${integrationId}`,
    );
  } finally {
    await changes.stop();
  }
}

/** The contact with this customer number as the entity API serves it (undefined while there is none). */
export async function readContact(
  baseUrl: string,
  target: Target,
  customer: string,
): Promise<Record<string, unknown> | undefined> {
  const res = await apiClient(baseUrl, target.token).request<{ results?: Array<Record<string, unknown>> }>(
    'GET',
    `/v1/entity/contact?customer_number=${encodeURIComponent(customer)}`,
  );
  return res.status === 200 ? res.body.results?.[0] : undefined;
}
