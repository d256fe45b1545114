import type { IntegrationRecord, QuarantineView, UseCaseRecord } from '@hub/contracts';
import { badRequest, conflict, GRANTS, type HttpServer, notFound, requireGrant } from '@hub/http';
import {
  IntegrationBody,
  IntegrationParams,
  integrationView,
  useCaseViews,
  V2IntegrationBody,
} from '../api.js';
import {
  entryDelta,
  newSnapshotBytes,
  type OrgConfigurationBudget,
  patchedUseCase,
  projectedIntegration,
  projectedUseCase,
  recordDelta,
} from '../budget.js';
import type { ConfigPublisher } from '../publisher.js';
import { EDITABLE_INTEGRATION_FIELDS, type IntegrationsRepository } from '../repository.js';
import type { UseCaseService } from '../use-cases.js';

export interface IntegrationRoutesDeps {
  repository: IntegrationsRepository;
  publisher: ConfigPublisher;
  useCases: UseCaseService;
  budget: OrgConfigurationBudget;
  /** The quarantined use case revisions, mirrored from `erp.mapper.quarantines` (the use case's `status`). */
  quarantines: QuarantineView;
}

export function registerIntegrationRoutes(app: HttpServer, deps: IntegrationRoutesDeps): void {
  const { repository, publisher, budget } = deps;
  const integrationAsStored = (orgId: string, fields: Record<string, unknown>, current?: IntegrationRecord) =>
    projectedIntegration(orgId, fields, EDITABLE_INTEGRATION_FIELDS, current);
  const view = { onRequest: requireGrant(GRANTS.view) };
  const manage = { onRequest: requireGrant(GRANTS.manage) };

  const withUseCases = async (orgId: string, integrationId: string) => {
    const integration = await repository.getIntegration(orgId, integrationId);
    if (!integration) return undefined;
    const useCases = await repository.listUseCases(orgId, integrationId);
    return {
      ...integrationView(integration),
      use_cases: useCases.map(useCaseViews(deps.quarantines, orgId)),
    };
  };

  // ---- v1 ----
  app.get('/v1/integrations', view, async (request) => {
    const list = await repository.listIntegrations(request.principal.orgId);
    return { integrations: list.map(integrationView) };
  });

  app.post('/v1/integrations', { ...manage, schema: { body: IntegrationBody } }, async (request, reply) => {
    const { orgId } = request.principal;
    await deps.useCases.checkIntegrationCount(orgId);
    const created = await budget.checkNew(
      orgId,
      newSnapshotBytes(integrationAsStored(orgId, request.body), []),
      () => repository.createIntegration(orgId, request.body),
    );
    await publisher.publish(orgId, created.id, request.id);
    return reply.code(201).send(integrationView(created));
  });

  app.get(
    '/v1/integrations/:integrationId',
    { ...view, schema: { params: IntegrationParams } },
    async (request) => {
      const found = await repository.getIntegration(request.principal.orgId, request.params.integrationId);
      if (!found)
        throw notFound(`integration ${request.params.integrationId} not found`, 'INTEGRATION_NOT_FOUND');
      return integrationView(found);
    },
  );

  app.put(
    '/v1/integrations/:integrationId',
    { ...manage, schema: { params: IntegrationParams, body: IntegrationBody } },
    async (request) => {
      const { orgId } = request.principal;
      const { integrationId } = request.params;
      const current = await repository.getIntegration(orgId, integrationId);
      if (!current) throw notFound(`integration ${integrationId} not found`, 'INTEGRATION_NOT_FOUND');
      const growth = recordDelta(current, integrationAsStored(orgId, request.body, current));
      const updated = await budget.checkGrowth(orgId, integrationId, growth, () =>
        repository.updateIntegration(orgId, integrationId, request.body),
      );
      if (!updated) throw notFound(`integration ${integrationId} not found`, 'INTEGRATION_NOT_FOUND');
      await publisher.publish(orgId, updated.id, request.id);
      return integrationView(updated);
    },
  );

  const remove = async (orgId: string, integrationId: string, correlationId: string) => {
    const deleted = await repository.deleteIntegration(orgId, integrationId);
    if (!deleted) throw notFound(`integration ${integrationId} not found`, 'INTEGRATION_NOT_FOUND');
    await publisher.publishDeleted(orgId, integrationId, correlationId);
    return { message: `integration ${integrationId} and its use cases were deleted` };
  };

  app.delete(
    '/v1/integrations/:integrationId',
    { ...manage, schema: { params: IntegrationParams } },
    (request) => remove(request.principal.orgId, request.params.integrationId, request.id),
  );

  // ---- v2: integrations with embedded use cases ----
  app.get('/v2/integrations', view, async (request) => {
    const { orgId } = request.principal;
    const list = await repository.listIntegrations(orgId);
    const integrations = await Promise.all(list.map((i) => withUseCases(orgId, i.id)));
    return { integrations: integrations.filter((i) => i !== undefined) };
  });

  app.post('/v2/integrations', { ...manage, schema: { body: V2IntegrationBody } }, async (request, reply) => {
    const { orgId, subject } = request.principal;
    const { use_cases: useCaseInputs = [], ...fields } = request.body;
    // Validate every embedded use case before writing anything.
    deps.useCases.checkUseCaseCount(useCaseInputs.length);
    const inputs = useCaseInputs.map((u, i) => deps.useCases.validate(u, `use_cases[${i}]`));
    const slugs = new Set<string>();
    inputs.forEach((input, i) => {
      if (!input.slug) return;
      if (slugs.has(input.slug)) {
        throw conflict(`use_cases[${i}].slug: slug "${input.slug}" is given to two use cases`, 'SLUG_TAKEN');
      }
      slugs.add(input.slug);
    });
    await deps.useCases.checkIntegrationCount(orgId);
    const created = await budget.checkNew(
      orgId,
      newSnapshotBytes(
        integrationAsStored(orgId, fields),
        inputs.map((input) => projectedUseCase(PLACEHOLDER_ID, input, subject)),
      ),
      async () => {
        const made = await repository.createIntegration(orgId, fields);
        for (const input of inputs) await deps.useCases.create(orgId, made.id, input, subject);
        await repository.touchIntegration(orgId, made.id);
        return made;
      },
    );
    await publisher.publish(orgId, created.id, request.id);
    return reply.code(201).send(await withUseCases(orgId, created.id));
  });

  // Declarative sync: the request is the desired state; use cases not listed are deleted.
  app.put(
    '/v2/integrations/:integrationId',
    { ...manage, schema: { params: IntegrationParams, body: V2IntegrationBody } },
    async (request) => {
      const { orgId, subject } = request.principal;
      const { integrationId } = request.params;
      const { use_cases: desired, ...fields } = request.body;
      const current = await repository.getIntegration(orgId, integrationId);
      if (!current) throw notFound(`integration ${integrationId} not found`, 'INTEGRATION_NOT_FOUND');
      if (desired) deps.useCases.checkUseCaseCount(desired.length);
      const existing = new Map((await repository.listUseCases(orgId, integrationId)).map((u) => [u.id, u]));
      // Validate everything before changing anything. An id that is not one of this integration's use
      // cases creates a new use case with a new id, whether or not that id exists elsewhere: another
      // organisation's ids are never revealed (no conflict, no error that only they would cause).
      const listed = new Set<string>();
      const plans = (desired ?? []).map((u, i) => {
        const current = u.id ? existing.get(u.id) : undefined;
        if (current) {
          if (listed.has(current.id)) {
            throw badRequest(`use_cases[${i}].id: use case ${current.id} is listed twice`);
          }
          listed.add(current.id);
          return {
            kind: 'update' as const,
            id: current.id,
            patch: deps.useCases.validateUpdate(current, u, `use_cases[${i}]`),
          };
        }
        return { kind: 'create' as const, at: i, input: deps.useCases.validate(u, `use_cases[${i}]`) };
      });
      // Slugs: those kept, then each created one in order; a clash is refused before any write.
      const slugs = new Set([...listed].map((id) => existing.get(id)?.slug));
      for (const plan of plans) {
        if (plan.kind !== 'create' || !plan.input.slug) continue;
        if (slugs.has(plan.input.slug)) {
          throw conflict(
            `use_cases[${plan.at}].slug: a use case with slug "${plan.input.slug}" already exists in this integration`,
            'SLUG_TAKEN',
          );
        }
        slugs.add(plan.input.slug);
      }
      // What the snapshot would grow by, within the organisation's configuration budget.
      let growth = recordDelta(current, integrationAsStored(orgId, fields, current));
      if (desired) {
        for (const [id, useCase] of existing) if (!listed.has(id)) growth += entryDelta(useCase, undefined);
      }
      for (const plan of plans) {
        if (plan.kind === 'update') {
          const before = existing.get(plan.id) as UseCaseRecord;
          growth += entryDelta(before, patchedUseCase(before, plan.patch, subject));
        } else growth += entryDelta(undefined, projectedUseCase(integrationId, plan.input, subject));
      }
      // The integration and all its use-case changes together, or none of them.
      await budget.checkGrowth(orgId, integrationId, growth, () =>
        repository.transaction(async (tx) => {
          await repository.updateIntegration(orgId, integrationId, fields, tx);
          // Deletions first, so a created use case may take a slug that a deleted one had.
          if (desired) {
            for (const id of existing.keys())
              if (!listed.has(id)) await repository.deleteUseCase(orgId, integrationId, id, tx);
          }
          for (const plan of plans) {
            if (plan.kind === 'update')
              await repository.updateUseCase(orgId, integrationId, plan.id, plan.patch, subject, tx);
            else await deps.useCases.create(orgId, integrationId, plan.input, subject, undefined, tx);
          }
          await repository.touchIntegration(orgId, integrationId, tx);
        }),
      );
      await publisher.publish(orgId, integrationId, request.id);
      return withUseCases(orgId, integrationId);
    },
  );

  app.get(
    '/v2/integrations/:integrationId',
    { ...view, schema: { params: IntegrationParams } },
    async (request) => {
      const found = await withUseCases(request.principal.orgId, request.params.integrationId);
      if (!found)
        throw notFound(`integration ${request.params.integrationId} not found`, 'INTEGRATION_NOT_FOUND');
      return found;
    },
  );

  app.delete(
    '/v2/integrations/:integrationId',
    { ...manage, schema: { params: IntegrationParams } },
    (request) => remove(request.principal.orgId, request.params.integrationId, request.id),
  );
}

/** An integration id of the length the repository gives, for sizing a snapshot before it exists. */
const PLACEHOLDER_ID = '00000000-0000-0000-0000-000000000000';
