import {
  type ConfigChangeMessage,
  heldBytes,
  type IntegrationRecord,
  type UseCaseRecord,
} from '@hub/contracts';
import { badRequest } from '@hub/http';
import type { IntegrationsRepository, UseCaseInput, UseCasePatch } from './repository.js';

/**
 * Configuration held in memory, per organisation (ADR 0015, decision 14). Every mapper (and, without the
 * mapping configurations, every gateway) holds the latest snapshot of every integration
 * (`erp.config.changes`, one message per integration: the integration, all its use cases and app
 * mappings) decoded; an integration's size is what that message costs held decoded (`heldBytes`: its
 * bytes of JSON plus the objects' overhead), so the budget bounds memory whatever the documents' shape.
 */
export interface ConfigurationBudget {
  /** All of one organisation's integrations' snapshots together. */
  orgBytes: number;
  /** One integration's snapshot: what one change republishes and every mirror reads before it answers. */
  integrationBytes: number;
}

export const DEFAULT_BUDGET: ConfigurationBudget = {
  orgBytes: 16 * 1024 * 1024,
  integrationBytes: 4 * 1024 * 1024,
};

/** What a value costs held decoded (bytes of JSON plus the objects' overhead). */
export const sizeOf = (value: unknown): number => heldBytes(value);

/** The snapshot the publisher sends for an integration. */
export function snapshotMessage(
  integration: IntegrationRecord,
  useCases: UseCaseRecord[],
  appMappings: Array<{ app_id: string; component_id: string }>,
): ConfigChangeMessage {
  return { schema_version: 1, integration, use_cases: useCases, app_mappings: appMappings };
}

/** The size of a new integration's first snapshot. */
export function newSnapshotBytes(integration: unknown, useCases: unknown[]): number {
  return sizeOf({ schema_version: 1, integration, use_cases: useCases, app_mappings: [] });
}

/** What an entry of a JSON array adds to it: its size and a separating comma (0 when absent). */
const entryBytes = (value: unknown): number => (value === undefined ? 0 : sizeOf(value) + 1);

/** How much the snapshot grows when `next` replaces `previous` in one of its lists (undefined: absent). */
export function entryDelta(previous: unknown, next: unknown): number {
  return entryBytes(next) - entryBytes(previous);
}

/** How much the snapshot grows when the integration record `next` replaces `previous`. */
export function recordDelta(previous: unknown, next: unknown): number {
  return sizeOf(next) - sizeOf(previous);
}

// Stand-ins of the values the repository sets when it writes: same lengths, so the estimate before a write
// is within a few bytes of the snapshot after it (the publisher then stores the exact size).
const ID = '00000000-0000-0000-0000-000000000000';
const TIMESTAMP = '2000-01-01T00:00:00.000Z';

/** The integration record a create with these fields will store (opaque fields as the snapshot holds them). */
export function projectedIntegration(
  orgId: string,
  fields: Record<string, unknown>,
  editable: readonly string[],
  current?: IntegrationRecord,
): Record<string, unknown> {
  const kept: Record<string, unknown> = {};
  for (const f of editable) if (fields[f] !== undefined) kept[f] = fields[f];
  return {
    id: current?.id ?? ID,
    orgId,
    ...kept,
    name: String(fields.name),
    created_at: current?.created_at ?? TIMESTAMP,
    updated_at: TIMESTAMP,
    revision: (current?.revision ?? 0) + 1,
  };
}

/** The use-case record a create will store. */
export function projectedUseCase(
  integrationId: string,
  input: UseCaseInput,
  changedBy: string | undefined,
): Record<string, unknown> {
  return {
    id: ID,
    integrationId,
    name: input.name,
    // A derived slug is at most as long as the name, plus a short suffix when taken.
    slug: input.slug ?? `${input.name}-00`,
    type: input.type,
    enabled: input.enabled,
    ...(input.configuration !== undefined ? { configuration: input.configuration } : {}),
    ...(input.change_description ? { change_description: input.change_description } : {}),
    ...(changedBy ? { changed_by: changedBy } : {}),
    created_at: TIMESTAMP,
    updated_at: TIMESTAMP,
    revision: 1,
  };
}

/** The use-case record an update will store. */
export function patchedUseCase(
  current: UseCaseRecord,
  patch: UseCasePatch,
  changedBy: string | undefined,
): Record<string, unknown> {
  const { change_description: _d, changed_by: _c, ...rest } = current;
  return {
    ...rest,
    ...(patch.name !== undefined ? { name: patch.name } : {}),
    ...(patch.enabled !== undefined ? { enabled: patch.enabled } : {}),
    ...(patch.configuration !== undefined ? { configuration: patch.configuration } : {}),
    ...(patch.change_description ? { change_description: patch.change_description } : {}),
    ...(changedBy ? { changed_by: changedBy } : {}),
    updated_at: TIMESTAMP,
    revision: current.revision + 1,
  };
}

