import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

type Json = Record<string, unknown>;

/** The reference's operations this server implements (API_SCOPE.md). */
export const SERVED_OPERATIONS = [
  'processErpUpdatesEvents',
  'processErpUpdatesEventsV2',
  'processErpUpdatesEventsV3',
  'simulateMappingV2',
  'simulateMapping',
  'listIntegrations',
  'createIntegration',
  'getIntegration',
  'updateIntegration',
  'deleteIntegration',
  'listIntegrationsV2',
  'createIntegrationV2',
  'getIntegrationV2',
  'updateIntegrationV2',
  'deleteIntegrationV2',
  'listUseCases',
  'createUseCase',
  'getUseCase',
  'updateUseCase',
  'deleteUseCase',
  'listUseCaseHistory',
  'setIntegrationAppMapping',
  'deleteIntegrationAppMapping',
  'queryEvents',
  'replayEvents',
  'queryInboundMonitoringEvents',
  'getMonitoringStats',
  'getMonitoringTimeSeries',
  'queryMonitoringEventsV2',
  'getMonitoringStatsV2',
  'getMonitoringTimeSeriesV2',
  'getAssociatedMonitoringEvents',
  'getMonitoringTraceByCorrelation',
  'ingestExternalMonitoringEvents',
] as const;

const referencePath = fileURLToPath(new URL('../openapi/integration-toolkit-openapi.json', import.meta.url));

const error = { $ref: '#/components/responses/NotFound' };
const ourPaths: Json = {
  '/v1/entity/{slug}/{id}': {
    get: {
      operationId: 'getEntity',
      tags: ['Entities (hub)'],
      summary: 'Read one entity by id',
      parameters: [
        {
          name: 'slug',
          in: 'path',
          required: true,
          schema: { type: 'string' },
          description: 'Entity schema, e.g. contact',
        },
        { name: 'id', in: 'path', required: true, schema: { type: 'string' } },
      ],
      responses: {
        '200': {
          description: 'The entity',
          content: {
            'application/json': { schema: { type: 'object', properties: { entity: { type: 'object' } } } },
          },
        },
        '401': { $ref: '#/components/responses/Unauthorized' },
        '404': error,
      },
    },
  },
  '/v1/entity/{slug}': {
    get: {
      operationId: 'searchEntities',
      tags: ['Entities (hub)'],
      summary: 'Find entities by exact attribute values',
      description:
        'Every query parameter other than `limit` and `cursor` is an attribute that must equal the value; email and phone attributes match their nested value.',
      parameters: [
        { name: 'slug', in: 'path', required: true, schema: { type: 'string' } },
        { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 500, default: 50 } },
        { name: 'cursor', in: 'query', schema: { type: 'string' } },
      ],
      responses: {
        '200': {
          description: 'Matching entities, ordered by id',
          content: {
            'application/json': {
              schema: {
                type: 'object',
                required: ['results'],
                properties: {
                  results: { type: 'array', items: { type: 'object' } },
                  next_cursor: { type: 'string' },
                },
              },
            },
          },
        },
        '401': { $ref: '#/components/responses/Unauthorized' },
      },
    },
  },
  '/healthz': {
    get: {
      operationId: 'liveness',
      tags: ['Operations (hub)'],
      security: [],
      responses: { '200': { description: 'Alive' } },
    },
  },
  '/readyz': {
    get: {
      operationId: 'readiness',
      tags: ['Operations (hub)'],
      security: [],
      responses: {
        '200': { description: 'Every service is ready' },
        '503': { description: 'Some service is not ready' },
      },
    },
  },
  '/metrics': {
    get: {
      operationId: 'metrics',
      tags: ['Operations (hub)'],
      security: [],
      responses: { '200': { description: 'Prometheus text' } },
    },
  },
};

/**
 * Our OpenAPI document: the reference's paths, operation ids and schemas for the operations we serve
 * (unchanged, so generated clients keep working), plus our additions, with our base URL.
 */
export function buildOpenApi(
  baseUrl: string,
  reference: Json = JSON.parse(readFileSync(referencePath, 'utf8')),
): Json {
  const served = new Set<string>(SERVED_OPERATIONS);
  const paths: Json = {};
  for (const [p, item] of Object.entries(reference.paths as Record<string, Json>)) {
    const kept: Json = {};
    for (const [method, op] of Object.entries(item)) {
      if (op && typeof op === 'object' && served.has(String((op as Json).operationId))) kept[method] = op;
      else if (method === 'parameters') kept[method] = op;
    }
    if (Object.keys(kept).some((k) => k !== 'parameters')) paths[p] = kept;
  }
  const info = reference.info as Json;
  return {
    ...reference,
    info: {
      title: 'ERP integration hub API',
      version: '0.1.0',
      description: `Compatible with ${info.title} ${info.version} for the operations listed here; see docs/api-differences.md for deliberate differences.`,
    },
    servers: [{ url: baseUrl }],
    paths: { ...paths, ...ourPaths },
  };
}
