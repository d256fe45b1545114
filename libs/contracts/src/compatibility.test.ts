import { describe, expect, it } from 'vitest';
import { type JsonSchema, type TopicContract, topicContracts } from './asyncapi.js';
import { checkPublished, compareContracts, snapshotFile } from './compatibility.js';

/** The current contract of erp.entities.processed, and a copy of it changed by `edit`. */
const processed = () => topicContracts().find((c) => c.topic === 'erp.entities.processed')!;
type Obj = JsonSchema & { properties: Record<string, Obj>; required: string[]; anyOf: unknown[] };
/** A schema literal where the tests need one. */
const schema = (s: JsonSchema) => s as Obj;
const changed = (edit: (payload: Obj, headers: Obj, c: TopicContract) => void): TopicContract => {
  const c = structuredClone(processed());
  edit(c.payload as Obj, c.headers as Obj, c);
  return c;
};
const kinds = (after: TopicContract) =>
  compareContracts(processed(), after)
    .filter((x) => x.kind !== 'described')
    .map((x) => ({ kind: x.kind, path: x.path, breaking: x.breaking }));

describe('the compatibility of a topic contract under one version', () => {
  it('finds nothing between a contract and itself', () => {
    expect(compareContracts(processed(), processed())).toEqual([]);
  });

  it('calls a removed field breaking', () => {
    const after = changed((p) => {
      delete p.properties.meta!.properties.change_id;
      p.properties.meta!.required = p.properties.meta!.required.filter((n) => n !== 'change_id');
    });
    expect(kinds(after)).toEqual([{ kind: 'removed', path: 'payload.meta.change_id', breaking: true }]);
  });

  it('calls a retyped field breaking, and a changed constant', () => {
    const after = changed((p) => {
      p.properties.entity_id = schema({ type: 'integer' });
      p.properties.schema_version = schema({ type: 'number', const: 2 });
    });
    expect(kinds(after)).toEqual([
      { kind: 'retyped', path: 'payload.schema_version', breaking: true },
      { kind: 'retyped', path: 'payload.entity_id', breaking: true },
    ]);
  });

  it('calls a new required field breaking, and a required field made optional', () => {
    const after = changed((p) => {
      p.properties.tenant = schema({ type: 'string' });
      p.required.push('tenant');
      p.required = p.required.filter((n) => n !== 'unique_ids');
    });
    expect(kinds(after)).toEqual([
      { kind: 'made-optional', path: 'payload.unique_ids', breaking: true },
      { kind: 'required-added', path: 'payload.tenant', breaking: true },
    ]);
  });

  it('calls a narrowed enum breaking and a widened one additive', () => {
    const narrowed = changed((p) => {
      p.properties.action!.anyOf.pop(); // no more 'deleted'
    });
    expect(kinds(narrowed)).toEqual([{ kind: 'enum-narrowed', path: 'payload.action', breaking: true }]);
    const widened = changed((p) => {
      p.properties.action!.anyOf.push({ type: 'string', const: 'purged' });
    });
    expect(kinds(widened)).toEqual([{ kind: 'enum-widened', path: 'payload.action', breaking: false }]);
  });

  it('calls a removed header breaking and a new optional header additive', () => {
    const removed = changed((_, h) => {
      delete h.properties['x-org-id'];
      h.required = h.required.filter((n) => n !== 'x-org-id');
    });
    expect(kinds(removed)).toEqual([{ kind: 'removed', path: 'headers.x-org-id', breaking: true }]);
    const added = changed((_, h) => {
      h.properties['x-tenant'] = schema({ type: 'string' });
    });
    expect(kinds(added)).toEqual([{ kind: 'added', path: 'headers.x-tenant', breaking: false }]);
  });

  it('calls a new optional field additive, and a tightened constraint breaking', () => {
    const added = changed((p) => {
      p.properties.meta!.properties.received_at = schema({ type: 'string' });
    });
    expect(kinds(added)).toEqual([{ kind: 'added', path: 'payload.meta.received_at', breaking: false }]);
    const tightened = changed((p) => {
      p.properties.entity_id = schema({ type: 'string', maxLength: 36 });
    });
    expect(kinds(tightened)).toEqual([
      { kind: 'constraint-tightened', path: 'payload.entity_id', breaking: true },
    ]);
  });

  it('calls a retyped key breaking', () => {
    const after = changed((_, __, c) => {
      c.key = { type: 'integer' };
    });
    expect(kinds(after)).toEqual([{ kind: 'retyped', path: 'key', breaking: true }]);
  });
});

