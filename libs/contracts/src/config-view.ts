import { decodeMessage } from './decode.js';
import type { IntegrationRecord, UseCaseRecord } from './domain.js';
import { heldBytes } from './held-bytes.js';
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
export interface ConfigViewOptions {
  /**
   * Keep each use case's mapping `configuration` (default true: the mapper maps with it). The gateway
   * routes by type, slug, name and `enabled` only, and drops it: its memory then does not grow with the
   * configurations (ADR 0015, decision 14).
   */
  configurations?: boolean;
}

export class ConfigView {
  constructor(private readonly options: ConfigViewOptions = {}) {}

  private readonly integrations = new Map<string, IntegrationSnapshot>();
  /** What each held snapshot costs (`heldBytes`). */
  private readonly sizes = new Map<string, number>();
  private heldBytes = 0;
  private readonly deleted = new Set<string>();
  /** `<org>:<app_id>:<component_id>` -> integration id. */
  private readonly appMappings = new Map<string, string>();

  apply(key: string | null, value: Buffer | string | null): void {
    if (!key) return;
    if (value === null || value.length === 0) {
      this.integrations.delete(key);
      this.setSize(key, 0);
      this.deleted.add(key);
      this.dropAppMappings(key);
      return;
    }
    const message = decodeMessage(Topics.configChanges, ConfigChangeMessage, value);
    if (this.deleted.has(key)) return; // ids are never reused
    const current = this.integrations.get(key);
    if (current && current.integration.revision >= message.integration.revision) return;
    if (this.options.configurations === false) {
      const useCases = message.use_cases.map(({ configuration: _dropped, ...routing }) => routing);
      this.integrations.set(key, { integration: message.integration, useCases });
      // What is held: the snapshot without the configurations.
      this.setSize(key, heldBytes({ ...message, use_cases: useCases }));
    } else {
      this.integrations.set(key, { integration: message.integration, useCases: message.use_cases });
      this.setSize(
        key,
        heldBytes(message, typeof value === 'string' ? Buffer.byteLength(value) : value.length),
      );
    }
    this.dropAppMappings(key);
    for (const m of message.app_mappings ?? []) {
      this.appMappings.set(`${message.integration.orgId}:${m.app_id}:${m.component_id}`, key);
    }
  }

  private setSize(integrationId: string, bytes: number): void {
    this.heldBytes += bytes - (this.sizes.get(integrationId) ?? 0);
    if (bytes === 0) this.sizes.delete(integrationId);
    else this.sizes.set(integrationId, bytes);
  }

  /**
   * What the snapshots held cost decoded (`heldBytes`: bytes of JSON plus the objects' overhead; without
   * the configurations when they are dropped), the measure of the organisations' configuration budget
   * (ADR 0015, decision 14).
   */
  get bytes(): number {
    return this.heldBytes;
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
