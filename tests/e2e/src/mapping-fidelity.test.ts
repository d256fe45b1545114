/**
 * Issue 20 on the running stack: XML text as written, JSONPath per RFC 9535, no update dropped silently
 * (simulation warnings, monitoring records), and entity reads by unique id at the entity's derived `_id`.
 */
import { randomUUID } from 'node:crypto';
import { MongoStore } from '@hub/mongo';
import { createLogger } from '@hub/observability';
import { eventually, orgWithUseCase, resolveStack } from '@hub/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { contractErrors } from './contract.js';

const stack = resolveStack();
let store: MongoStore;

beforeAll(async () => {
  store = await MongoStore.connect({
    url: stack.mongoUrl,
    logger: createLogger({ service: 'mapping-fidelity-test', level: 'error' }),
    appName: 'mapping-fidelity-test',
  });
});
afterAll(async () => {
  await store?.close();
});

type Entity = { _id: string } & Record<string, unknown>;

const contact = {
  entity_schema: 'contact',
  unique_ids: ['customer_number'],
  fields: [
    { attribute: 'customer_number', field: 'customerId' },
    { attribute: 'first_name', field: 'firstName' },
    { attribute: 'email', field: 'email', _type: 'email' },
  ],
};

describe('XML text and RFC 9535 JSONPath through the pipeline', () => {
  it('stores an IDoc customer with its name decoded, its sales organisations from a wildcard path', async () => {
    const { api, integrationId } = await orgWithUseCase(stack, 'idoc', {
      entities: [
        {
          entity_schema: 'account',
          unique_ids: ['customer_number'],
          fields: [
            { attribute: 'customer_number', field: '$.DEBMAS06.IDOC.E1KNA1M.KUNNR' },
            { attribute: 'name', field: '$..NAME1' },
            { attribute: 'sales_orgs', field: '$.DEBMAS06.IDOC.E1KNA1M.E1KNVVM[*].VKORG' },
            { attribute: 'segment', field: '$.DEBMAS06.IDOC.E1KNA1M.@_SEGMENT' },
          ],
        },
      ],
    });
    const idoc = `<?xml version="1.0" encoding="UTF-8"?><DEBMAS06><IDOC BEGIN="1"><E1KNA1M SEGMENT="1">
      <KUNNR>0000100042</KUNNR><NAME1>M&#252;ller &amp; S&#xF6;hne GmbH</NAME1>
      <E1KNVVM SEGMENT="1"><VKORG>1000</VKORG></E1KNVVM><E1KNVVM SEGMENT="1"><VKORG>2000</VKORG></E1KNVVM>
      </E1KNA1M></IDOC></DEBMAS06>`;
    const res = await api.request<{ results: Array<{ status: string }> }>('POST', '/v2/erp/updates/events', {
      integration_id: integrationId,
      events: [
        {
          event_type: 'UPDATE',
          object_type: 'customer',
          timestamp: new Date().toISOString(),
          format: 'xml',
          payload: idoc,
        },
      ],
    });
    expect(res.body.results.map((r) => r.status)).toEqual(['success']);
    const account = await eventually(
      async () =>
        (await api.request<{ results: Entity[] }>('GET', '/v1/entity/account?customer_number=0000100042'))
          .body.results[0],
      45_000,
      'the IDoc account',
    );
    expect(account).toMatchObject({
      customer_number: '0000100042',
      name: 'Müller & Söhne GmbH',
      sales_orgs: ['1000', '2000'],
      segment: '1',
    });
  });

  it('refuses an invalid JSONPath at save (400) and in a simulation (422), naming the path', async () => {
    const { api, integrationId } = await orgWithUseCase(stack, 'bad-path', { entities: [contact] });
    const bad = {
      entities: [{ ...contact, fields: [...contact.fields, { attribute: 'x', field: '$.items[?@.a ==]' }] }],
    };
    const saved = await api.request<{ message: string }>(
      'POST',
      `/v1/integrations/${integrationId}/use-cases`,
      {
        name: 'bad path',
        type: 'inbound',
        enabled: true,
        configuration: bad,
      },
    );
    expect(saved.status).toBe(400);
    expect(saved.body.message).toContain('configuration.entities[0].fields[3].field');
    expect(saved.body.message).toContain('invalid JSONPath $.items[?@.a ==]');
    const simulated = await api.request<{ message: string }>('POST', '/v2/erp/updates/mapping_simulation', {
      event_configuration: bad,
      format: 'json',
      payload: '{}',
    });
    expect(simulated.status).toBe(422);
    expect(simulated.body.message).toContain(
      'event_configuration.entities[0].fields[3].field: invalid JSONPath $.items[?@.a ==]',
    );
  });
});

