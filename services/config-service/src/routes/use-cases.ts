import { GRANTS, type HttpServer, notFound, requireGrant } from '@hub/http';
import { IntegrationParams, UseCaseBody, UseCaseParams, useCaseView } from '../api.js';
import type { ConfigPublisher } from '../publisher.js';
import type { IntegrationsRepository } from '../repository.js';
import type { UseCaseService } from '../use-cases.js';

export interface UseCaseRoutesDeps {
  repository: IntegrationsRepository;
  publisher: ConfigPublisher;
  useCases: UseCaseService;
}

export function registerUseCaseRoutes(app: HttpServer, deps: UseCaseRoutesDeps): void {
  const { repository, publisher, useCases } = deps;
  const view = { preHandler: requireGrant(GRANTS.view) };
  const manage = { preHandler: requireGrant(GRANTS.manage) };

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
      return { use_cases: list.map(useCaseView) };
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
      const created = await useCases.create(orgId, integrationId, input, subject);
      await repository.touchIntegration(orgId, integrationId);
      await publisher.publish(orgId, integrationId, request.id);
      return reply.code(201).send(useCaseView(created));
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
      return useCaseView(found);
    },
  );
}
