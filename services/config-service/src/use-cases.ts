import { SUPPORTED_USE_CASE_TYPES, USE_CASE_TYPES, type UseCaseRecord } from '@hub/contracts';
import { badRequest, conflict } from '@hub/http';
import { validateInboundConfiguration } from '@hub/mapping';
import type { Transaction } from '@hub/mongo';
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

/**
 * Quotas per organisation (issue 10, item 5): every gateway and mapper holds every configuration in memory,
 * and an integration's snapshot travels as one Kafka message.
 */
export interface ConfigurationQuotas {
  integrationsPerOrg: number;
  useCasesPerIntegration: number;
  /** A use case's configuration as JSON, in bytes. */
  configurationBytes: number;
}

export const DEFAULT_QUOTAS: ConfigurationQuotas = {
  integrationsPerOrg: 200,
  useCasesPerIntegration: 100,
  configurationBytes: 256 * 1024,
};

const limitExceeded = (message: string) => badRequest(message, 'LIMIT_EXCEEDED');

/** Use-case rules shared by the v1 routes and the v2 embedded use cases. */
export class UseCaseService {
  constructor(
    private readonly repository: IntegrationsRepository,
    readonly quotas: ConfigurationQuotas = DEFAULT_QUOTAS,
  ) {}

  /** 400 LIMIT_EXCEEDED when an integration would hold more use cases than the quota. */
  checkUseCaseCount(count: number, at = 'use_cases'): void {
    if (count > this.quotas.useCasesPerIntegration) {
      throw limitExceeded(
        `${at}: an integration holds at most ${this.quotas.useCasesPerIntegration} use cases (this would make ${count})`,
      );
    }
  }

  /** 400 LIMIT_EXCEEDED when the organisation already has as many integrations as its quota allows. */
  async checkIntegrationCount(orgId: string): Promise<void> {
    const count = await this.repository.countIntegrations(orgId);
    if (count >= this.quotas.integrationsPerOrg) {
      throw limitExceeded(
        `an organisation holds at most ${this.quotas.integrationsPerOrg} integrations; delete one before creating another`,
      );
    }
  }

  private checkConfigurationSize(configuration: unknown, at: string): void {
    if (configuration === undefined) return;
    const bytes = Buffer.byteLength(JSON.stringify(configuration));
    if (bytes > this.quotas.configurationBytes) {
      throw limitExceeded(
        `${at}.configuration: ${bytes} bytes of JSON, over the limit of ${this.quotas.configurationBytes} bytes`,
      );
    }
  }

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
    this.checkConfigurationSize(body.configuration, at);
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
    this.checkConfigurationSize(body.configuration, at);
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
    tx?: Transaction,
  ): Promise<UseCaseRecord> {
    const created = await this.repository.createUseCase(orgId, integrationId, input, changedBy, id, tx);
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
