import { type ApiClient, apiClient } from './http.js';
import { type StackEndpoints, testToken, uniqueName } from './stack.js';

/** A fresh organisation with one integration and one enabled inbound use case (see `orgWithUseCase`). */
export interface OrgWithUseCase {
  org: string;
  /** A token of the organisation with both grants, and a client of the public API with it. */
  token: string;
  api: ApiClient;
  integrationId: string;
  useCaseId: string;
  /** Sends one event with this payload (an object is sent as JSON text); its event id once accepted. */
  send(payload: unknown): Promise<string>;
}

/**
 * A new organisation (`prefix` and a random part) whose one integration has one enabled inbound use case
 * mapping with `configuration`; its events are UPDATEs of `objectType`. Throws, naming the answer, when the
 * integration is not created or an event not accepted.
 */
export async function orgWithUseCase(
  stack: StackEndpoints,
  prefix: string,
  configuration: unknown,
  { objectType = 'customer', useCaseName = 'customer' } = {},
): Promise<OrgWithUseCase> {
  const org = uniqueName(prefix);
  const token = testToken(stack, org);
  const api = apiClient(stack.baseUrl, token);
  const created = await api.request<{ id: string; use_cases: Array<{ id: string }> }>(
    'POST',
    '/v2/integrations',
    {
      name: prefix,
      use_cases: [{ name: useCaseName, type: 'inbound', enabled: true, configuration }],
    },
  );
  if (created.status !== 201) {
    throw new Error(`integration not created: ${created.status} ${JSON.stringify(created.body)}`);
  }
  const integrationId = created.body.id;
  const send = async (payload: unknown) => {
    const res = await api.request<{ results: Array<{ status: string; event_id: string }> }>(
      'POST',
      '/v2/erp/updates/events',
      {
        integration_id: integrationId,
        events: [
          {
            event_type: 'UPDATE',
            object_type: objectType,
            timestamp: new Date().toISOString(),
            format: 'json',
            payload: typeof payload === 'string' ? payload : JSON.stringify(payload),
          },
        ],
      },
    );
    const result = res.body.results?.[0];
    if (res.status !== 200 || result?.status !== 'success') {
      throw new Error(`event not accepted: ${res.status} ${JSON.stringify(res.body)}`);
    }
    return result.event_id;
  };
  return { org, token, api, integrationId, useCaseId: created.body.use_cases[0]!.id, send };
}
