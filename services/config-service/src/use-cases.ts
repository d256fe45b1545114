import { SUPPORTED_USE_CASE_TYPES, USE_CASE_TYPES, type UseCaseRecord } from '@hub/contracts';
import { badRequest, conflict } from '@hub/http';
import { validateInboundConfiguration } from '@hub/mapping';
import type { IntegrationsRepository, UseCaseInput } from './repository.js';

export interface UseCaseRequest {
  name: string;
  slug?: string;
  type: string;
  enabled: boolean;
  configuration?: unknown;
  change_description?: string;
}

/** Use-case rules shared by the v1 routes and the v2 embedded use cases. */
export class UseCaseService {
  constructor(private readonly repository: IntegrationsRepository) {}

  /** Checks the type and, for inbound use cases, the whole mapping configuration; 400 lists every problem. */
  validate(body: UseCaseRequest, at = 'body'): UseCaseInput {
    if (!(USE_CASE_TYPES as readonly string[]).includes(body.type)) {
      throw badRequest(
        `${at}.type: unknown use case type "${body.type}"; expected one of ${USE_CASE_TYPES.join(', ')}`,
      );
    }
    if (!(SUPPORTED_USE_CASE_TYPES as readonly string[]).includes(body.type)) {
      throw badRequest(
        `${at}.type: use case type "${body.type}" is not supported by this server; supported: ${SUPPORTED_USE_CASE_TYPES.join(', ')}`,
        'UNSUPPORTED_USE_CASE_TYPE',
      );
    }
    if (body.type === 'inbound' && body.configuration !== undefined) {
      const problems = validateInboundConfiguration(body.configuration, `${at}.configuration`);
      if (problems.length > 0) {
        throw badRequest(
          `invalid configuration: ${problems.map((p) => `${p.path}: ${p.message}`).join('; ')}`,
          'INVALID_CONFIGURATION',
        );
      }
    }
    return {
      name: body.name,
      ...(body.slug ? { slug: body.slug } : {}),
      type: body.type as UseCaseRecord['type'],
      enabled: body.enabled,
      ...(body.configuration !== undefined ? { configuration: body.configuration } : {}),
      ...(body.change_description ? { change_description: body.change_description } : {}),
    };
  }

  async create(
    orgId: string,
    integrationId: string,
    input: UseCaseInput,
    changedBy: string,
  ): Promise<UseCaseRecord> {
    const created = await this.repository.createUseCase(orgId, integrationId, input, changedBy);
    if (created === 'slug_taken') {
      throw conflict(`a use case with slug "${input.slug}" already exists in this integration`, 'SLUG_TAKEN');
    }
    return created;
  }
}
