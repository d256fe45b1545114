/**
 * Mapping throughput: `npx tsx bench/mapping.bench.ts` (or `npm run bench`) from libs/mapping.
 * A realistic customer event (contact + account + billing account with relations, contracts with meters and
 * readings) mapped by (1) a configuration compiled once, (2) compiled per event, (3) simulate() per event
 * (validate + parse + compile + map, what the config-service does), and (4) a hand-written TypeScript
 * function producing the same output (the ceiling). Each case runs for a fixed time budget.
 */
import { isDeepStrictEqual } from 'node:util';
import { CompiledMapping, type InboundConfiguration, type MappingResult, simulate } from '../src/index.js';

const BUDGET_MS = Number(process.env.BENCH_MS ?? 3000);
const WARMUP_MS = 500;

const configuration: InboundConfiguration = {
  entities: [
    {
      entity_schema: 'contact',
      unique_ids: ['customer_number'],
      fields: [
        { attribute: 'customer_number', field: 'customerNo' },
        { attribute: 'first_name', field: 'firstName' },
        { attribute: 'last_name', field: 'lastName' },
        { attribute: 'email', field: 'email', _type: 'email' },
        { attribute: 'phone', field: 'phone', _type: 'phone', _tags: ['mobile'] },
        { attribute: 'birthdate', field: '$.personal.birthdate' },
        {
          attribute: 'address',
          jsonataExpression:
            '[{"street": address.street, "street_number": address.no, "postal_code": address.zip, "city": address.city, "country": "DE"}]',
        },
        { attribute: 'source', constant: 'ERP' },
        {
          attribute: 'account',
          relations: {
            operation: '_set',
            items: [
              {
                entity_schema: 'account',
                unique_ids: [{ attribute: 'account_number', field: '$.company.no' }],
              },
            ],
          },
        },
      ],
    },
    {
      entity_schema: 'account',
      unique_ids: ['account_number'],
      enabled: '$exists(company)',
      fields: [
        { attribute: 'account_number', field: '$.company.no' },
        { attribute: 'name', jsonataExpression: '$trim(company.name)' },
        { attribute: 'tax_id', field: '$.company.vat' },
        {
          attribute: 'contacts',
          relations: {
            operation: '_append',
            items: [
              {
                entity_schema: 'contact',
                _tags: ['primary'],
                unique_ids: [{ attribute: 'customer_number', field: 'customerNo' }],
              },
            ],
          },
        },
      ],
    },
    {
      entity_schema: 'billing_account',
      unique_ids: ['external_id'],
      fields: [
        { attribute: 'external_id', field: '$.billing.accountNo' },
        { attribute: 'payment_method', jsonataExpression: 'billing.iban ? "sepa" : "invoice"' },
        { attribute: 'iban', field: '$.billing.iban' },
        {
          attribute: 'contact',
          relations: {
            operation: '_set',
            items: [
              {
                entity_schema: 'contact',
                unique_ids: [{ attribute: 'customer_number', field: 'customerNo' }],
              },
            ],
          },
        },
        {
          attribute: 'billing_address',
          relation_refs: {
            operation: '_set',
            items: [
              {
                entity_schema: 'contact',
                unique_ids: [{ attribute: 'customer_number', field: 'customerNo' }],
                path: 'address',
                value: {
                  attribute: 'address',
                  jsonataExpression:
                    '{"street": billing.address.street, "postal_code": billing.address.zip, "city": billing.address.city}',
                },
              },
            ],
          },
        },
      ],
    },
    {
      entity_schema: 'contract',
      unique_ids: ['contract_number'],
      jsonataExpression: 'contracts',
      fields: [
        { attribute: 'contract_number', field: 'number' },
        { attribute: 'contract_name', jsonataExpression: 'product & " " & number' },
        { attribute: 'status', jsonataExpression: 'active ? "active" : "terminated"' },
        { attribute: 'start_date', field: 'start' },
        { attribute: 'tags', jsonataExpression: '{"_append": ["erp", product]}' },
        {
          attribute: 'billing_account',
          relations: {
            operation: '_set',
            items: [
              {
                entity_schema: 'billing_account',
                unique_ids: [{ attribute: 'external_id', field: '$$.billing.accountNo' }],
              },
            ],
          },
        },
        {
          attribute: 'meters',
          relations: {
            operation: '_set',
            jsonataExpression: '[meters.{"entity_schema": "meter", "unique_ids": {"meter_number": id}}]',
          },
        },
      ],
    },
    {
      entity_schema: 'meter',
      unique_ids: ['meter_number'],
      jsonataExpression: '[contracts.meters]',
      mode: 'upsert-prune-scope-delete',
      scope: { scope_mode: 'query', query: [{ attribute: 'customer_number', field: 'customerNo' }] },
      fields: [
        { attribute: 'meter_number', field: 'id' },
        { attribute: 'medium', field: 'medium' },
        { attribute: 'obis', field: 'obis' },
      ],
    },
  ],
  meter_readings: [
    {
      jsonataExpression:
        '[contracts.meters.($m := id; $c := obis; readings.{"meter": $m, "obis": $c, "id": id, "at": at, "value": value})]',
      meter: { unique_ids: [{ attribute: 'meter_number', field: 'meter' }] },
      meter_counter: { unique_ids: ['obis'] },
      fields: [
        { attribute: 'external_id', field: 'id' },
        { attribute: 'timestamp', field: 'at' },
        { attribute: 'source', constant: 'ERP' },
        { attribute: 'value', field: 'value' },
        { attribute: 'reason', constant: 'regular' },
      ],
    },
  ],
};

