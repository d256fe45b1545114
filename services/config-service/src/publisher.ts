import {
  type ConfigChangeMessage,
  ConfigHeaders,
  Headers,
  type IntegrationRecord,
  Topics,
} from '@hub/contracts';
import type { MessageProducer } from '@hub/kafka';
import { sizeOf, snapshotMessage } from './budget.js';
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
    /** Told each snapshot published, with its size (the organisation's change rate, ADR 0015, decision 24). */
    private readonly onPublished?: (orgId: string, bytes: number) => void,
  ) {}

  /**
   * The integration's snapshot as it is now, and its size (`sizeOf`: what it costs the mirrors held
   * decoded), which is kept with the integration for the organisation's budget (ADR 0015, decision 14).
   */
  async snapshot(
    orgId: string,
    integrationId: string,
  ): Promise<{ message: ConfigChangeMessage; bytes: number } | undefined> {
    // Read the integration (and its revision) before its use cases: a snapshot with revision r then holds
    // at least every change up to r, so consumers may simply keep the highest revision.
    const integration = await this.repository.getIntegration(orgId, integrationId);
    if (!integration) return undefined;
    const useCases = await this.repository.listUseCases(orgId, integrationId);
    const appMappings = await this.repository.listAppMappings(orgId, integrationId);
    const message = snapshotMessage(integration, useCases, appMappings);
    const bytes = sizeOf(message);
    await this.repository.recordConfigBytes(orgId, integrationId, integration.revision, bytes);
    return { message, bytes };
  }

  async publish(
    orgId: string,
    integrationId: string,
    correlationId: string,
  ): Promise<IntegrationRecord | undefined> {
    const snapshot = await this.snapshot(orgId, integrationId);
    if (!snapshot) return undefined;
    const { message, bytes } = snapshot;
    const { integration } = message;
    await this.producer.send([
      {
        topic: Topics.configChanges,
        key: integrationId,
        value: message,
        headers: {
          [Headers.correlationId]: correlationId,
          [Headers.orgId]: orgId,
          [Headers.schemaVersion]: '1',
          // Lets a mirror keep the newest record without decoding it (ADR 0015, decision 23).
          [ConfigHeaders.revision]: String(integration.revision),
        },
      },
    ]);
    this.onPublished?.(orgId, bytes);
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
