/**
 * A meter reading belongs to the meter its `meter` unique ids resolve to: a mapped `meter_id` attribute
 * cannot move it to another meter (of the same organisation), on create or on update (issue 19 item 12).
 */
import { eventually, orgWithUseCase, resolveStack } from '@hub/testing';
import { describe, expect, it } from 'vitest';

const stack = resolveStack();

describe('meter readings', () => {
  it('stay with the resolved meter whatever meter_id the mapping sets', async () => {
    const { api, send } = await orgWithUseCase(
      stack,
      'readings-integrity',
      {
        entities: [
          {
            entity_schema: 'meter',
            unique_ids: ['meter_number'],
            enabled: '$exists(create)',
            fields: [{ attribute: 'meter_number', field: 'meter' }],
          },
        ],
        meter_readings: [
          {
            enabled: '$exists(id)',
            meter: { unique_ids: [{ attribute: 'meter_number', field: 'meter' }] },
            fields: [
              { attribute: 'external_id', field: 'id' },
              { attribute: 'timestamp', field: 'at' },
              { attribute: 'source', constant: 'ERP' },
              { attribute: 'value', field: 'value' },
              { attribute: 'meter_id', field: 'other' },
            ],
          },
        ],
      },
      { objectType: 'meter', useCaseName: 'readings' },
    );
    const meterIdOf = (number: string) =>
      eventually(async () => {
        const res = await api.request<{ results: Array<{ _id: string }> }>(
          'GET',
          `/v1/entity/meter?meter_number=${number}`,
        );
        return res.body.results[0]?._id;
      });
    await send({ meter: 'M-A', create: true });
    await send({ meter: 'M-B', create: true });
    const [a, b] = [await meterIdOf('M-A'), await meterIdOf('M-B')];

    const readingsOf = (meterId: string) =>
      api
        .request<{ results: Array<Record<string, unknown>> }>(
          'GET',
          `/v1/entity/meter/${meterId}/meter-readings`,
        )
        .then((res) => res.body.results);
    // Created, then updated, each time naming the other meter in `meter_id`.
    await send({ meter: 'M-A', id: 'R-1', at: '2025-03-01T00:00:00Z', value: 1, other: b });
    await send({ meter: 'M-A', id: 'R-1', at: '2025-03-01T00:00:00Z', value: 2, other: b });
    const onA = await eventually(async () => {
      const found = await readingsOf(a);
      return found[0]?.value === 2 ? found : undefined;
    });
    expect(onA.map((r) => [r.external_id, r.value])).toEqual([['R-1', 2]]);
    expect(await readingsOf(b)).toEqual([]);
  });
});
