import { describe, expect, it } from 'vitest';
import { PayloadError } from './payload.js';
import { ConfigurationError, simulate } from './simulate.js';

/** The reference's `advanced_with_relations` + `with_meter_readings` examples, combined. */
const configuration = {
  entities: [
    {
      entity_schema: 'contract',
      unique_ids: ['contract_number'],
      fields: [
        { attribute: 'contract_number', field: 'number' },
        { attribute: 'display_name', field: 'displayName' },
        {
          attribute: 'billing_account',
          relations: {
            operation: '_set',
            items: [
              {
                entity_schema: 'billing_account',
                _tags: ['PRIMARY'],
                unique_ids: [{ attribute: 'external_id', field: 'customerAccountId' }],
              },
            ],
          },
        },
      ],
    },
    {
      entity_schema: 'meter',
      unique_ids: ['meter_number'],
      jsonataExpression: 'meters.{"number": number, "type": meterType}',
      mode: 'upsert-prune-scope-delete',
      scope: {
        scope_mode: 'relations',
        schema: 'contract',
        unique_ids: [{ attribute: 'contract_number', field: 'number' }],
      },
      fields: [
        { attribute: 'meter_number', field: 'number' },
        { attribute: 'meter_type', field: 'type' },
      ],
    },
  ],
  meter_readings: [
    {
      jsonataExpression: '$.readings',
      reading_matching: 'strict-date',
      meter: { unique_ids: [{ attribute: 'external_id', field: 'meter_id' }] },
      fields: [
        { attribute: 'external_id', field: 'reading_id' },
        { attribute: 'timestamp', field: 'read_at' },
        { attribute: 'source', constant: 'ERP' },
        { attribute: 'value', field: 'value' },
      ],
    },
  ],
};

const payload = JSON.stringify({
  number: 'CTR-001',
  displayName: 'Premium Contract',
  customerAccountId: 'ACC-999',
  meters: [
    { number: 'M-001', meterType: 'electricity' },
    { number: 'M-002', meterType: 'gas' },
  ],
  readings: [
    { meter_id: 'M-001', reading_id: 'R-001', read_at: '2025-01-15T10:00:00Z', value: 12345.6 },
    { meter_id: 'M-001', reading_id: 'R-002', read_at: '15.01.2025', value: 1 },
  ],
});

