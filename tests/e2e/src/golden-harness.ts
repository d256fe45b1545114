/**
 * The golden-test harness: runs a case's events through the real pipeline and reads back what landed,
 * projected so a case can state it literally (entity ids replaced by `<schema>/<label>`, relation_refs
 * dereferenced to the item they point at, store-owned fields and item `_id`s dropped).
 */
import type { MappingSimulationResponse } from '@hub/mapping';
import type { ApiClient } from '@hub/testing';
import { expect } from 'vitest';

/** The attribute that names an entity of each schema in the golden cases. */
export const LABEL: Record<string, string> = {
  contact: 'customer_number',
  account: 'account_number',
  billing_account: 'external_id',
  contract: 'contract_number',
  meter: 'meter_number',
  meter_counter: 'counter_id',
};

type Entity = Record<string, unknown>;
/** schema -> label -> projected entity; `meter_readings`: meter label -> projected readings. */
export type StoredState = Record<string, Record<string, unknown>>;
/** `<schema>/<label>` -> entity id, for payloads that name an entity by `_id`. */
export type Ids = Record<string, string>;

const STORE_OWNED = new Set(['_id', '_org', '_schema', '_created_at', '_updated_at']);

const isObject = (v: unknown): v is Record<string, unknown> =>
  !!v && typeof v === 'object' && !Array.isArray(v);

function stripId(item: unknown): unknown {
  if (!isObject(item)) return item;
  const { _id, ...rest } = item;
  expect(typeof _id, `repeatable item ${JSON.stringify(item)} has an _id`).toBe('string');
  return rest;
}

export interface Snapshot {
  state: StoredState;
  ids: Ids;
}

/** Reads every entity of the labelled schemas (and, when asked, the meters' readings) and projects them. */
export async function snapshot(api: ApiClient, withReadings: boolean): Promise<Snapshot> {
  const raw: Entity[] = [];
  for (const schema of Object.keys(LABEL)) {
    const res = await api.request<{ results: Entity[] }>('GET', `/v1/entity/${schema}?limit=500`);
    expect(res.status).toBe(200);
    raw.push(...res.body.results);
  }
  const byId = new Map(raw.map((e) => [e._id as string, e]));
  const label = (id: unknown) => {
    const e = byId.get(id as string);
    return e ? `${e._schema}/${e[LABEL[e._schema as string]!]}` : `missing:${id}`;
  };
  const project = (value: unknown): unknown => {
    if (isObject(value) && Array.isArray(value.$relation)) {
      return {
        $relation: value.$relation.map((l: Entity) => ({
          entity: label(l.entity_id),
          _schema: l._schema,
          _tags: l._tags,
        })),
      };
    }
    if (isObject(value) && Array.isArray(value.$relation_ref)) {
      return {
        $relation_ref: value.$relation_ref.map((l: Entity) => {
          const items = byId.get(l.entity_id as string)?.[l.path as string];
          const item = Array.isArray(items) ? items.find((i) => isObject(i) && i._id === l._id) : undefined;
          return {
            entity: label(l.entity_id),
            path: l.path,
            item: item === undefined ? 'missing' : stripId(item),
          };
        }),
      };
    }
    if (Array.isArray(value)) return value.map((v) => (isObject(v) && '_id' in v ? stripId(v) : v));
    return value;
  };
  const state: StoredState = {};
  const ids: Ids = {};
  for (const e of raw) {
    const schema = e._schema as string;
    const name = String(e[LABEL[schema]!]);
    ids[`${schema}/${name}`] = e._id as string;
    const projected: Entity = {};
    for (const [k, v] of Object.entries(e)) if (!STORE_OWNED.has(k)) projected[k] = project(v);
    state[schema] ??= {};
    state[schema][name] = projected;
  }
  if (withReadings) {
    const readings: Record<string, Entity[]> = {};
    state.meter_readings = readings;
    for (const e of raw.filter((x) => x._schema === 'meter')) {
      const res = await api.request<{ results: Entity[] }>('GET', `/v1/entity/meter/${e._id}/meter-readings`);
      expect(res.status).toBe(200);
      if (res.body.results.length === 0) continue;
      readings[label(e._id)] = res.body.results.map(
        ({ _id, meter_id, counter_id, _created_at, _updated_at, ...r }) => ({
          ...(counter_id ? { counter: label(counter_id) } : {}),
          ...r,
        }),
      );
    }
  }
  return { state, ids };
}

