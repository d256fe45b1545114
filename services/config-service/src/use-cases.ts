import { SUPPORTED_USE_CASE_TYPES, USE_CASE_TYPES, type UseCaseRecord } from '@hub/contracts';
import { badRequest, conflict } from '@hub/http';
import { validateInboundConfiguration } from '@hub/mapping';
import type { IntegrationsRepository, UseCaseInput, UseCasePatch } from './repository.js';

export interface UseCaseRequest {
  name: string;
  slug?: string;
  type: string;
  enabled: boolean;
  configuration?: unknown;
  change_description?: string;
}

export interface UseCaseUpdate {
  name?: string;
  slug?: string;
  type?: string;
  enabled?: boolean;
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
    if (body.type === 'inbound') checkInboundConfiguration(body.configuration, at);
    return {
      name: body.name,
      ...(body.slug ? { slug: body.slug } : {}),
      type: body.type as UseCaseRecord['type'],
      enabled: body.enabled,
      ...(body.configuration !== undefined ? { configuration: body.configuration } : {}),
      ...(body.change_description ? { change_description: body.change_description } : {}),
    };
  }

  /** Checks an update against the stored use case: slug immutable once set, type unchangeable. */
  validateUpdate(current: UseCaseRecord, body: UseCaseUpdate, at = 'body'): UseCasePatch {
    if (body.slug !== undefined && body.slug !== current.slug) {
      throw badRequest(`${at}.slug: the slug "${current.slug}" is immutable once set`, 'SLUG_IMMUTABLE');
    }
    if (body.type !== undefined && body.type !== current.type) {
      throw badRequest(`${at}.type: a use case's type cannot change (it is "${current.type}")`);
    }
    if (current.type === 'inbound') checkInboundConfiguration(body.configuration, at);
    return {
      ...(body.name !== undefined ? { name: body.name } : {}),
      ...(body.enabled !== undefined ? { enabled: body.enabled } : {}),
      ...(body.configuration !== undefined ? { configuration: body.configuration } : {}),
      ...(body.change_description ? { change_description: body.change_description } : {}),
    };
  }

  async create(
    orgId: string,
    integrationId: string,
    input: UseCaseInput,
    changedBy: string,
    id?: string,
  ): Promise<UseCaseRecord> {
    const created = await this.repository.createUseCase(orgId, integrationId, input, changedBy, id);
    if (created === 'slug_taken') {
      throw conflict(`a use case with slug "${input.slug}" already exists in this integration`, 'SLUG_TAKEN');
    }
    return created;
  }
}

/** An inbound configuration, when given, must validate: 400 listing every problem with its path. */
function checkInboundConfiguration(configuration: unknown, at: string): void {
  if (configuration === undefined) return;
  const problems = validateInboundConfiguration(configuration, `${at}.configuration`);
  if (problems.length > 0) {
    throw badRequest(
      `invalid configuration: ${problems.map((p) => `${p.path}: ${p.message}`).join('; ')}`,
      'INVALID_CONFIGURATION',
    );
  }
}