describe('no update dropped silently', () => {
  const readings = {
    jsonataExpression: 'readings',
    meter: { unique_ids: [{ attribute: 'meter_number', field: 'meter' }] },
    fields: [
      { attribute: 'external_id', field: 'id' },
      { attribute: 'timestamp', field: 'at' },
      { attribute: 'source', constant: 'ERP' },
      { attribute: 'value', field: 'kwh' },
      { attribute: 'reason', field: 'why' },
    ],
  };
  const meter = {
    entity_schema: 'meter',
    unique_ids: ['meter_number'],
    fields: [{ attribute: 'meter_number', field: 'meter' }],
  };
  const payload = {
    meter: 'M-20',
    readings: ['R1', 'R2', 'R3', 'R4'].map((id, i) => ({
      meter: 'M-20',
      id,
      at: `2025-0${i + 1}-01`,
      kwh: 100 + i,
      why: 'monthly_billing',
    })),
  };

  it('a simulation keeps readings with an undocumented reason and warns, and lists what it dropped (schema-valid)', async () => {
    const { api } = await orgWithUseCase(stack, 'sim-warnings', { entities: [contact] });
    const res = await api.request<{
      meter_readings_updates: Array<{ attributes: Record<string, unknown> }>;
      warnings: Array<{ entity_schema: string; field: string; message: string }>;
    }>('POST', '/v2/erp/updates/mapping_simulation', {
      event_configuration: { entities: [contact], meter_readings: [readings] },
      format: 'json',
      payload: JSON.stringify(payload),
    });
    expect(res.status).toBe(200);
    expect(contractErrors('simulateMappingV2', res.status, res.body)).toEqual([]);
    expect(res.body.meter_readings_updates.map((u) => u.attributes.reason)).toEqual([
      'monthly_billing',
      'monthly_billing',
      'monthly_billing',
      'monthly_billing',
    ]);
    expect(res.body.warnings.filter((w) => w.field === 'reason')).toHaveLength(4);
    expect(res.body.warnings[0]!.message).toMatch(
      /^meter_readings\[0\]\.fields\[4\] \(reading 0\): reason "monthly_billing" is not one of the documented values \(regular, irregular/,
    );
    expect(res.body.warnings.at(-1)).toEqual({
      entity_schema: 'contact',
      field: 'customer_number',
      message:
        'entities[0]: update dropped, UNIQUE_ID_MISSING: unique id "customer_number" of contact has no value in this event',
    });
  });

  it('processing stores the readings as given and the event’s monitoring record lists the warnings', async () => {
    const { api, integrationId, send } = await orgWithUseCase(stack, 'run-warnings', {
      entities: [meter],
      meter_readings: [readings],
    });
    const eventId = await send(payload);
    type Span = {
      event_id: string;
      stage: string;
      level: string;
      code: string;
      message: string;
      detail: Record<string, unknown>;
    };
    const mapped = await eventually(
      async () => {
        const res = await api.request<{ monitoring_events: Span[] }>(
          'GET',
          `/v2/integrations/${integrationId}/monitoring/events/${eventId}/associated`,
        );
        return res.body.monitoring_events?.find((s) => s.stage === 'mapped');
      },
      45_000,
      'the mapped record',
    );
    expect(mapped).toMatchObject({ level: 'warning', code: 'MAPPING_WARNINGS' });
    expect(mapped.message).toContain(
      'mapped to 5 updates; 4 warnings: meter_readings[0].fields[4] (reading 0): reason "monthly_billing" is not one of the documented values',
    );
    expect((mapped.detail.warning_list as unknown[]).length).toBe(4);
    const { _id: meterId } = await eventually(
      async () =>
        (await api.request<{ results: Entity[] }>('GET', '/v1/entity/meter?meter_number=M-20')).body
          .results[0],
      45_000,
      'the meter',
    );
    const stored = await eventually(
      async () => {
        const res = await api.request<{ results: Array<Record<string, unknown>> }>(
          'GET',
          `/v1/entity/meter/${meterId}/meter-readings`,
        );
        return res.body.results?.length === 4 ? res.body.results : undefined;
      },
      45_000,
      'four stored readings',
    );
    expect(stored.map((r) => r.reason)).toEqual(Array(4).fill('monthly_billing'));
  });
});

describe('entity reads by unique id', () => {
  it('reads the entity at its derived id; a search on another attribute still queries the attributes', async () => {
    const { api, org, send } = await orgWithUseCase(stack, 'reads', { entities: [contact] });
    await send({ customerId: 'R-1', firstName: 'Ada', email: 'ada@example.com' });
    const read = (query: string) =>
      api.request<{ results: Entity[]; next_cursor?: string }>('GET', `/v1/entity/contact?${query}`);
    const entity = await eventually(
      async () => (await read('customer_number=R-1')).body.results[0],
      45_000,
      'the contact',
    );
    // An entity with the same values that is not at a derived id (as the layout before ADR 9 stored them):
    // a read by unique id does not see it, a query on the attributes does.
    const stray = randomUUID();
    await store.db.collection<{ _id: string } & Record<string, unknown>>('entities').insertOne({
      _id: stray,
      _org: org,
      _schema: 'contact',
      _created_at: new Date().toISOString(),
      _updated_at: new Date().toISOString(),
      _hub: { version: 1, applied: [] },
      customer_number: 'R-1',
      first_name: 'Ada',
    });
    expect((await read('customer_number=R-1')).body.results.map((e) => e._id)).toEqual([entity._id]);
    expect((await read('first_name=Ada')).body.results.map((e) => e._id).sort()).toEqual(
      [entity._id, stray].sort(),
    );
    expect((await read('email=ada%40example.com')).body.results.map((e) => e._id)).toEqual([entity._id]);
    expect((await read('customer_number=R-404')).body.results).toEqual([]);
    expect((await read(`customer_number=R-1&cursor=${entity._id}`)).body.results).toEqual([]);
    expect((await read('customer_number=R-1&first_name=Ada')).body.results).toHaveLength(2);
  });

  it('finds an entity created under another set of unique ids by the attributes', async () => {
    const { api, send } = await orgWithUseCase(stack, 'reads-sets', {
      entities: [
        { ...contact, enabled: '$exists(byNumber)' },
        { ...contact, unique_ids: ['email'], enabled: '$exists(byEmail)' },
      ],
    });
    await send({ byNumber: true, customerId: 'S-1', email: 's1@example.com' });
    await send({ byEmail: true, customerId: 'S-2', email: 's2@example.com' });
    const read = async (query: string) =>
      (await api.request<{ results: Entity[] }>('GET', `/v1/entity/contact?${query}`)).body.results;
    const byEmail = await eventually(
      async () => (await read('email=s2%40example.com'))[0],
      45_000,
      'the contact created by email',
    );
    await eventually(async () => (await read('customer_number=S-1'))[0], 45_000, 'the contact by number');
    expect((await read('customer_number=S-2')).map((e) => e._id)).toEqual([byEmail._id]);
  });
});
