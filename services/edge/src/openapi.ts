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
  '/v2/hub/pipeline': {
    get: {
      operationId: 'getPipeline',
      tags: ['Operations (hub)'],
      summary: "The pipeline's consumer lag and retained dead letters",
      description:
        "Measured on the broker (at most once a second): what each consumer group has yet to process on its topic, per partition, and how many dead letters the dead-letter topic retains. Figures of the hub itself, shared by every organisation; no organisation's data. Needs the operator's grant `hub:operate` (an organisation's grants are answered 403).",
      responses: {
        '200': {
          description: 'The figures',
          content: {
            'application/json': {
              schema: {
                type: 'object',
                required: ['measured_at', 'consumer_groups', 'dead_letters'],
                properties: {
                  measured_at: { type: 'string', format: 'date-time' },
                  consumer_groups: {
                    type: 'array',
                    items: {
                      type: 'object',
                      required: ['group', 'topic', 'lag', 'partitions'],
                      properties: {
                        group: { type: 'string' },
                        topic: { type: 'string' },
                        lag: { type: 'integer', minimum: 0 },
                        partitions: {
                          type: 'array',
                          items: {
                            type: 'object',
                            required: ['partition', 'lag'],
                            properties: {
                              partition: { type: 'integer', minimum: 0 },
                              lag: { type: 'integer', minimum: 0 },
                            },
                          },
                        },
                      },
                    },
                  },
                  dead_letters: {
                    type: 'object',
                    required: ['topic', 'retained'],
                    properties: { topic: { type: 'string' }, retained: { type: 'integer', minimum: 0 } },
                  },
                },
              },
            },
          },
        },
        '401': { $ref: '#/components/responses/Unauthorized' },
        '403': { $ref: '#/components/responses/Forbidden' },
        '503': { description: 'The broker could not be asked; retry' },
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
  const all: Json = { ...paths, ...ourPaths };
  for (const item of Object.values(all) as Json[]) {
    for (const [method, op] of Object.entries(item)) {
      if (method !== 'parameters' && op && typeof op === 'object') documentOurAnswers(op as Json);
    }
  }
  const info = reference.info as Json;
  const components = reference.components as Json;
  return {
    ...reference,
    components: {
      ...components,
      schemas: withOurUseCaseFields(components.schemas as Json),
      responses: { ...(components.responses as Json), ...OUR_RESPONSES },
    },
    info: {
      title: 'ERP integration hub API',
      version: '0.1.0',
      description: `Compatible with ${info.title} ${info.version} for the operations listed here; see docs/api-differences.md for deliberate differences.`,
    },
    servers: [{ url: baseUrl }],
    paths: all,
  };
}

/**
 * Our additive fields of every use case we return (ADR 0015, decision 13; docs/api-differences.md): its
 * `status`, and while it is quarantined since when and why. Optional, so a client of the reference
 * ignores them.
 */
const OUR_USE_CASE_FIELDS: Json = {
  status: {
    type: 'string',
    enum: ['active', 'quarantined'],
    description:
      "Ours. `quarantined`: the use case's events kept hitting the mapping budget, so the hub parks them (none is lost) until the configuration changes; any saved change makes a new version, lifts the quarantine and the parked events are mapped with it. `active` otherwise.",
  },
  quarantined_since: {
    type: 'string',
    format: 'date-time',
    description: 'Ours, only while `status` is `quarantined`: when the hub quarantined this version.',
  },
  quarantine_code: {
    type: 'string',
    description: 'Ours, only while `status` is `quarantined`: `USE_CASE_QUARANTINED`.',
  },
  quarantine_reason: {
    type: 'string',
    description: 'Ours, only while `status` is `quarantined`: what happened and how to resume.',
  },
};

function withOurUseCaseFields(schemas: Json): Json {
  const base = schemas.UseCaseBase as Json | undefined;
  if (!base) return schemas;
  return {
    ...schemas,
    UseCaseBase: { ...base, properties: { ...(base.properties as Json), ...OUR_USE_CASE_FIELDS } },
  };
}

const errorBody = (description: string) => ({
  description,
  content: { 'application/json': { schema: { $ref: '#/components/schemas/ErrorResponseBase' } } },
});

/** Answers of ours that the reference does not declare (docs/api-differences.md), in its error shape. */
const OUR_RESPONSES: Json = {
  PayloadTooLarge: errorBody('The request body is over the limit (`PAYLOAD_TOO_LARGE`)'),
  UnsupportedMediaType: errorBody('The body is not `application/json` (`UNSUPPORTED_MEDIA_TYPE`)'),
  Unprocessable: errorBody('The configuration or payload cannot be mapped, or a limit was reached'),
  TooManyRequests: errorBody('Over the per-organisation rate limit (`RATE_LIMITED`); see `Retry-After`'),
  ServiceUnavailable: errorBody(
    'A dependency or the service behind the base URL is unavailable or too slow; retry after `Retry-After`',
  ),
};

const BODY_METHODS = new Set(['post', 'put', 'patch']);

/**
 * Declares every status an operation can answer (issue 10, item 13): the reference leaves out 400 for
 * malformed parameters, 403, 404 on several operations, 409, 413/415 for bodies, 422, 429 and 503/504.
 * Declaring them changes nothing for a client written for the reference: it still gets the same shapes.
 */
function documentOurAnswers(op: Json): void {
  const responses = { ...((op.responses as Json | undefined) ?? {}) };
  const add = (status: string, ref: string) => {
    if (!(status in responses)) responses[status] = { $ref: `#/components/responses/${ref}` };
  };
  const open = Array.isArray(op.security) && op.security.length === 0;
  const hasBody = op.requestBody !== undefined;
  const operationId = String(op.operationId ?? '');
  if (!open) {
    add('400', 'BadRequest');
    add('401', 'Unauthorized');
    add('403', 'Forbidden');
    add('404', 'NotFound');
    add('429', 'TooManyRequests');
    add('500', 'InternalServerError');
  }
  if (hasBody || BODY_METHODS.has(String(op.method))) {
    add('413', 'PayloadTooLarge');
    add('415', 'UnsupportedMediaType');
  }
  if (/UseCase|IntegrationV2|AppMapping/.test(operationId)) add('409', 'Conflict');
  if (/simulateMapping/.test(operationId)) add('422', 'Unprocessable');
  add('503', 'ServiceUnavailable');
  add('504', 'ServiceUnavailable');
  op.responses = responses;
}
