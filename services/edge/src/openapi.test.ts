import { describe, expect, it } from 'vitest';
import { buildOpenApi, SERVED_OPERATIONS } from './openapi.js';

describe('our OpenAPI document', () => {
  const doc = buildOpenApi('http://127.0.0.1:8080') as {
    servers: Array<{ url: string }>;
    paths: Record<string, Record<string, { operationId?: string }>>;
  };
  const operationIds = Object.values(doc.paths).flatMap((item) =>
    Object.values(item).flatMap((op) =>
      op && typeof op === 'object' && op.operationId ? [op.operationId] : [],
    ),
  );

  it('keeps every served operation of the reference under its own path and id, and nothing else of it', () => {
    for (const id of SERVED_OPERATIONS) expect(operationIds).toContain(id);
    expect(operationIds).not.toContain('pollOutboundMessages');
    expect(operationIds).not.toContain('createErpImport');
    expect(doc.paths['/v2/erp/updates/events']?.post?.operationId).toBe('processErpUpdatesEventsV2');
  });

  it('adds our entity reads and probes, with our base URL', () => {
    expect(operationIds).toEqual(
      expect.arrayContaining(['getEntity', 'searchEntities', 'getPipeline', 'liveness', 'readiness']),
    );
    expect(doc.servers).toEqual([{ url: 'http://127.0.0.1:8080' }]);
  });

  it("documents a use case's status and quarantine as optional fields, leaving the reference's as they are", () => {
    const schemas = (doc as unknown as { components: { schemas: Record<string, Record<string, unknown>> } })
      .components.schemas;
    const base = schemas.UseCaseBase as { required: string[]; properties: Record<string, unknown> };
    expect(base.properties).toMatchObject({
      status: { enum: ['active', 'quarantined'] },
      quarantined_since: { format: 'date-time' },
      quarantine_reason: { type: 'string' },
    });
    expect(base.required).not.toContain('status');
    expect(base.properties.name).toMatchObject({ type: 'string' });
  });
});
