import { badRequest, GRANTS, type HttpServer, notFound, requireGrant } from '@hub/http';
import Type from 'typebox';
import { type ReadingsRepository, readingView } from './readings-repository.js';
import { type EntitiesRepository, entityView } from './repository.js';
import type { EntitySearch } from './search.js';

/** Entity reads (our addition to the API): see what landed. */
export function registerEntityRoutes(
  app: HttpServer,
  repository: EntitiesRepository,
  readings: ReadingsRepository,
  search: EntitySearch,
): void {
  const view = { onRequest: requireGrant(GRANTS.view) };

  app.get(
    '/v1/entity/:slug/:id/meter-readings',
    {
      ...view,
      schema: {
        params: Type.Object({ slug: Type.String({ minLength: 1 }), id: Type.String({ minLength: 1 }) }),
      },
    },
    async (request) => {
      const { slug, id } = request.params;
      const orgId = request.principal.orgId;
      const doc = await repository.get(orgId, id);
      if (!doc || doc._schema !== slug || doc._deleted_at)
        throw notFound(`${slug} entity ${id} not found`, 'ENTITY_NOT_FOUND');
      return { results: (await readings.ofMeter(orgId, id)).map(readingView) };
    },
  );

  app.get(
    '/v1/entity/:slug/:id',
    {
      ...view,
      schema: {
        params: Type.Object({ slug: Type.String({ minLength: 1 }), id: Type.String({ minLength: 1 }) }),
      },
    },
    async (request) => {
      const { slug, id } = request.params;
      const doc = await repository.get(request.principal.orgId, id);
      if (!doc || doc._schema !== slug || doc._deleted_at)
        throw notFound(`${slug} entity ${id} not found`, 'ENTITY_NOT_FOUND');
      return { entity: entityView(doc) };
    },
  );

  app.get(
    '/v1/entity/:slug',
    {
      ...view,
      schema: {
        params: Type.Object({ slug: Type.String({ minLength: 1 }) }),
        querystring: Type.Object(
          {
            limit: Type.Optional(Type.String({ pattern: '^[0-9]+$' })),
            cursor: Type.Optional(Type.String({ minLength: 1 })),
          },
          { additionalProperties: Type.String() },
        ),
      },
    },
    async (request) => {
      const { limit: rawLimit, cursor, ...where } = request.query as Record<string, string>;
      for (const key of Object.keys(where)) {
        const problem = searchKeyProblem(key);
        if (problem) throw badRequest(`query parameter ${JSON.stringify(key)}: ${problem}`, 'QUERY_INVALID');
      }
      const limit = Number(rawLimit ?? 50);
      if (limit < 1 || limit > 500) {
        throw badRequest(`limit: must be between 1 and 500 (got ${rawLimit})`, 'QUERY_INVALID');
      }
      const docs = await search.search(
        request.principal.orgId,
        request.params.slug,
        where,
        limit + 1,
        cursor,
      );
      const page = docs.slice(0, limit);
      return {
        results: page.map(entityView),
        ...(docs.length > limit && page.length > 0 ? { next_cursor: page[page.length - 1]!._id } : {}),
      };
    },
  );
}

/**
 * A search matches attribute values, nested ones by a dotted path (`address.city`). Database operators
 * (`$where`, `a.$ne`) and our bookkeeping (`_hub...`) are refused (issue 10).
 */
export function searchKeyProblem(key: string): string | undefined {
  const segments = key.split('.');
  if (segments.some((s) => s === '')) return 'is not an attribute path';
  if (segments.some((s) => s.startsWith('$'))) return 'a path segment must not start with "$"';
  if (key.includes('\u0000')) return 'must not contain the NUL character';
  if (segments[0] === '_hub') return 'is not an attribute';
  return undefined;
}
