import type { JsonSchema, TopicContract } from './asyncapi.js';

/**
 * Whether a topic's schema may change under the same version: a consumer written against the old schema
 * must read every message of the new one, and a producer of the old one must still be accepted. So a
 * removed or retyped field, a field that became required or optional, a narrowed enum or a tightened
 * constraint is breaking; a new optional field, a widened enum or a loosened constraint is additive.
 */
export type ChangeKind =
  | 'removed'
  | 'retyped'
  | 'required-added'
  | 'made-optional'
  | 'enum-narrowed'
  | 'constraint-tightened'
  | 'added'
  | 'enum-widened'
  | 'constraint-loosened'
  | 'described';

export interface SchemaChange {
  kind: ChangeKind;
  /** Where: `payload.meta.change_id`, `headers.x-org-id`, `key`... */
  path: string;
  breaking: boolean;
  detail: string;
}

const BREAKING: ReadonlySet<ChangeKind> = new Set([
  'removed',
  'retyped',
  'required-added',
  'made-optional',
  'enum-narrowed',
  'constraint-tightened',
]);

type S = JsonSchema & {
  type?: string | string[];
  const?: unknown;
  enum?: unknown[];
  anyOf?: S[];
  properties?: Record<string, S>;
  required?: string[];
  patternProperties?: Record<string, S>;
  additionalProperties?: S | boolean;
  items?: S;
};

const show = (v: unknown) => JSON.stringify(v);
const typesOf = (s: S): string[] => {
  if (s.type !== undefined) return [s.type].flat().sort();
  if (s.anyOf) return [...new Set(s.anyOf.flatMap(typesOf))].sort();
  return []; // any type
};

/** The values of an enumeration (`enum`, a `const`, or a union of `const`s); undefined when not one. */
function enumValues(s: S): unknown[] | undefined {
  if (s.enum) return s.enum;
  if ('const' in s) return [s.const];
  if (s.anyOf && s.anyOf.length > 0 && s.anyOf.every((v) => 'const' in v)) return s.anyOf.map((v) => v.const);
  return undefined;
}

/** Lower bounds (a larger new value tightens), upper bounds (a smaller one tightens), exact constraints. */
const LOWER = ['minimum', 'exclusiveMinimum', 'minLength', 'minItems', 'minProperties'];
const UPPER = ['maximum', 'exclusiveMaximum', 'maxLength', 'maxItems', 'maxProperties'];
const EXACT = ['pattern', 'format', 'multipleOf', 'uniqueItems'];
const DESCRIPTIVE = ['description', 'title', 'examples', 'default', '$comment'];

/** Every difference between two schemas of one topic part, from the old to the new. */
export function compareSchemas(before: JsonSchema, after: JsonSchema, path: string): SchemaChange[] {
  const out: SchemaChange[] = [];
  const add = (kind: ChangeKind, at: string, detail: string) =>
    out.push({ kind, path: at, breaking: BREAKING.has(kind), detail });
  walk(before as S, after as S, path, add);
  return out;
}

