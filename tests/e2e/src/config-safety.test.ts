/**
 * Issue 10, items 11 and 12 on the real stack through the edge: the guide's curl style (Content-Type on
 * every request) deletes; no framework error code reaches a client; a declarative PUT reveals nothing of
 * another organisation's use cases and leaves nothing half-written when it fails.
 */
import { randomUUID } from 'node:crypto';
import { apiClient, resolveStack, testToken, uniqueName } from '@hub/testing';
import { describe, expect, it } from 'vitest';

const stack = resolveStack();

interface UseCase {
  id: string;
  name: string;
  slug: string;
}
interface V2Integration {
  id: string;
  name: string;
  use_cases: UseCase[];
}

const newOrg = (prefix: string) => apiClient(stack.baseUrl, testToken(stack, uniqueName(prefix)));
const useCase = (name: string, extra: Record<string, unknown> = {}) => ({
  name,
  type: 'inbound',
  enabled: true,
  configuration: {
    entities: [
      {
        entity_schema: 'contact',
        unique_ids: ['customer_number'],
        fields: [{ attribute: 'customer_number', field: 'id' }],
      },
    ],
  },
  ...extra,
});

describe('the guide’s curl style', () => {
  it('deletes a use case and an integration with Content-Type: application/json and no body', async () => {
    const api = newOrg('curl');
    const created = await api.request<V2Integration>('POST', '/v2/integrations', {
      name: 'curl',
      use_cases: [useCase('customer')],
    });
    expect(created.status).toBe(201);
    const json = { 'content-type': 'application/json' };
    const ucPath = `/v1/integrations/${created.body.id}/use-cases/${created.body.use_cases[0]!.id}`;
    const deletedUseCase = await api.request('DELETE', ucPath, undefined, json);
    expect(deletedUseCase.status).toBe(200);
    const deleted = await api.request('DELETE', `/v2/integrations/${created.body.id}`, undefined, json);
    expect(deleted.status).toBe(200);
    expect((await api.request('GET', `/v2/integrations/${created.body.id}`)).status).toBe(404);
  });

  it('answers body problems with our codes, never FST_ERR_*', async () => {
    const api = newOrg('body');
    for (const [body, type, status] of [
      ['{"name":', 'application/json', 400],
      ['name,x', 'text/csv', 415],
    ] as const) {
      const res = await api.request<{ code: string; message: string }>('POST', '/v2/integrations', body, {
        'content-type': type,
      });
      expect(res.status, type).toBe(status);
      expect(res.body.code, type).not.toMatch(/^FST_/);
      expect(res.body.message.length, type).toBeGreaterThan(10);
    }
  });
});

