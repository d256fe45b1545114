import { decodeMessage } from './decode.js';
import type { IntegrationRecord, UseCaseRecord } from './domain.js';
import { ConfigChangeMessage } from './messages.js';
import { Topics } from './topics.js';

export interface IntegrationSnapshot {
  integration: IntegrationRecord;
  useCases: UseCaseRecord[];
}

/**
 * The local view of the config topic: the latest snapshot per integration. Records may arrive twice or
 * (after concurrent writers) out of order; the highest integration revision wins, a tombstone deletes.
 */
export class ConfigView {
  private readonly integrations = new Map<string, IntegrationSnapshot>();
  private readonly deleted = new Set<string>();
  /** `<org>:<app_id>:<component_id>` -> integration id. */
  private readonly appMappings = new Map<string, string>();

  apply(key: string | null, value: Buffer | string | null): void {
    if (!key) return;
    if (value === null || value.length === 0) {
      this.integrations.delete(key);
      this.deleted.add(key);
      this.dropAppMappings(key);
      return;
    }
    const message = decodeMessage(Topics.configChanges, ConfigChangeMessage, value);
    if (this.deleted.has(key)) return; // ids are never reused
    const current = this.integrations.get(key);
    if (current && current.integration.revision >= message.integration.revision) return;
    this.integrations.set(key, { integration: message.integration, useCases: message.use_cases });
    this.dropAppMappings(key);
    for (const m of message.app_mappings ?? []) {
      this.appMappings.set(`${message.integration.orgId}:${m.app_id}:${m.component_id}`, key);
    }
  }

  private dropAppMappings(integrationId: string): void {
    for (const [k, v] of this.appMappings) if (v === integrationId) this.appMappings.delete(k);
  }

  /** The integration an app component is mapped to (v1 ingestion), within the organisation. */
  integrationForApp(orgId: string, appId: string, componentId: string): string | undefined {
    return this.appMappings.get(`${orgId}:${appId}:${componentId}`);
  }

  /** The integration, only if it belongs to `orgId`. */
  integration(orgId: string, integrationId: string): IntegrationSnapshot | undefined {
    const snapshot = this.integrations.get(integrationId);
    return snapshot && snapshot.integration.orgId === orgId ? snapshot : undefined;
  }

  useCase(integrationId: string, useCaseId: string): UseCaseRecord | undefined {
    return this.integrations.get(integrationId)?.useCases.find((u) => u.id === useCaseId);
  }

  get size(): number {
    return this.integrations.size;
  }
}