interface Reading {
  id: string;
  at: string;
  value: number;
}
interface Meter {
  id: string;
  medium: string;
  obis: string;
  readings: Reading[];
}
interface Contract {
  number: string;
  product: string;
  active: boolean;
  start: string;
  meters: Meter[];
}
interface CustomerEvent {
  customerNo: string;
  firstName: string;
  lastName: string;
  email: string;
  phone: string;
  personal: { birthdate: string };
  address: { street: string; no: string; zip: string; city: string };
  company?: { no: string; name: string; vat: string };
  billing: { accountNo: string; iban?: string; address: { street: string; zip: string; city: string } };
  contracts: Contract[];
}

function makeEvent(i: number): CustomerEvent {
  const n = String(i).padStart(6, '0');
  return {
    customerNo: `C${n}`,
    firstName: 'Anna',
    lastName: `Schmidt ${i}`,
    email: `anna.${i}@example.com`,
    phone: '+49 30 1234567',
    personal: { birthdate: '1980-04-01' },
    address: { street: 'Hauptstraße', no: '12a', zip: '10115', city: 'Berlin' },
    company: { no: `A${n}`, name: '  Schmidt GmbH ', vat: 'DE123456789' },
    billing: {
      accountNo: `BA${n}`,
      iban: 'DE89370400440532013000',
      address: { street: 'Postfach 1', zip: '10117', city: 'Berlin' },
    },
    contracts: [0, 1].map((c) => ({
      number: `K${n}-${c}`,
      product: c === 0 ? 'power' : 'gas',
      active: c === 0,
      start: '2024-01-01',
      meters: [
        {
          id: `M${n}-${c}`,
          medium: c === 0 ? 'electricity' : 'gas',
          obis: c === 0 ? '1-0:1.8.0' : '7-0:3.0.0',
          readings: [0, 1, 2].map((r) => ({
            id: `R${n}-${c}-${r}`,
            at: `2025-0${r + 1}-15T10:00:00Z`,
            value: 1000 + r * 10.5,
          })),
        },
      ],
    })),
  };
}

const iso = (s: string) => new Date(s).toISOString();

