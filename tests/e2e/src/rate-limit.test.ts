import { apiClient, resolveStack, testToken, uniqueName } from '@hub/testing';
import { describe, expect, it } from 'vitest';

const stack = resolveStack();

describe('rate limit (decision 8)', () => {
  it('answers 429 with Retry-After past 1,000 requests a minute for one organisation, and not for another', async () => {
    const api = apiClient(stack.baseUrl, testToken(stack, uniqueName('busy')));
    // Start at the beginning of a minute window so all requests fall into one window.
    const intoWindow = Date.now() % 60_000;
    if (intoWindow > 40_000) await new Promise((r) => setTimeout(r, 60_000 - intoWindow + 100));
    const statuses: number[] = [];
    for (let batch = 0; batch < 21; batch++) {
      const results = await Promise.all(
        Array.from({ length: 50 }, () => api.request('GET', '/v2/integrations')),
      );
      statuses.push(...results.map((r) => r.status));
    }
    expect(statuses.filter((s) => s === 200)).toHaveLength(1000);
    expect(statuses.filter((s) => s === 429)).toHaveLength(50);

    const limited = await api.request<{ code: string; message: string }>(
      'POST',
      '/v2/erp/updates/events',
      // a valid body, so only the limit (counted across services) can refuse it
      { integration_id: '6b0c3f5b-312b-40ec-94ca-1b4a00000000', events: [] },
    );
    expect(limited.status).toBe(429);
    expect(limited.body.code).toBe('RATE_LIMITED');
    expect(limited.body.message).toContain('1000 requests per minute per organisation');
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);

    const other = apiClient(stack.baseUrl, testToken(stack, uniqueName('calm')));
    expect((await other.request('GET', '/v2/integrations')).status).toBe(200);
  }, 120_000);
});