/** Polls until the stored state equals `expected` (30 s), then asserts it, so a failure shows the diff. */
export async function settle(api: ApiClient, expected: StoredState): Promise<Snapshot> {
  const withReadings = 'meter_readings' in expected;
  const deadline = Date.now() + 30_000;
  let last = await snapshot(api, withReadings);
  while (Date.now() < deadline && !isEqual(last.state, expected)) {
    await new Promise((r) => setTimeout(r, 300));
    last = await snapshot(api, withReadings);
  }
  expect(last.state).toEqual(expected);
  return last;
}

function isEqual(a: unknown, b: unknown): boolean {
  try {
    expect(a).toEqual(b);
    return true;
  } catch {
    return false;
  }
}

const labelOfRef = (schema: string, ids: Record<string, unknown>) =>
  `${schema}/${ids[LABEL[schema]!] ?? JSON.stringify(ids)}`;

/**
 * Checks that what the simulation said would be written is what was stored: every upserted entity is
 * there with each mapped value (plain values and `_set` equal, appends included, relations pointing at
 * the entities their unique ids name, relation_refs at an item equal to the value), and every upserted
 * reading is there with its timestamp, source and value.
 */
export function expectAgreement(sim: MappingSimulationResponse, { state, ids }: Snapshot): void {
  const labelOfId = new Map(Object.entries(ids).map(([name, id]) => [id, name.slice(name.indexOf('/') + 1)]));
  for (const update of sim.entity_updates.filter((u) => u.mode === 'upsert')) {
    const direct = update.unique_identifiers._id;
    const label =
      direct !== undefined
        ? labelOfId.get(String(direct))
        : update.unique_identifiers[LABEL[update.entity_slug]!];
    const stored = state[update.entity_slug]?.[String(label)] as Entity | undefined;
    expect(stored, `${update.entity_slug} ${String(label)} of the simulation is stored`).toBeDefined();
    for (const [attribute, value] of Object.entries(update.attributes)) {
      if (attribute === '_id') continue; // store-owned: it named the entity
      const where = `${update.entity_slug}/${String(label)}.${attribute}`;
      const actual = stored![attribute];
      const [op, items] = isObject(value) ? (Object.entries(value)[0] ?? []) : [];
      if (isObject(value) && isObject(value.$relation)) {
        const [relOp, relItems] = Object.entries(value.$relation)[0] as [string, Entity[]];
        const want = relItems.map((i) => labelOfRef(i._schema as string, i.$entity_unique_ids as Entity));
        const got = ((actual as { $relation: Entity[] }).$relation ?? []).map((l) => l.entity);
        if (relOp === '_set') expect(got, where).toEqual(want);
        else expect(got, where).toEqual(expect.arrayContaining(want));
      } else if (isObject(value) && isObject(value.$relation_ref)) {
        const [, refItems] = Object.entries(value.$relation_ref)[0] as [string, Entity[]];
        const got = (actual as { $relation_ref: Entity[] }).$relation_ref;
        for (const i of refItems) {
          expect(got, where).toContainEqual({
            entity: labelOfRef(i._schema as string, i.$entity_unique_ids as Entity),
            path: i.path,
            item: i.value,
          });
        }
      } else if (op === '_set') {
        expect(actual, where).toEqual(items);
      } else if (op === '_append' || op === '_append_all') {
        expect(actual, where).toEqual(expect.arrayContaining(items as unknown[]));
      } else {
        expect(actual, where).toEqual(value);
      }
    }
  }
  for (const reading of sim.meter_readings_updates.filter((r) => r.mode === 'upsert')) {
    const meter = labelOfRef('meter', reading.meter.$entity_unique_ids);
    const { external_id, timestamp, source, value } = reading.attributes;
    expect(state.meter_readings?.[meter] as Entity[] | undefined, `readings of ${meter}`).toContainEqual(
      expect.objectContaining({ timestamp, source, value, ...(external_id ? { external_id } : {}) }),
    );
  }
}
