import type { QuarantineView } from '@hub/contracts';
import { badRequest, conflict, GRANTS, type HttpServer, notFound, requireGrant } from '@hub/http';
import Type from 'typebox';
import {
  AppMappingBody,
  decodeCursor,
  encodeCursor,
  HistoryQuery,
  IntegrationParams,
  UseCaseBody,
  UseCaseParams,
  UseCaseUpdateBody,
  useCaseViews,
} from '../api.js';
import { entryDelta, type OrgConfigurationBudget, patchedUseCase, projectedUseCase } from '../budget.js';
import type { ConfigPublisher } from '../publisher.js';
import type { IntegrationsRepository } from '../repository.js';
import type { UseCaseService } from '../use-cases.js';

export interface UseCaseRoutesDeps {
  repository: IntegrationsRepository;
  publisher: ConfigPublisher;
  useCases: UseCaseService;
  /** The organisation's configuration budget (ADR 0015, decision 14), checked before every write. */
  budget: OrgConfigurationBudget;
  /** The quarantined use case revisions, mirrored from `erp.mapper.quarantines` (the use case's `status`). */
  quarantines: QuarantineView;
}

export function registerUseCaseRoutes(app: HttpServer, deps: UseCaseRoutesDeps): void {
  const { repository, publisher, useCases, budget } = deps;
  const view = { onRequest: requireGrant(GRANTS.view) };
  const manage = { onRequest: requireGrant(GRANTS.manage) };

  const requireIntegration = async (orgId: string, integrationId: string) => {
    const integration = await repository.getIntegration(orgId, integrationId);
    if (!integration) throw notFound(`integration ${integrationId} not found`, 'INTEGRATION_NOT_FOUND');
    return integration;
  };

  app.get(
    '/v1/integrations/:integrationId/use-cases',
    { ...view, schema: { params: IntegrationParams } },
    async (request) => {
      const { orgId } = request.principal;
      await requireIntegration(orgId, request.params.integrationId);
      const list = await repository.listUseCases(orgId, request.params.integrationId);
      return { use_cases: list.map(useCaseViews(deps.quarantines, orgId)) };
    },
  );

  app.post(
    '/v1/integrations/:integrationId/use-cases',
    { ...manage, schema: { params: IntegrationParams, body: UseCaseBody } },
    async (request, reply) => {
      const { orgId, subject } = request.principal;
      const { integrationId } = request.params;
      const input = useCases.validate(request.body);
      await requireIntegration(orgId, integrationId);
      useCases.checkUseCaseCount((await repository.listUseCases(orgId, integrationId)).length + 1);
      const growth = entryDelta(undefined, projectedUseCase(integrationId, input, subject));
      // The use case and the integration's new revision together, or neither.
      const created = await budget.checkGrowth(orgId, integrationId, growth, () =>
        repository.transaction(async (tx) => {
          const made = await useCases.create(orgId, integrationId, input, subject, undefined, tx);
          await repository.touchIntegration(orgId, integrationId, tx);
          return made;
        }),
      );
      await publisher.publish(orgId, integrationId, request.id);
      return reply.code(201).send(useCaseViews(deps.quarantines, orgId)(created));
    },
  );

  app.get(
    '/v1/integrations/:integrationId/use-cases/:useCaseId',
    { ...view, schema: { params: UseCaseParams } },
    async (request) => {
      const { integrationId, useCaseId } = request.params;
      const found = await repository.getUseCase(request.principal.orgId, integrationId, useCaseId);
      if (!found)
        throw notFound(
          `use case ${useCaseId} not found in integration ${integrationId}`,
          'USE_CASE_NOT_FOUND',
        );
      return useCaseViews(deps.quarantines, request.principal.orgId)(found);
    },
  );
}

