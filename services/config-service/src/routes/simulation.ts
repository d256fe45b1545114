import { ApiError, badRequest, type FairQueue, GRANTS, type HttpServer, requireGrant } from '@hub/http';
import {
  ConfigurationError,
  MappingBudgetError,
  type MappingSandbox,
  PayloadError,
  simulateInSandbox,
} from '@hub/mapping';
import Type from 'typebox';
import { convertV1Object } from '../v1-mapping.js';

const Payload = Type.Union([Type.String(), Type.Object({})]);
const Format = Type.Union([Type.Literal('json'), Type.Literal('xml')], { default: 'json' });

const SimulationV2Body = Type.Object({
  event_configuration: Type.Object({}),
  format: Format,
  payload: Payload,
});

const SimulationV1Body = Type.Object({
  mapping_configuration: Type.Object({
    version: Type.Optional(Type.Union([Type.Literal('1.0'), Type.Literal('2.0')])),
    mapping: Type.Object({}),
  }),
  object_type: Type.String({ minLength: 1 }),
  format: Format,
  payload: Payload,
});

const unprocessable = (code: string, message: string) => new ApiError(422, code, message);

/**
 * Runs the mapping engine the mapper runs, on a configuration that need not be saved, in the sandbox: a
 * simulation past its deadline or memory cap is a 422 naming the limit, and never stalls or kills the service.
 */
async function run(
  sandbox: MappingSandbox,
  queue: FairQueue,
  configuration: unknown,
  payload: unknown,
  format: 'json' | 'xml',
  at: string,
  orgId: string,
) {
  try {
    const { response } = await queue.run(orgId, () =>
      simulateInSandbox(sandbox, configuration, payload, format, orgId),
    );
    return response;
  } catch (err) {
    if (err instanceof ConfigurationError) {
      throw unprocessable(
        'INVALID_CONFIGURATION',
        err.problems.map((p) => `${p.path.replace(/^configuration/, at)}: ${p.message}`).join('; '),
      );
    }
    if (err instanceof PayloadError) throw unprocessable('INVALID_PAYLOAD', `payload: ${err.message}`);
    if (err instanceof MappingBudgetError) {
      if (err.busy) {
        throw new ApiError(
          503,
          'SIMULATION_BUSY',
          `too many simulations of this organisation at once: ${err.message}`,
          {
            'retry-after': '2',
          },
        );
      }
      throw unprocessable('MAPPING_BUDGET_EXCEEDED', `${at}: ${err.message}`);
    }
    throw err;
  }
}

/**
 * The simulation routes. `queue` takes each organisation's simulations in turn (one at a time by default),
 * within its budget of running time, and answers 429 with `Retry-After` past its limits (ADR 0015,
 * decisions 3 and 24).
 */
export function registerSimulationRoutes(app: HttpServer, sandbox: MappingSandbox, queue: FairQueue): void {
  const view = { onRequest: requireGrant(GRANTS.view) };

  app.post('/v2/erp/updates/mapping_simulation', { ...view, schema: { body: SimulationV2Body } }, (request) =>
    run(
      sandbox,
      queue,
      request.body.event_configuration,
      request.body.payload,
      request.body.format,
      'event_configuration',
      request.principal.orgId,
    ),
  );

  app.post(
    '/v1/erp/updates/mapping_simulation',
    { ...view, schema: { body: SimulationV1Body } },
    async (request) => {
      const { mapping_configuration: config, object_type: objectType, format, payload } = request.body;
      const mapping = config.mapping as Record<string, Record<string, unknown> | undefined>;
      if (config.version === '2.0') {
        const events = mapping.events;
        if (!events || typeof events !== 'object')
          throw badRequest('mapping_configuration.mapping.events is required for version 2.0');
        const event = events[objectType];
        if (!event) {
          throw unprocessable(
            'UNKNOWN_OBJECT_TYPE',
            `object_type "${objectType}" is not a key of mapping_configuration.mapping.events`,
          );
        }
        return run(
          sandbox,
          queue,
          event,
          payload,
          format,
          `mapping_configuration.mapping.events.${objectType}`,
          request.principal.orgId,
        );
      }
      const objects = mapping.objects;
      if (!objects || typeof objects !== 'object')
        throw badRequest('mapping_configuration.mapping.objects is required for version 1.0');
      const object = objects[objectType];
      if (!object) {
        throw unprocessable(
          'UNKNOWN_OBJECT_TYPE',
          `object_type "${objectType}" is not a key of mapping_configuration.mapping.objects`,
        );
      }
      return run(
        sandbox,
        queue,
        convertV1Object(object),
        payload,
        format,
        `mapping_configuration.mapping.objects.${objectType}`,
        request.principal.orgId,
      );
    },
  );
}