function walk(a: S, b: S, path: string, add: (kind: ChangeKind, at: string, detail: string) => void) {
  const ta = typesOf(a);
  const tb = typesOf(b);
  // Types: the new schema must accept every type the old one did, and produce no type the old one lacked.
  if (show(ta) !== show(tb)) {
    add('retyped', path, `type ${show(ta.length ? ta : 'any')} became ${show(tb.length ? tb : 'any')}`);
    return; // the rest would compare schemas of different shapes
  }
  const ea = enumValues(a);
  const eb = enumValues(b);
  if (ea || eb) {
    if (ea && eb) {
      const gone = ea.filter((v) => !eb.some((w) => show(w) === show(v)));
      const fresh = eb.filter((v) => !ea.some((w) => show(w) === show(v)));
      if (gone.length > 0 && fresh.length > 0 && ea.length === 1 && eb.length === 1) {
        add('retyped', path, `constant ${show(ea[0])} became ${show(eb[0])}`);
      } else {
        if (gone.length > 0) add('enum-narrowed', path, `no longer allows ${gone.map(show).join(', ')}`);
        if (fresh.length > 0) add('enum-widened', path, `now also allows ${fresh.map(show).join(', ')}`);
      }
    } else if (eb) {
      add('enum-narrowed', path, `now only allows ${eb.map(show).join(', ')}`);
    } else {
      add('enum-widened', path, `now allows any ${show(tb)}, not only ${ea!.map(show).join(', ')}`);
    }
    return;
  }
  // A union of other shapes (e.g. one of several message kinds): each old variant must still be accepted
  // by a new one that changes nothing breaking; new variants are additive.
  if (a.anyOf || b.anyOf) {
    const va = a.anyOf ?? [a];
    const vb = b.anyOf ?? [b];
    const used = new Set<number>();
    va.forEach((old, i) => {
      const candidates = vb.map((v, j) => ({ j, changes: collect(old, v, `${path}|${i}`) }));
      const exact = candidates.find((c) => !used.has(c.j) && c.changes.every((x) => !x.breaking));
      if (exact) {
        used.add(exact.j);
        for (const c of exact.changes) add(c.kind, c.path, c.detail);
      } else {
        add(
          'retyped',
          path,
          `variant ${i} of the union (${show(typesOf(old))}) is no longer accepted as it was`,
        );
      }
    });
    vb.forEach((_, j) => {
      if (!used.has(j)) add('enum-widened', path, `a new variant ${j} of the union`);
    });
    return;
  }
  // Objects: properties, required, and the schema of further properties (records).
  if (a.properties || b.properties || a.required || b.required) {
    const pa = a.properties ?? {};
    const pb = b.properties ?? {};
    const ra = new Set(a.required ?? []);
    const rb = new Set(b.required ?? []);
    for (const name of Object.keys(pa)) {
      const at = `${path}.${name}`;
      if (!(name in pb)) {
        add('removed', at, `field ${name} was removed`);
        continue;
      }
      if (ra.has(name) && !rb.has(name))
        add('made-optional', at, `field ${name} is no longer always present`);
      if (!ra.has(name) && rb.has(name)) add('required-added', at, `field ${name} became required`);
      walk(pa[name]!, pb[name]!, at, add);
    }
    for (const name of new Set([...Object.keys(pb), ...rb])) {
      if (name in pa) continue;
      const at = `${path}.${name}`;
      if (rb.has(name)) add('required-added', at, `new required field ${name}`);
      else add('added', at, `new optional field ${name}`);
    }
    for (const name of ra) {
      // Required without a schema of its own: it must still be required.
      if (!(name in pa) && !rb.has(name))
        add('made-optional', `${path}.${name}`, `field ${name} is no longer always present`);
    }
  }
  for (const [pattern, sa] of Object.entries(a.patternProperties ?? {})) {
    const sb = b.patternProperties?.[pattern];
    if (!sb)
      add('retyped', `${path}[${pattern}]`, `the values of pattern ${pattern} are no longer described`);
    else walk(sa, sb, `${path}[${pattern}]`, add);
  }
  for (const pattern of Object.keys(b.patternProperties ?? {})) {
    if (!a.patternProperties?.[pattern]) {
      add(
        'constraint-tightened',
        `${path}[${pattern}]`,
        `further fields matching ${pattern} now have a schema`,
      );
    }
  }
  const xa = a.additionalProperties;
  const xb = b.additionalProperties;
  if (show(xa) !== show(xb)) {
    if (typeof xa === 'object' && typeof xb === 'object') walk(xa, xb, `${path}[*]`, add);
    else if (
      xb === false ||
      (xa === undefined && typeof xb === 'object') ||
      (xa === true && typeof xb === 'object')
    ) {
      add(
        'constraint-tightened',
        `${path}[*]`,
        `further fields are now ${xb === false ? 'refused' : 'constrained'}`,
      );
    } else add('constraint-loosened', `${path}[*]`, 'further fields are now less constrained');
  }
  if (a.items || b.items) {
    if (a.items && b.items) walk(a.items, b.items, `${path}[]`, add);
    else
      add(a.items ? 'constraint-loosened' : 'constraint-tightened', `${path}[]`, 'the items schema changed');
  }
  // Constraints.
  for (const k of LOWER) {
    const x = a[k] as number | undefined;
    const y = b[k] as number | undefined;
    if (x === y) continue;
    if (y !== undefined && (x === undefined || y > x))
      add('constraint-tightened', path, `${k} ${x ?? '-'} → ${y}`);
    else add('constraint-loosened', path, `${k} ${x} → ${y ?? '-'}`);
  }
  for (const k of UPPER) {
    const x = a[k] as number | undefined;
    const y = b[k] as number | undefined;
    if (x === y) continue;
    if (y !== undefined && (x === undefined || y < x))
      add('constraint-tightened', path, `${k} ${x ?? '-'} → ${y}`);
    else add('constraint-loosened', path, `${k} ${x} → ${y ?? '-'}`);
  }
  for (const k of EXACT) {
    if (show(a[k]) === show(b[k])) continue;
    if (b[k] === undefined) add('constraint-loosened', path, `${k} ${show(a[k])} dropped`);
    else add('constraint-tightened', path, `${k} ${show(a[k]) ?? '-'} → ${show(b[k])}`);
  }
  for (const k of DESCRIPTIVE) {
    if (show(a[k]) !== show(b[k])) add('described', path, `${k} changed`);
  }
}

