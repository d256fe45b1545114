import { decodeMessage } from './decode.js';
import type { IntegrationRecord, UseCaseRecord } from './domain.js';
import { heldBytes } from './held-bytes.js';
import { ConfigChangeMessage } from './messages.js';
import { ConfigHeaders, Headers, Topics } from './topics.js';

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
  /**
   * Told about a record that was held undecoded (see `apply`) and turned out unreadable when its
   * organisation first needed it; the view keeps the integration's previous snapshot, as it does for an
   * unreadable record decoded on arrival (whose error `apply` throws).
   */
  onUnreadable?: (integrationId: string, err: unknown) => void;
  /**
   * At most this many bytes of records held undecoded (default: no limit); past it, the records held
   * longest are decoded at once. The gateway sets it: it keeps only what routing needs of a decoded
   * snapshot, so an organisation's configurations it never routes for would otherwise stay in memory whole.
   */
  maxUndecodedBytes?: number;
}

/** A record held as it came, until its organisation first needs the integration. */
interface Undecoded {
  orgId: string;
  revision: number;
  value: Buffer | string;
  bytes: number;
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
  /** The newest record of an integration not decoded yet (newer than its decoded snapshot, if any). */
  private readonly undecoded = new Map<string, Undecoded>();
  private undecodedBytes = 0;

  /**
   * Applies one record of the topic. A record whose headers name its organisation and its integration
   * revision (`x-org-id`, `x-config-revision`) is not decoded here: it is kept as it came if it is newer
   * than what the view holds of its integration, and decoded when its organisation first asks for the
   * integration (`integration`, `useCase`, `integrationForApp`). So a mirror catching up with another
   * organisation's large snapshots (each request of every organisation waits for the gateway's mirror to
   * catch up, ADR 3) only copies them, and what decoding costs falls on the organisation whose
   * configuration it is, the first time it is used (ADR 0015, decision 23). A record without those
   * headers is decoded at once, and throws if it cannot be read.
   */
  apply(key: string | null, value: Buffer | string | null, headers?: Record<string, string>): void {
    if (!key) return;
    if (value === null || value.length === 0) {
      this.integrations.delete(key);
      this.setSize(key, 0);
      this.dropUndecoded(key);
      this.deleted.add(key);
      this.dropAppMappings(key);
      return;
    }
    const orgId = headers?.[Headers.orgId];
    const revision = Number(headers?.[ConfigHeaders.revision]);
    if (orgId && Number.isSafeInteger(revision) && revision > 0) {
      if (this.deleted.has(key)) return; // ids are never reused
      const known = Math.max(
        this.integrations.get(key)?.integration.revision ?? 0,
        this.undecoded.get(key)?.revision ?? 0,
      );
      if (revision <= known) return;
      this.dropUndecoded(key);
      // A copy: the record's buffer is a slice of the whole fetched batch, which it would keep alive.
      const kept = typeof value === 'string' ? value : Buffer.from(value);
      const bytes = typeof kept === 'string' ? Buffer.byteLength(kept) : kept.length;
      this.undecoded.set(key, { orgId, revision, value: kept, bytes });
      this.undecodedBytes += bytes;
      const limit = this.options.maxUndecodedBytes ?? Number.POSITIVE_INFINITY;
      for (const id of this.undecoded.keys()) {
        if (this.undecodedBytes <= limit) break;
        this.settle(id);
      }
      return;
    }
    this.decode(key, value);
    const waiting = this.undecoded.get(key);
    const decoded = this.integrations.get(key)?.integration.revision ?? 0;
    if (waiting && waiting.revision <= decoded) this.dropUndecoded(key);
  }

  /** Decodes the integration's record held undecoded, if any (an unreadable one is reported and dropped). */
  private settle(integrationId: string): void {
    const waiting = this.undecoded.get(integrationId);
    if (!waiting) return;
    this.dropUndecoded(integrationId);
    try {
      this.decode(integrationId, waiting.value);
    } catch (err) {
      this.options.onUnreadable?.(integrationId, err);
    }
  }

  private dropUndecoded(integrationId: string): void {
    const waiting = this.undecoded.get(integrationId);
    if (!waiting) return;
    this.undecoded.delete(integrationId);
    this.undecodedBytes -= waiting.bytes;
  }

  /** How many records are held undecoded (a test's and an operator's view of the deferral). */
  get undecodedCount(): number {
    return this.undecoded.size;
  }

  private decode(key: string, value: Buffer | string): void {
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
   * (ADR 0015, decision 14), plus the bytes of the records held undecoded (a newer record of an
   * integration is held beside its decoded snapshot until it is first needed).
   */
  get bytes(): number {
    return this.heldBytes + this.undecodedBytes;
  }

  private dropAppMappings(integrationId: string): void {
    for (const [k, v] of this.appMappings) if (v === integrationId) this.appMappings.delete(k);
  }

  /** The integration an app component is mapped to (v1 ingestion), within the organisation. */
  integrationForApp(orgId: string, appId: string, componentId: string): string | undefined {
    for (const [id, waiting] of this.undecoded) if (waiting.orgId === orgId) this.settle(id);
    return this.appMappings.get(`${orgId}:${appId}:${componentId}`);
  }

  /** The integration, only if it belongs to `orgId`. */
  integration(orgId: string, integrationId: string): IntegrationSnapshot | undefined {
    const waiting = this.undecoded.get(integrationId);
    // Another organisation's integration is not decoded on this one's behalf.
    if (waiting && waiting.orgId !== orgId) return undefined;
    this.settle(integrationId);
    const snapshot = this.integrations.get(integrationId);
    return snapshot && snapshot.integration.orgId === orgId ? snapshot : undefined;
  }

  useCase(integrationId: string, useCaseId: string): UseCaseRecord | undefined {
    this.settle(integrationId);
    return this.integrations.get(integrationId)?.useCases.find((u) => u.id === useCaseId);
  }

  /** Integrations held, decoded or not. */
  get size(): number {
    let size = this.integrations.size;
    for (const id of this.undecoded.keys()) if (!this.integrations.has(id)) size++;
    return size;
  }
}