/** One planned change of an integration's snapshot, in bytes. */
export interface PlannedSize {
  /** The integration (`a new integration` when it does not exist yet). */
  integrationId?: string;
  /** Its snapshot's size now (0 for a new integration). */
  before: number;
  /** Its snapshot's size after the change. */
  after: number;
}

const limitExceeded = (message: string) => badRequest(message, 'LIMIT_EXCEEDED');

/**
 * 400 LIMIT_EXCEEDED when a change would take an integration past its limit or the organisation past its
 * budget, naming the limit, the use now and the size the change would make. A change that does not grow
 * the integration is always allowed, so an organisation over a lowered budget can still shrink and delete.
 * `orgTotal` is the organisation's use now, this integration's `before` included.
 */
export function checkConfigurationBudget(
  budget: ConfigurationBudget,
  orgTotal: number,
  change: PlannedSize,
): void {
  const growth = change.after - change.before;
  if (growth <= 0) return;
  const which = change.integrationId ? `integration ${change.integrationId}` : 'the new integration';
  if (change.after > budget.integrationBytes) {
    throw limitExceeded(
      `configuration budget: ${which} would hold ${change.after} bytes of configuration (now ${change.before}), over the limit of ${budget.integrationBytes} bytes per integration; every gateway and mapper holds it and each change republishes it whole: shrink or split its use cases into another integration`,
    );
  }
  const attempted = orgTotal + growth;
  if (attempted > budget.orgBytes) {
    throw limitExceeded(
      `configuration budget: this organisation holds ${orgTotal} bytes of configuration of its budget of ${budget.orgBytes} bytes; this change (+${growth} bytes to ${which}) would make it ${attempted} bytes: delete or shrink use cases or integrations first`,
    );
  }
}

/** One holder at a time per key, across every instance (a lease in the database, `Leases` of libs/mongo). */
export interface BudgetLock {
  hold<T>(key: string, body: () => Promise<T>): Promise<T>;
}

/**
 * The organisation's configuration budget against what it holds: each integration's size is kept with it
 * by the publisher (the exact size of its last snapshot, with its revision); one whose size is not known
 * for its current revision is measured (and kept) on the first check that needs it.
 * A growing change is checked and written under the organisation's lock, so two concurrent changes
 * cannot both pass the check against the use before either (each would fit alone, both together not):
 * the second is checked against the first's write. A change that does not grow is written at once.
 */
export class OrgConfigurationBudget {
  constructor(
    private readonly repository: Pick<IntegrationsRepository, 'configBytes'>,
    /** Measures an integration's snapshot now (and keeps the size); undefined when it is gone. */
    private readonly measure: (orgId: string, integrationId: string) => Promise<number | undefined>,
    readonly budget: ConfigurationBudget = DEFAULT_BUDGET,
    /** Serialises growing changes per organisation; absent: checked without a lock (unit tests). */
    private readonly lock?: BudgetLock,
    /**
     * Paces the organisation's changes by the bytes they republish (`ConfigurationChangeRate`, ADR 0015,
     * decision 24): every change waits here first, before its lock and its write; absent: not paced.
     */
    private readonly rate?: { admit(orgId: string): Promise<void> },
  ) {}

  /** The organisation's use: bytes in all, and of each integration. */
  async usage(orgId: string): Promise<{ total: number; of: (integrationId: string) => number }> {
    const sizes = new Map<string, number>();
    for (const { id, bytes } of await this.repository.configBytes(orgId)) {
      sizes.set(id, bytes ?? (await this.measure(orgId, id)) ?? 0);
    }
    let total = 0;
    for (const bytes of sizes.values()) total += bytes;
    return { total, of: (id) => sizes.get(id) ?? 0 };
  }

  /**
   * Runs `write`, a change that grows an integration's snapshot by `growth` bytes (or shrinks it), unless
   * it would take a limit past (400 LIMIT_EXCEEDED, nothing written) or the organisation's changes
   * republish too fast (it waits, or 429 CONFIGURATION_RATE_EXCEEDED).
   */
  async checkGrowth<T>(
    orgId: string,
    integrationId: string,
    growth: number,
    write: () => Promise<T>,
  ): Promise<T> {
    await this.rate?.admit(orgId);
    if (growth <= 0) return write();
    return this.locked(orgId, async () => {
      const usage = await this.usage(orgId);
      const before = usage.of(integrationId);
      checkConfigurationBudget(this.budget, usage.total, { integrationId, before, after: before + growth });
      return write();
    });
  }

  /** Runs `write`, creating an integration whose first snapshot takes `bytes`, unless past a limit (400). */
  async checkNew<T>(orgId: string, bytes: number, write: () => Promise<T>): Promise<T> {
    await this.rate?.admit(orgId);
    return this.locked(orgId, async () => {
      const usage = await this.usage(orgId);
      checkConfigurationBudget(this.budget, usage.total, { before: 0, after: bytes });
      return write();
    });
  }

  private locked<T>(orgId: string, body: () => Promise<T>): Promise<T> {
    return this.lock ? this.lock.hold(`configuration-budget:${orgId}`, body) : body();
  }
}