/** The same mapping, hand-written: what a developer would code for this one event type (the ceiling). */
function handWritten(e: CustomerEvent): MappingResult {
  const contactRef = { $entity_unique_ids: { customer_number: e.customerNo }, _schema: 'contact' };
  const result: MappingResult = {
    entity_updates: [],
    meter_readings_updates: [],
    prune_scope_updates: [],
    meter_readings_prune_scope_updates: [],
    warnings: [],
    failures: [],
  };
  result.entity_updates.push({
    entity_slug: 'contact',
    unique_identifiers: { customer_number: e.customerNo },
    attributes: {
      customer_number: e.customerNo,
      first_name: e.firstName,
      last_name: e.lastName,
      email: [{ email: e.email }],
      phone: [{ phone: e.phone, _tags: ['mobile'] }],
      birthdate: e.personal.birthdate,
      address: [
        {
          street: e.address.street,
          street_number: e.address.no,
          postal_code: e.address.zip,
          city: e.address.city,
          country: 'DE',
        },
      ],
      source: 'ERP',
      ...(e.company
        ? {
            account: {
              $relation: {
                _set: [
                  { $entity_unique_ids: { account_number: e.company.no }, _schema: 'account', _tags: [] },
                ],
              },
            },
          }
        : {}),
    },
    mode: 'upsert',
  });
  if (e.company) {
    result.entity_updates.push({
      entity_slug: 'account',
      unique_identifiers: { account_number: e.company.no },
      attributes: {
        account_number: e.company.no,
        name: e.company.name.trim(),
        tax_id: e.company.vat,
        contacts: { $relation: { _append: [{ ...contactRef, _tags: ['primary'] }] } },
      },
      mode: 'upsert',
    });
  }
  result.entity_updates.push({
    entity_slug: 'billing_account',
    unique_identifiers: { external_id: e.billing.accountNo },
    attributes: {
      external_id: e.billing.accountNo,
      payment_method: e.billing.iban ? 'sepa' : 'invoice',
      iban: e.billing.iban,
      contact: { $relation: { _set: [{ ...contactRef, _tags: [] }] } },
      billing_address: {
        $relation_ref: {
          _set: [
            {
              ...contactRef,
              path: 'address',
              value: {
                street: e.billing.address.street,
                postal_code: e.billing.address.zip,
                city: e.billing.address.city,
              },
              value_attribute: 'address',
            },
          ],
        },
      },
    },
    mode: 'upsert',
  });
  for (const c of e.contracts) {
    result.entity_updates.push({
      entity_slug: 'contract',
      unique_identifiers: { contract_number: c.number },
      attributes: {
        contract_number: c.number,
        contract_name: `${c.product} ${c.number}`,
        status: c.active ? 'active' : 'terminated',
        start_date: c.start,
        tags: { _append: ['erp', c.product] },
        billing_account: {
          $relation: {
            _set: [
              {
                $entity_unique_ids: { external_id: e.billing.accountNo },
                _schema: 'billing_account',
                _tags: [],
              },
            ],
          },
        },
        meters: {
          $relation: {
            _set: c.meters.map((m) => ({
              $entity_unique_ids: { meter_number: m.id },
              _schema: 'meter',
              _tags: [],
            })),
          },
        },
      },
      mode: 'upsert',
    });
  }
  const keep: Array<Record<string, unknown>> = [];
  for (const c of e.contracts) {
    for (const m of c.meters) {
      result.entity_updates.push({
        entity_slug: 'meter',
        unique_identifiers: { meter_number: m.id },
        attributes: { meter_number: m.id, medium: m.medium, obis: m.obis },
        mode: 'upsert',
      });
      keep.push({ meter_number: m.id });
    }
  }
  result.prune_scope_updates.push({
    entity_slug: 'meter',
    scope: { scope_mode: 'query', query: { customer_number: e.customerNo } },
    keep_unique_ids: keep,
    deletion_mode: 'delete',
  });
  for (const c of e.contracts) {
    for (const m of c.meters) {
      for (const r of m.readings) {
        result.meter_readings_updates.push({
          meter: { $entity_unique_ids: { meter_number: m.id } },
          meter_counter: { $entity_unique_ids: { obis: m.obis } },
          attributes: {
            external_id: r.id,
            timestamp: iso(r.at),
            source: 'ERP',
            value: r.value,
            reason: 'regular',
          },
          mode: 'upsert',
        });
      }
    }
  }
  return result;
}

async function measure(name: string, run: (i: number) => Promise<unknown> | unknown): Promise<number> {
  const loop = async (ms: number) => {
    const start = performance.now();
    let n = 0;
    while (performance.now() - start < ms) {
      await run(n);
      n++;
    }
    return { n, elapsed: performance.now() - start };
  };
  await loop(WARMUP_MS);
  const { n, elapsed } = await loop(BUDGET_MS);
  const rate = (n / elapsed) * 1000;
  console.log(
    `${name.padEnd(44)} ${rate.toFixed(0).padStart(9)} events/s  (${n} events in ${(elapsed / 1000).toFixed(2)} s)`,
  );
  return rate;
}

const EVENTS = Array.from({ length: 1000 }, (_, i) => makeEvent(i));
const event = (i: number) => EVENTS[i % EVENTS.length]!;

// The engine and the hand-written function must agree before timing anything.
const compiled = CompiledMapping.compile(configuration);
for (const i of [0, 1, 999]) {
  const got = await compiled.map(event(i));
  if (got.failures.length > 0 || !isDeepStrictEqual(got, handWritten(event(i)))) {
    console.error(JSON.stringify({ engine: got, hand: handWritten(event(i)) }, null, 1));
    throw new Error('engine output differs from the hand-written mapping');
  }
}
const sample = await compiled.map(event(0));
console.log(
  `one event -> ${sample.entity_updates.length} entity updates, ${sample.meter_readings_updates.length} meter readings, ` +
    `${sample.prune_scope_updates.length} prune scope; ${BUDGET_MS} ms per case (node ${process.version})`,
);

const once = await measure('compiled once, map() per event', (i) => compiled.map(event(i)));
const perEvent = await measure('compiled per event (compile + map)', (i) =>
  CompiledMapping.compile(configuration).map(event(i)),
);
const sim = await measure('simulate() per event (validate+parse+map)', (i) =>
  simulate(configuration, JSON.stringify(event(i)), 'json'),
);
const hand = await measure('hand-written TypeScript (ceiling)', (i) => handWritten(event(i)));
console.log(
  `compiled once is ${(once / perEvent).toFixed(1)}x compiled-per-event, ${(once / sim).toFixed(1)}x simulate(), ` +
    `and ${(hand / once).toFixed(0)}x slower than hand-written`,
);
