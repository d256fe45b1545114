import { type ConfigChangeMessage, Headers, type IntegrationRecord, Topics } from '@hub/contracts';
import type { MessageProducer } from '@hub/kafka';
import type { IntegrationsRepository } from './repository.js';

/**
 * Publishes the latest snapshot of an integration (with all its use cases) to the compacted config
 * topic, keyed by integration id. Called after every change, before the API answers, so a change that
 * has been answered is on the topic for the gateway and mapper to see.
 */
export class ConfigPublisher {
  constructor(
    private readonly repository: IntegrationsRepository,
    private readonly producer: MessageProducer,
  ) {}

  async publish(
    orgId: string,
    integrationId: string,
    correlationId: string,
  ): Promise<IntegrationRecord | undefined> {
    // Read the integration (and its revision) before its use cases: a snapshot with revision r then holds
    // at least every change up to r, so consumers may simply keep the highest revision.
    const integration = await this.repository.getIntegration(orgId, integrationId);
    if (!integration) return undefined;
    const useCases = await this.repository.listUseCases(orgId, integrationId);
    const appMappings = await this.repository.listAppMappings(orgId, integrationId);
    const message: ConfigChangeMessage = {
      schema_version: 1,
      integration,
      use_cases: useCases,
      app_mappings: appMappings,
    };
    await this.producer.send([
      {
        topic: Topics.configChanges,
        key: integrationId,
        value: message,
        headers: {
          [Headers.correlationId]: correlationId,
          [Headers.orgId]: orgId,
          [Headers.schemaVersion]: '1',
        },
      },
    ]);
    return integration;
  }

  async publishDeleted(orgId: string, integrationId: string, correlationId: string): Promise<void> {
    await this.producer.send([
      {
        topic: Topics.configChanges,
        key: integrationId,
        value: null,
        headers: { [Headers.correlationId]: correlationId, [Headers.orgId]: orgId },
      },
    ]);
  }
}