describe('simulate', () => {
  it('returns exactly the MappingSimulationResponse shape, failures beside it', async () => {
    const { response, failures } = await simulate(configuration, payload, 'json');
    expect(response).toStrictEqual({
      entity_updates: [
        {
          entity_slug: 'contract',
          unique_identifiers: { contract_number: 'CTR-001' },
          attributes: {
            contract_number: 'CTR-001',
            display_name: 'Premium Contract',
            billing_account: {
              $relation: {
                _set: [
                  {
                    $entity_unique_ids: { external_id: 'ACC-999' },
                    _schema: 'billing_account',
                    _tags: ['PRIMARY'],
                  },
                ],
              },
            },
          },
          mode: 'upsert',
        },
        {
          entity_slug: 'meter',
          unique_identifiers: { meter_number: 'M-001' },
          attributes: { meter_number: 'M-001', meter_type: 'electricity' },
          mode: 'upsert',
        },
        {
          entity_slug: 'meter',
          unique_identifiers: { meter_number: 'M-002' },
          attributes: { meter_number: 'M-002', meter_type: 'gas' },
          mode: 'upsert',
        },
      ],
      meter_readings_updates: [
        {
          meter: { $entity_unique_ids: { external_id: 'M-001' } },
          attributes: {
            external_id: 'R-001',
            timestamp: '2025-01-15T10:00:00.000Z',
            source: 'ERP',
            value: 12345.6,
          },
          mode: 'upsert',
        },
      ],
      prune_scope_updates: [
        {
          entity_slug: 'meter',
          scope: { scope_mode: 'relations', schema: 'contract', unique_ids: { contract_number: 'CTR-001' } },
          keep_unique_ids: [{ meter_number: 'M-001' }, { meter_number: 'M-002' }],
          deletion_mode: 'delete',
        },
      ],
      meter_readings_prune_scope_updates: [],
      warnings: [
        {
          entity_schema: 'meter_reading',
          field: 'timestamp',
          message:
            'meter_readings[0] (element 1): update dropped, METER_READING_INVALID: timestamp "15.01.2025" is not ISO 8601 (YYYY-MM-DD or YYYY-MM-DDTHH:mm:ss[.sss][Z|±HH:mm]); convert it with a jsonataExpression',
        },
      ],
    });
    expect(failures).toEqual([
      {
        code: 'METER_READING_INVALID',
        entity_schema: 'meter_reading',
        entity_index: 0,
        section: 'meter_readings',
        element_index: 1,
        attribute: 'timestamp',
        message:
          'timestamp "15.01.2025" is not ISO 8601 (YYYY-MM-DD or YYYY-MM-DDTHH:mm:ss[.sss][Z|±HH:mm]); convert it with a jsonataExpression',
      },
    ]);
  });

  it('says what it dropped: four readings with an undocumented reason are kept and warned about, an entity without its unique id is a warning (issue 20)', async () => {
    const readings = ['R1', 'R2', 'R3', 'R4'].map((id, i) => ({
      meter: 'M-1',
      id,
      at: `2025-0${i + 1}-01`,
      kwh: 100 + i,
      why: 'monthly_billing',
    }));
    const { response } = await simulate(
      {
        entities: [
          {
            entity_schema: 'contact',
            unique_ids: ['customer_number'],
            fields: [
              { attribute: 'customer_number', field: 'customerId' },
              { attribute: 'name', field: 'name' },
            ],
          },
        ],
        meter_readings: [
          {
            jsonataExpression: 'readings',
            meter: { unique_ids: [{ attribute: 'meter_number', field: 'meter' }] },
            fields: [
              { attribute: 'external_id', field: 'id' },
              { attribute: 'timestamp', field: 'at' },
              { attribute: 'source', constant: 'ERP' },
              { attribute: 'value', field: 'kwh' },
              { attribute: 'reason', field: 'why' },
            ],
          },
        ],
      },
      { name: 'no id', readings },
      'json',
    );
    expect(response.meter_readings_updates.map((u) => u.attributes.reason)).toEqual([
      'monthly_billing',
      'monthly_billing',
      'monthly_billing',
      'monthly_billing',
    ]);
    expect(response.entity_updates).toEqual([]);
    expect(response.warnings).toHaveLength(5);
    expect(response.warnings?.[4]).toEqual({
      entity_schema: 'contact',
      field: 'customer_number',
      message:
        'entities[0]: update dropped, UNIQUE_ID_MISSING: unique id "customer_number" of contact has no value in this event',
    });
    expect(response.warnings?.[0]).toMatchObject({
      entity_schema: 'meter_reading',
      field: 'reason',
      message: expect.stringMatching(
        /^meter_readings\[0\]\.fields\[4\] \(reading 0\): reason "monthly_billing" is not one of the documented values \(regular, .*\); kept as given$/,
      ),
    });
  });

  it('maps an IDoc: decoded text, repeated segments through an RFC 9535 wildcard, an attribute', async () => {
    const idoc = `<DEBMAS06><IDOC BEGIN="1"><E1KNA1M SEGMENT="1"><KUNNR>0000100042</KUNNR>
      <NAME1>M&#252;ller &amp; S&#xF6;hne GmbH</NAME1><NAME2><![CDATA[Einkauf & <Logistik>]]></NAME2>
      <E1KNVVM SEGMENT="1"><VKORG>1000</VKORG></E1KNVVM><E1KNVVM SEGMENT="2"><VKORG>2000</VKORG></E1KNVVM>
      </E1KNA1M></IDOC></DEBMAS06>`;
    const { response } = await simulate(
      {
        entities: [
          {
            entity_schema: 'account',
            unique_ids: ['customer_number'],
            fields: [
              { attribute: 'customer_number', field: '$.DEBMAS06.IDOC.E1KNA1M.KUNNR' },
              { attribute: 'name', field: '$..NAME1' },
              { attribute: 'department', field: '$..NAME2' },
              { attribute: 'sales_orgs', field: '$.DEBMAS06.IDOC.E1KNA1M.E1KNVVM[*].VKORG' },
              { attribute: 'first_segment', field: "$..E1KNVVM[?@['@_SEGMENT']=='1'].VKORG" },
              { attribute: 'idoc_begin', field: '$.DEBMAS06.IDOC.@_BEGIN' },
            ],
          },
        ],
      },
      idoc,
      'xml',
    );
    expect(response.warnings).toEqual([]);
    expect(response.entity_updates[0]?.attributes).toEqual({
      customer_number: '0000100042',
      name: 'Müller & Söhne GmbH',
      department: 'Einkauf & <Logistik>',
      sales_orgs: ['1000', '2000'],
      first_segment: '1000',
      idoc_begin: '1',
    });
  });

  it('refuses an invalid JSONPath as a configuration problem at its path', async () => {
    await expect(
      simulate(
        {
          entities: [
            {
              entity_schema: 'x',
              unique_ids: ['id'],
              fields: [{ attribute: 'id', field: '$.items[?@.a ==]' }],
            },
          ],
        },
        '{}',
      ),
    ).rejects.toMatchObject({
      problems: [
        {
          path: 'configuration.entities[0].fields[0].field',
          message: expect.stringMatching(/^invalid JSONPath \$\.items\[\?@\.a ==\]: /),
        },
      ],
    });
  });

  it.each([
    { format: 'json' as const, payload: { customerId: '12345' } },
    { format: 'json' as const, payload: '{"customerId":"12345"}' },
    { format: 'xml' as const, payload: '<customerId>12345</customerId>' },
  ])('accepts a $format payload given as $payload', async ({ format, payload }) => {
    const { response } = await simulate(
      {
        entities: [
          {
            entity_schema: 'contact',
            unique_ids: ['customer_number'],
            fields: [{ attribute: 'customer_number', field: 'customerId' }],
          },
        ],
      },
      payload,
      format,
    );
    expect(response.entity_updates.map((u) => u.unique_identifiers)).toEqual([{ customer_number: '12345' }]);
  });

  it('throws ConfigurationError with every problem, and PayloadError for a bad payload', async () => {
    await expect(
      simulate({ entities: [{ entity_schema: 'x', unique_ids: ['id'], fields: [] }] }, '{}'),
    ).rejects.toMatchObject({
      name: 'ConfigurationError',
      problems: [
        {
          path: 'configuration.entities[0].unique_ids[0]',
          message: 'unique id "id" is not mapped by any field',
        },
      ],
    });
    await expect(simulate({}, '{"a":')).rejects.toBeInstanceOf(PayloadError);
    await expect(simulate({ meter_readings: 'no' }, '{}')).rejects.toBeInstanceOf(ConfigurationError);
  });
});