describe('a declarative PUT', () => {
  it('answers the same for another organisation’s use-case id as for an id no one has', async () => {
    const victim = newOrg('victim');
    const theirs = await victim.request<V2Integration>('POST', '/v2/integrations', {
      name: 'victim',
      use_cases: [useCase('secret', { slug: 'secret' })],
    });
    const victimUseCase = theirs.body.use_cases[0]!;

    const attacker = newOrg('attacker');
    const mine = await attacker.request<V2Integration>('POST', '/v2/integrations', { name: 'mine' });
    const put = (id: string) =>
      attacker.request<V2Integration & { code?: string }>('PUT', `/v2/integrations/${mine.body.id}`, {
        name: 'mine',
        use_cases: [{ id, ...useCase('probe', { slug: 'probe' }) }],
      });
    const known = await put(victimUseCase.id);
    const unknown = await put(randomUUID());
    expect(known.status).toBe(200);
    expect(unknown.status).toBe(200);
    // Each PUT is the desired state: one use case, created afresh under a new id in the attacker's integration.
    for (const res of [known, unknown]) {
      expect(res.body.use_cases).toHaveLength(1);
      expect(res.body.use_cases[0]!.id).not.toBe(victimUseCase.id);
    }
    // The victim's use case is untouched.
    const after = await victim.request<V2Integration>('GET', `/v2/integrations/${theirs.body.id}`);
    expect(after.body.use_cases).toEqual([expect.objectContaining({ id: victimUseCase.id, name: 'secret' })]);
  });

  it('that fails leaves the integration and its use cases exactly as they were', async () => {
    const api = newOrg('atomic');
    const created = await api.request<V2Integration>('POST', '/v2/integrations', {
      name: 'before',
      use_cases: [useCase('kept', { slug: 'kept' }), useCase('other', { slug: 'other' })],
    });
    const before = await api.request<V2Integration>('GET', `/v2/integrations/${created.body.id}`);
    const kept = created.body.use_cases.find((u) => u.slug === 'kept')!;
    const attempts: Array<[string, unknown[], number, RegExp]> = [
      // two new use cases with one slug: the second would fail after the first was written
      [
        'slug clash',
        [useCase('a', { slug: 'dup' }), useCase('b', { slug: 'dup' })],
        409,
        /use_cases\[1\]\.slug/,
      ],
      // a new use case taking the slug of one that is kept
      [
        'kept slug',
        [{ id: kept.id, ...useCase('kept') }, useCase('c', { slug: 'kept' })],
        409,
        /use_cases\[1\]\.slug/,
      ],
      // the third is invalid: nothing of the first two may be written
      [
        'invalid third',
        [useCase('x'), { id: kept.id, ...useCase('renamed') }, useCase('y', { type: 'nonsense' })],
        400,
        /use_cases\[2\]\.type/,
      ],
      [
        'same id twice',
        [
          { id: kept.id, ...useCase('k1') },
          { id: kept.id, ...useCase('k2') },
        ],
        400,
        /listed twice/,
      ],
    ];
    for (const [name, useCases, status, message] of attempts) {
      const res = await api.request<{ code: string; message: string }>(
        'PUT',
        `/v2/integrations/${created.body.id}`,
        {
          name: 'after',
          use_cases: useCases,
        },
      );
      expect(res.status, name).toBe(status);
      expect(res.body.message, name).toMatch(message);
      const now = await api.request<V2Integration>('GET', `/v2/integrations/${created.body.id}`);
      expect(now.body, name).toEqual(before.body);
    }
  });
});

describe('limits on what one organisation stores and sends', () => {
  it('refuses a configuration over the size quota, too many use cases and over-long strings, naming each', async () => {
    const api = newOrg('quota');
    const big = useCase('big', {
      configuration: {
        entities: [
          {
            entity_schema: 'contact',
            unique_ids: ['customer_number'],
            fields: [
              { attribute: 'customer_number', field: 'id' },
              { attribute: 'blob', jsonataExpression: `"${'a'.repeat(300_000)}"` },
            ],
          },
        ],
      },
    });
    const checks: Array<[string, unknown, RegExp]> = [
      [
        'configuration size',
        { name: 'q', use_cases: [big] },
        /use_cases\[0\]\.configuration: \d+ bytes of JSON, over the limit of 262144 bytes/,
      ],
      [
        'use-case count',
        { name: 'q', use_cases: Array.from({ length: 101 }, (_, i) => useCase(`u${i}`)) },
        /at most 100 use cases/,
      ],
    ];
    for (const [name, body, message] of checks) {
      const res = await api.request<{ code: string; message: string }>('POST', '/v2/integrations', body);
      expect(res.status, name).toBe(400);
      expect(res.body.code, name).toBe('LIMIT_EXCEEDED');
      expect(res.body.message, name).toMatch(message);
    }
    const created = await api.request<V2Integration>('POST', '/v2/integrations', {
      name: 'q',
      use_cases: [useCase('c')],
    });
    const long = await api.request<{ code: string; message: string }>('POST', '/v2/erp/updates/events', {
      integration_id: created.body.id,
      events: [
        {
          event_type: 'UPDATE',
          object_type: 'x'.repeat(300),
          timestamp: new Date().toISOString(),
          format: 'json',
          payload: '{"id":"1"}',
        },
      ],
    });
    expect(long.status).toBe(400);
    expect(long.body.message).toMatch(/events\[0\]\.object_type: must NOT have more than 255 characters/);
  });
});