describe('the evolution guard over the committed snapshots', () => {
  const v1 = processed();
  const snapshots = (...cs: TopicContract[]) =>
    new Map(cs.map((c) => [snapshotFile(c.topic, c.version), c] as const));
  const others = topicContracts().filter((c) => c.topic !== v1.topic);
  const committed = snapshots(...others.filter((c) => c.visibility === 'public'));

  it('passes the contract its snapshot holds', () => {
    const result = checkPublished([v1, ...others], new Map([...committed, ...snapshots(v1)]), '');
    expect(result).toEqual({ problems: [], pending: [], notices: [], writes: [] });
  });

  it('fails a breaking change under the same version, naming the field and what to do', () => {
    const broken = changed((p) => {
      delete p.properties.org_id;
      p.required = p.required.filter((n) => n !== 'org_id');
    });
    const result = checkPublished([broken, ...others], new Map([...committed, ...snapshots(v1)]), '');
    expect(result.problems).toHaveLength(1);
    expect(result.problems[0]).toContain(
      'erp.entities.processed v1: breaking change under the same schema version',
    );
    expect(result.problems[0]).toContain('removed at payload.org_id');
    expect(result.problems[0]).toContain('raise schema_version to 2');
  });

  it('passes an additive change, with a notice and the snapshot to write', () => {
    const grown = changed((p) => {
      p.properties.tags = schema({ type: 'array', items: { type: 'string' } });
    });
    const result = checkPublished([grown, ...others], new Map([...committed, ...snapshots(v1)]), '');
    expect(result.problems).toEqual([]);
    expect(result.pending).toEqual([]);
    expect(result.notices[0]).toContain('added at payload.tags');
    expect(result.writes).toEqual([{ file: 'erp.entities.processed.v1.json', contract: grown }]);
  });

  it('allows a breaking change under a raised version only with its row in the changelog, then its snapshot', () => {
    const v2 = changed((p, h, c) => {
      c.version = 2;
      p.properties.schema_version = schema({ type: 'number', const: 2 });
      delete p.properties.org_id;
      p.required = p.required.filter((n) => n !== 'org_id');
      h.properties['x-schema-version'] = schema({ type: 'string', const: '2' });
    });
    const before = new Map([...committed, ...snapshots(v1)]);
    const unnoted = checkPublished([v2, ...others], before, '| `erp.entities.processed` | 1 | first |');
    expect(unnoted.problems).toEqual([
      expect.stringContaining('raised from 1 but docs/processed-entities.md ("Schema versions") has no row'),
    ]);
    const changelog = '| `erp.entities.processed` | 2 | `org_id` removed: read `x-org-id` |';
    const noted = checkPublished([v2, ...others], before, changelog);
    expect(noted.problems).toEqual([]);
    expect(noted.pending).toEqual([
      expect.stringContaining('no committed snapshot erp.entities.processed.v2.json'),
    ]);
    expect(noted.writes.map((w) => w.file)).toEqual(['erp.entities.processed.v2.json']);
    const done = checkPublished([v2, ...others], new Map([...before, ...snapshots(v2)]), changelog);
    expect(done).toEqual({ problems: [], pending: [], notices: [], writes: [] });
  });

  it('fails when a published topic is gone', () => {
    const result = checkPublished(others, new Map([...committed, ...snapshots(v1)]), '');
    expect(result.problems).toEqual([
      expect.stringContaining('erp.entities.processed: a published topic is gone'),
    ]);
  });
});