function collect(a: S, b: S, path: string): SchemaChange[] {
  return compareSchemas(a, b, path);
}

/** Every difference between a topic's committed snapshot and its current contract (key, headers, payload). */
export function compareContracts(before: TopicContract, after: TopicContract): SchemaChange[] {
  return [
    ...compareSchemas(before.key, after.key, 'key'),
    ...compareSchemas(before.headers, after.headers, 'headers'),
    ...compareSchemas(before.payload, after.payload, 'payload'),
  ];
}

/** The committed snapshot of `topic` at `version`: `libs/contracts/schemas/<topic>.v<version>.json`. */
export const snapshotFile = (topic: string, version: number) => `${topic}.v${version}.json`;

export interface PublishedCheck {
  /** What fails the check, one line each, saying what to do. */
  problems: string[];
  /** What `npm run contracts -- --update` fixes (a snapshot not yet committed): fails the check too. */
  pending: string[];
  /** Additive changes not yet recorded in a snapshot (the check passes; `--update` records them). */
  notices: string[];
  /** The snapshots `npm run contracts -- --update` writes (only when there is no problem). */
  writes: Array<{ file: string; contract: TopicContract }>;
}

/**
 * The evolution guard. For each public topic: its current contract against the committed snapshot of the
 * same version (breaking → a problem; additive → a notice and a write). A raised version with no snapshot
 * yet may change anything, but only with a row for that topic and version in `changelog`
 * (docs/processed-entities.md, "Schema versions"), and it is pending until its snapshot is committed. A removed public topic is a problem too.
 */
export function checkPublished(
  current: readonly TopicContract[],
  snapshots: ReadonlyMap<string, TopicContract>,
  changelog: string,
): PublishedCheck {
  const problems: string[] = [];
  const pending: string[] = [];
  const notices: string[] = [];
  const writes: PublishedCheck['writes'] = [];
  const list = (changes: SchemaChange[]) =>
    changes.map((c) => `    ${c.kind} at ${c.path}: ${c.detail}`).join('\n');
  const publicTopics = current.filter((c) => c.visibility === 'public');
  for (const c of publicTopics) {
    const file = snapshotFile(c.topic, c.version);
    const same = snapshots.get(file);
    if (same) {
      const changes = compareContracts(same, c);
      const breaking = changes.filter((x) => x.breaking);
      if (breaking.length > 0) {
        problems.push(
          `${c.topic} v${c.version}: breaking change${breaking.length > 1 ? 's' : ''} under the same schema version:\n${list(breaking)}\n  ` +
            `Keep the field, or raise schema_version to ${c.version + 1} in libs/contracts/src/messages.ts, note the change in docs/processed-entities.md ("Schema versions"), and run npm run contracts -- --update.`,
        );
      } else if (changes.some((x) => x.kind !== 'described') || JSON.stringify(same) !== JSON.stringify(c)) {
        notices.push(`${c.topic} v${c.version}: additive changes not yet in ${file}:\n${list(changes)}`);
        writes.push({ file, contract: c });
      }
      continue;
    }
    const older = [...snapshots.values()]
      .filter((s) => s.topic === c.topic && s.version < c.version)
      .sort((x, y) => y.version - x.version)[0];
    if (c.version > 1 && !older) {
      problems.push(
        `${c.topic} v${c.version}: no snapshot of an earlier version to compare with in libs/contracts/schemas.`,
      );
      continue;
    }
    const breaking = older ? compareContracts(older, c).filter((x) => x.breaking) : [];
    const noted = new RegExp(
      `\\|\\s*\`${c.topic.replace(/[.]/g, '\\.')}\`\\s*\\|\\s*${c.version}\\s*\\|`,
    ).test(changelog);
    if (older && !noted) {
      problems.push(
        `${c.topic} v${c.version}: the version was raised from ${older.version} but docs/processed-entities.md ("Schema versions") has no row | \`${c.topic}\` | ${c.version} | saying what changed.`,
      );
    }
    if (older && breaking.length === 0) {
      notices.push(`${c.topic} v${c.version}: raised from v${older.version} with no breaking change.`);
    }
    pending.push(
      `${c.topic} v${c.version}: no committed snapshot ${file}; run npm run contracts -- --update and commit it.`,
    );
    writes.push({ file, contract: c });
  }
  for (const s of snapshots.values()) {
    if (s.visibility === 'public' && !publicTopics.some((c) => c.topic === s.topic)) {
      problems.push(
        `${s.topic}: a published topic is gone (its snapshot ${snapshotFile(s.topic, s.version)} remains).`,
      );
    }
  }
  return { problems, pending, notices, writes };
}