export function registerUseCaseChangeRoutes(app: HttpServer, deps: UseCaseRoutesDeps): void {
  const { repository, publisher, useCases, budget } = deps;
  const view = { onRequest: requireGrant(GRANTS.view) };
  const manage = { onRequest: requireGrant(GRANTS.manage) };
  const missing = (integrationId: string, useCaseId: string) =>
    notFound(`use case ${useCaseId} not found in integration ${integrationId}`, 'USE_CASE_NOT_FOUND');

  app.put(
    '/v1/integrations/:integrationId/use-cases/:useCaseId',
    { ...manage, schema: { params: UseCaseParams, body: UseCaseUpdateBody } },
    async (request) => {
      const { orgId, subject } = request.principal;
      const { integrationId, useCaseId } = request.params;
      const current = await repository.getUseCase(orgId, integrationId, useCaseId);
      if (!current) throw missing(integrationId, useCaseId);
      const patch = useCases.validateUpdate(current, request.body);
      const growth = entryDelta(current, patchedUseCase(current, patch, subject));
      // Version check, history entry and the integration's new revision together, or none of them.
      const updated = await budget.checkGrowth(orgId, integrationId, growth, () =>
        repository.transaction(async (tx) => {
          const saved = await repository.updateUseCase(orgId, integrationId, useCaseId, patch, subject, tx);
          if (saved) await repository.touchIntegration(orgId, integrationId, tx);
          return saved;
        }),
      );
      if (!updated) throw missing(integrationId, useCaseId);
      await publisher.publish(orgId, integrationId, request.id);
      return useCaseViews(deps.quarantines, orgId)(updated);
    },
  );

  app.delete(
    '/v1/integrations/:integrationId/use-cases/:useCaseId',
    { ...manage, schema: { params: UseCaseParams } },
    async (request) => {
      const { orgId } = request.principal;
      const { integrationId, useCaseId } = request.params;
      const deleted = await repository.transaction(async (tx) => {
        const gone = await repository.deleteUseCase(orgId, integrationId, useCaseId, tx);
        if (gone) await repository.touchIntegration(orgId, integrationId, tx);
        return gone;
      });
      if (!deleted) throw missing(integrationId, useCaseId);
      await publisher.publish(orgId, integrationId, request.id);
      return { message: `use case ${useCaseId} deleted` };
    },
  );

  app.get(
    '/v1/integrations/:integrationId/use-cases/:useCaseId/history',
    { ...view, schema: { params: UseCaseParams, querystring: HistoryQuery } },
    async (request) => {
      const { orgId } = request.principal;
      const { integrationId, useCaseId } = request.params;
      if (!(await repository.getUseCase(orgId, integrationId, useCaseId)))
        throw missing(integrationId, useCaseId);
      let after: { at: string; id: string } | undefined;
      if (request.query.cursor) {
        after = decodeCursor(request.query.cursor, ['at', 'id'] as const);
        if (!after) throw badRequest('cursor: not a cursor this endpoint returned', 'INVALID_CURSOR');
      }
      const page = await repository.listHistory(orgId, useCaseId, HISTORY_PAGE + 1, after);
      const history = page.slice(0, HISTORY_PAGE);
      const last = history[history.length - 1];
      return {
        history,
        ...(page.length > HISTORY_PAGE && last
          ? { next_cursor: encodeCursor({ at: last.history_created_at, id: last.id }) }
          : {}),
      };
    },
  );

  app.put(
    '/v1/integrations/:integrationId/app-mapping',
    { ...manage, schema: { params: IntegrationParams, body: AppMappingBody } },
    async (request) => {
      const { orgId } = request.principal;
      const { integrationId } = request.params;
      if (!(await repository.getIntegration(orgId, integrationId))) {
        throw notFound(`integration ${integrationId} not found`, 'INTEGRATION_NOT_FOUND');
      }
      const { app_id, component_id, overwrite } = request.body;
      const result = await budget.checkGrowth(
        orgId,
        integrationId,
        entryDelta(undefined, { app_id, component_id }),
        async () => {
          const set = await repository.setAppMapping(
            orgId,
            integrationId,
            app_id,
            component_id,
            overwrite ?? false,
          );
          if (set !== 'exists') await repository.touchIntegration(orgId, integrationId);
          return set;
        },
      );
      if (result === 'exists') {
        throw conflict(
          `app ${app_id} component ${component_id} is already mapped to another integration; send overwrite: true to replace`,
          'APP_MAPPING_EXISTS',
        );
      }
      await publisher.publish(orgId, integrationId, request.id);
      if (result.previous) {
        await repository.touchIntegration(orgId, result.previous);
        await publisher.publish(orgId, result.previous, request.id);
      }
      return { integration_id: integrationId };
    },
  );

  app.delete(
    '/v1/integrations/:integrationId/app-mapping',
    { ...manage, schema: { params: IntegrationParams, body: Type.Omit(AppMappingBody, ['overwrite']) } },
    async (request) => {
      const { orgId } = request.principal;
      const { integrationId } = request.params;
      const { app_id, component_id } = request.body;
      if (!(await repository.deleteAppMapping(orgId, integrationId, app_id, component_id))) {
        throw notFound(
          `no app mapping for app ${app_id} component ${component_id} on this integration`,
          'APP_MAPPING_NOT_FOUND',
        );
      }
      await repository.touchIntegration(orgId, integrationId);
      await publisher.publish(orgId, integrationId, request.id);
      return { message: 'app mapping deleted' };
    },
  );
}

const HISTORY_PAGE = 20;
