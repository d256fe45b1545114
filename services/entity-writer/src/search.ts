import { ApiError } from '@hub/http';
import { isTimeLimitError } from '@hub/mongo';
import { KeySets, keySetOf } from './keys.js';
import type { EntitiesRepository, EntityDoc } from './repository.js';
import { atDerivedIds } from './resolver.js';

/** At most this many unique-id names are read by derived id (3^n candidate ids, see `candidates`). */
const MAX_ID_NAMES = 3;

/**
 * The entity search (`GET /v1/entity/{schema}?attr=value...`). A search that names exactly one of the
 * schema's unique-id sets (as the guide's `?customer_number=C001` does) is a read by `_id`: the writer
 * derives an entity's `_id` from its organisation, schema and unique-id values (ADR 9), so the same
 * derivation finds it, at the same cost at any number of entities, on FerretDB and MongoDB alike. Any
 * other search queries the attributes, as before.
 */
export class EntitySearch {
  /**
   * `maxMs`: how long a query on attributes may take (ENTITY_SEARCH_MAX_MS); past it, 400
   * QUERY_TOO_LARGE. A read by derived id is not limited.
   */
  constructor(
    private readonly repository: EntitiesRepository,
    private readonly keySets: KeySets,
    private readonly maxMs = 30_000,
  ) {}

  /** Up to `limit` live entities of `schema` matching every value of `where`, by `_id`, after `after`. */
  async search(
    org: string,
    schema: string,
    where: Record<string, string>,
    limit: number,
    after: string | undefined,
  ): Promise<EntityDoc[]> {
    const byId = await this.byUniqueIds(org, schema, where);
    if (!byId) {
      try {
        return await this.repository.search(org, schema, where, limit, after, this.maxMs);
      } catch (err) {
        if (!isTimeLimitError(err)) throw err;
        throw new ApiError(
          400,
          'QUERY_TOO_LARGE',
          `the search read entities for longer than ${this.maxMs} ms and was stopped; search by the unique ids the schema's entities were created with (a read by id)`,
        );
      }
    }
    return byId.filter((d) => !d._deleted_at && (after === undefined || d._id > after)).slice(0, limit);
  }

  /**
   * The entities a search names, read by derived id; undefined when only a query on the attributes can
   * tell. No key set recorded for the schema means no entity of it was ever created for this
   * organisation (a set is recorded before the first entity under it, ADR 9): any search answers none,
   * without the query on attributes, which on FerretDB reads every organisation's entities (the guide's
   * read-back polled right after the first events took over 60 s each at 200,000 stored entities).
   */
  private async byUniqueIds(
    org: string,
    schema: string,
    where: Record<string, string>,
  ): Promise<EntityDoc[] | undefined> {
    const id = KeySets.id(org, schema);
    const sets = (await this.keySets.read([id])).get(id);
    if (!sets || sets.size === 0) return [];
    const names = Object.keys(where);
    if (names.length === 0 || names.length > MAX_ID_NAMES) return undefined;
    if (!sets.has(keySetOf(where))) return undefined;
    const found = await atDerivedIds(this.repository, org, schema, candidates(where));
    if (found.length > 0) return found;
    // Nothing at the derived ids. With this one key set that is the answer: the writer too would create the
    // entity there. With others, an entity created under another set may have these values: ask the attributes.
    return sets.size === 1 ? [] : undefined;
  }
}

/**
 * The unique ids a search value can stand for: the plain value, or the nested value of a `_type: email`
 * or `phone` unique id (`[{ "email": v }]`), as the attribute search matches `attr`, `attr.email` and
 * `attr.phone`. Every combination, one per attribute.
 */
export function candidates(where: Record<string, string>): Array<Record<string, unknown>> {
  let out: Array<Record<string, unknown>> = [{}];
  for (const [name, value] of Object.entries(where)) {
    const forms = [value, [{ email: value }], [{ phone: value }]];
    out = out.flatMap((partial) => forms.map((form) => ({ ...partial, [name]: form })));
  }
  return out;
}
