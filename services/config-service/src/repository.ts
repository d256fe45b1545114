import { randomUUID } from 'node:crypto';
import type { IntegrationRecord, UseCaseRecord } from '@hub/contracts';
import {
  type Collection,
  isDuplicateKeyError,
  type MongoStore,
  NO_TRANSACTION,
  type Transaction,
} from '@hub/mongo';
import { slugify, uniqueSlug } from './slug.js';

type IntegrationDoc = Omit<IntegrationRecord, 'id'> & {
  _id: string;
  /** Bytes of JSON of the integration's last published snapshot (ADR 0015, decision 14); internal. */
  config_bytes?: number;
  /** The integration revision `config_bytes` was measured at. */
  config_bytes_revision?: number;
};
type UseCaseDoc = Omit<UseCaseRecord, 'id'> & { _id: string; orgId: string };
type HistoryDoc = Omit<UseCaseRecord, 'id' | 'revision'> & {
  _id: string;
  orgId: string;
  useCaseId: string;
  history_created_at: string;
};
interface AppMappingDoc {
  /** `<org>:<app_id>:<component_id>`: one integration per app component. */
  _id: string;
  orgId: string;
  app_id: string;
  component_id: string;
  integration_id: string;
}

export interface UseCaseHistoryEntry extends Omit<HistoryDoc, '_id' | 'orgId'> {
  id: string;
}

export interface UseCasePatch {
  name?: string;
  slug?: string;
  enabled?: boolean;
  configuration?: unknown;
  change_description?: string;
}

/** Fields of an integration a client may set (`IntegrationEditableFields`). */
export const EDITABLE_INTEGRATION_FIELDS = [
  'name',
  'description',
  'access_token_ids',
  'app_ids',
  'environment_config',
  'settings',
  'integration_type',
  'connector_config',
  'protected',
  '_manifest',
] as const;

export interface UseCaseInput {
  name: string;
  slug?: string;
  type: UseCaseRecord['type'];
  enabled: boolean;
  configuration?: unknown;
  change_description?: string;
}

/**
 * Integrations and use cases. Every method takes the organisation and filters by it: another
 * organisation's integration simply does not exist here.
 */
export class IntegrationsRepository {
  private readonly integrations: Collection<IntegrationDoc>;
  private readonly useCases: Collection<UseCaseDoc>;
  private readonly history: Collection<HistoryDoc>;
  private readonly appMappings: Collection<AppMappingDoc>;

  constructor(private readonly store: MongoStore) {
    this.integrations = store.collection<IntegrationDoc>('integrations');
    this.useCases = store.collection<UseCaseDoc>('use_cases');
    this.history = store.collection<HistoryDoc>('use_case_history');
    this.appMappings = store.collection<AppMappingDoc>('app_mappings');
  }

  /**
   * Runs `fn` as one transaction where the database has them (a use case's change with its history and
   * the integration's revision, all or nothing); as separate writes where not. `fn` passes `tx` to every
   * method it calls, and may run more than once.
   */
  transaction<T>(fn: (tx: Transaction) => Promise<T>): Promise<T> {
    return this.store.withTransaction(fn);
  }

  async createIntegration(orgId: string, fields: Record<string, unknown>): Promise<IntegrationRecord> {
    const now = new Date().toISOString();
    const doc: IntegrationDoc = {
      ...pickEditable(fields),
      _id: randomUUID(),
      orgId,
      name: String(fields.name),
      created_at: now,
      updated_at: now,
      revision: 1,
    };
    await this.integrations.insertOne(doc);
    return toIntegration(doc);
  }

  async countIntegrations(orgId: string): Promise<number> {
    return this.integrations.countDocuments({ orgId });
  }

  /**
   * The size of each of the organisation's integrations' snapshots as last published; `undefined` when
   * not known for its current revision (published before sizes were kept, by an older instance during a
   * rolling upgrade, or changed and not yet published).
   */
  async configBytes(orgId: string): Promise<Array<{ id: string; bytes: number | undefined }>> {
    const docs = await this.integrations
      .find({ orgId }, { projection: { _id: 1, revision: 1, config_bytes: 1, config_bytes_revision: 1 } })
      .limit(100_000)
      .toArray();
    return docs.map((d) => ({
      id: d._id,
      bytes: d.config_bytes_revision === d.revision ? d.config_bytes : undefined,
    }));
  }

  /**
   * Keeps the size of the snapshot published at `revision`, unless a later revision's size is already kept
   * (two publishes of one integration may finish in either order).
   */
  async recordConfigBytes(orgId: string, id: string, revision: number, bytes: number): Promise<void> {
    await this.integrations.updateOne(
      {
        _id: id,
        orgId,
        $or: [{ config_bytes_revision: { $exists: false } }, { config_bytes_revision: { $lte: revision } }],
      },
      { $set: { config_bytes: bytes, config_bytes_revision: revision } },
    );
  }

  async listIntegrations(orgId: string): Promise<IntegrationRecord[]> {
    const docs = await this.integrations.find({ orgId }).sort({ created_at: 1 }).limit(1000).toArray();
    return docs.map(toIntegration);
  }

  async getIntegration(orgId: string, id: string): Promise<IntegrationRecord | undefined> {
    const doc = await this.integrations.findOne({ _id: id, orgId });
    return doc ? toIntegration(doc) : undefined;
  }

  /** Replaces the editable fields; bumps the revision. */
  async updateIntegration(
    orgId: string,
    id: string,
    fields: Record<string, unknown>,
    tx: Transaction = NO_TRANSACTION,
  ): Promise<IntegrationRecord | undefined> {
    const unset = Object.fromEntries(
      EDITABLE_INTEGRATION_FIELDS.filter((f) => fields[f] === undefined).map((f) => [f, '' as const]),
    );
    const doc = await this.integrations.findOneAndUpdate(
      { _id: id, orgId },
      {
        $set: { ...pickEditable(fields), updated_at: new Date().toISOString() },
        ...(Object.keys(unset).length > 0 ? { $unset: unset } : {}),
        $inc: { revision: 1 },
      },
      { returnDocument: 'after', ...tx },
    );
    return doc ? toIntegration(doc) : undefined;
  }

  /** Marks a change to the integration's use cases: bumps its revision so caches take the new snapshot. */
  async touchIntegration(orgId: string, id: string, tx: Transaction = NO_TRANSACTION): Promise<void> {
    await this.integrations.updateOne(
      { _id: id, orgId },
      { $set: { updated_at: new Date().toISOString() }, $inc: { revision: 1 } },
      { ...tx },
    );
  }

  /** Deletes the integration and, in cascade, its use cases (one transaction where the database has them). */
  async deleteIntegration(orgId: string, id: string): Promise<boolean> {
    return this.transaction(async (tx) => {
      const result = await this.integrations.deleteOne({ _id: id, orgId }, { ...tx });
      if (result.deletedCount === 0) return false;
      await this.useCases.deleteMany({ integrationId: id, orgId }, { ...tx });
      await this.history.deleteMany({ integrationId: id, orgId }, { ...tx });
      await this.appMappings.deleteMany({ integration_id: id, orgId }, { ...tx });
      return true;
    });
  }

  async listUseCases(
    orgId: string,
    integrationId: string,
    tx: Transaction = NO_TRANSACTION,
  ): Promise<UseCaseRecord[]> {
    const docs = await this.useCases
      .find({ orgId, integrationId }, { ...tx })
      .sort({ created_at: 1 })
      .limit(1000)
      .toArray();
    return docs.map(toUseCase);
  }

  async getUseCase(
    orgId: string,
    integrationId: string,
    id: string,
    tx: Transaction = NO_TRANSACTION,
  ): Promise<UseCaseRecord | undefined> {
    const doc = await this.useCases.findOne({ _id: id, orgId, integrationId }, { ...tx });
    return doc ? toUseCase(doc) : undefined;
  }

  /** Creates a use case; derives a unique slug from the name when none is given (decision 6). */
  async createUseCase(
    orgId: string,
    integrationId: string,
    input: UseCaseInput,
    changedBy: string | undefined,
    id?: string,
    tx: Transaction = NO_TRANSACTION,
  ): Promise<UseCaseRecord | 'slug_taken'> {
    for (let attempt = 0; attempt < 5; attempt++) {
      let slug = input.slug;
      if (!slug) {
        const taken = new Set((await this.listUseCases(orgId, integrationId, tx)).map((u) => u.slug));
        slug = uniqueSlug(slugify(input.name), taken);
      }
      const now = new Date().toISOString();
      const doc: UseCaseDoc = {
        _id: id ?? randomUUID(),
        orgId,
        integrationId,
        name: input.name,
        slug,
        type: input.type,
        enabled: input.enabled,
        ...(input.configuration !== undefined ? { configuration: pack(input.configuration) } : {}),
        ...(input.change_description ? { change_description: input.change_description } : {}),
        ...(changedBy ? { changed_by: changedBy } : {}),
        created_at: now,
        updated_at: now,
        revision: 1,
      };
      try {
        await this.useCases.insertOne(doc, { ...tx });
        return toUseCase(doc);
      } catch (err) {
        if (!isDuplicateKeyError(err)) throw err;
        if (input.slug) return 'slug_taken';
        // A concurrent create took the derived slug: derive again.
      }
    }
    return 'slug_taken';
  }

  /**
   * Updates a use case, keeping the previous version in its history. Compare-and-set on the revision,
   * so two concurrent updates cannot both base themselves on the same version.
   */
  async updateUseCase(
    orgId: string,
    integrationId: string,
    id: string,
    patch: UseCasePatch,
    changedBy: string | undefined,
    tx: Transaction = NO_TRANSACTION,
  ): Promise<UseCaseRecord | undefined> {
    for (let attempt = 0; attempt < 10; attempt++) {
      const current = await this.useCases.findOne({ _id: id, orgId, integrationId }, { ...tx });
      if (!current) return undefined;
      const now = new Date().toISOString();
      const { _id, revision, ...previous } = current;
      const set: Partial<UseCaseDoc> = {
        ...(patch.name !== undefined ? { name: patch.name } : {}),
        ...(patch.enabled !== undefined ? { enabled: patch.enabled } : {}),
        ...(patch.configuration !== undefined ? { configuration: pack(patch.configuration) } : {}),
        updated_at: now,
        revision: revision + 1,
        ...(changedBy ? { changed_by: changedBy } : {}),
        ...(patch.change_description ? { change_description: patch.change_description } : {}),
      };
      const unset = {
        ...(patch.change_description ? {} : { change_description: '' as const }),
        ...(changedBy ? {} : { changed_by: '' as const }),
      };
      const updated = await this.useCases.findOneAndUpdate(
        { _id: id, orgId, integrationId, revision },
        { $set: set, ...(Object.keys(unset).length > 0 ? { $unset: unset } : {}) },
        { returnDocument: 'after', ...tx },
      );
      if (!updated) continue; // a concurrent update won: re-read and try again
      await this.history.insertOne(
        { ...previous, _id: randomUUID(), useCaseId: id, history_created_at: now },
        { ...tx },
      );
      return toUseCase(updated);
    }
    throw new Error(`use case ${id} is being updated concurrently; retry`);
  }

  async deleteUseCase(
    orgId: string,
    integrationId: string,
    id: string,
    tx: Transaction = NO_TRANSACTION,
  ): Promise<boolean> {
    const result = await this.useCases.deleteOne({ _id: id, orgId, integrationId }, { ...tx });
    if (result.deletedCount === 0) return false;
    await this.history.deleteMany({ useCaseId: id, orgId }, { ...tx });
    return true;
  }

  /** History, newest first, keyset-paginated on (history_created_at, id). */
  async listHistory(
    orgId: string,
    useCaseId: string,
    limit: number,
    after?: { at: string; id: string },
  ): Promise<UseCaseHistoryEntry[]> {
    const filter: Record<string, unknown> = { orgId, useCaseId };
    if (after) {
      filter.$or = [
        { history_created_at: { $lt: after.at } },
        { history_created_at: after.at, _id: { $lt: after.id } },
      ];
    }
    const docs = await this.history
      .find(filter)
      .sort({ history_created_at: -1, _id: -1 })
      .limit(limit)
      .toArray();
    return docs.map(({ _id, orgId: _o, ...rest }) => ({
      id: _id,
      ...rest,
      ...(rest.configuration !== undefined ? { configuration: unpack(rest.configuration) } : {}),
    }));
  }

  /** Maps an app component to an integration; `exists` when mapped elsewhere and not overwriting. */
  async setAppMapping(
    orgId: string,
    integrationId: string,
    appId: string,
    componentId: string,
    overwrite: boolean,
  ): Promise<{ previous?: string } | 'exists'> {
    const _id = `${orgId}:${appId}:${componentId}`;
    const existing = await this.appMappings.findOne({ _id });
    if (existing && existing.integration_id !== integrationId && !overwrite) return 'exists';
    await this.appMappings.updateOne(
      { _id },
      { $set: { orgId, app_id: appId, component_id: componentId, integration_id: integrationId } },
      { upsert: true },
    );
    return existing && existing.integration_id !== integrationId ? { previous: existing.integration_id } : {};
  }

  async deleteAppMapping(
    orgId: string,
    integrationId: string,
    appId: string,
    componentId: string,
  ): Promise<boolean> {
    const result = await this.appMappings.deleteOne({
      _id: `${orgId}:${appId}:${componentId}`,
      integration_id: integrationId,
    });
    return result.deletedCount === 1;
  }

  async listAppMappings(
    orgId: string,
    integrationId: string,
  ): Promise<Array<{ app_id: string; component_id: string }>> {
    const docs = await this.appMappings.find({ orgId, integration_id: integrationId }).toArray();
    return docs.map((d) => ({ app_id: d.app_id, component_id: d.component_id }));
  }
}

/**
 * Client-shaped objects (an integration's settings, environment and connector configuration, a use case's
 * configuration) are stored as JSON text: their keys are the client's, and a key with NUL, `.` or `$`, or
 * an array in an array (FerretDB), would fail the write with a 500. Read back as they were sent; documents
 * written before this are objects and are read as they are.
 */
const OPAQUE_INTEGRATION_FIELDS = ['environment_config', 'settings', 'connector_config'] as const;

const pack = (value: unknown) => (value === undefined ? undefined : JSON.stringify(value));
const unpack = (value: unknown) => (typeof value === 'string' ? JSON.parse(value) : value);

function pickEditable(fields: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of EDITABLE_INTEGRATION_FIELDS) if (fields[f] !== undefined) out[f] = fields[f];
  for (const f of OPAQUE_INTEGRATION_FIELDS) if (out[f] !== undefined) out[f] = pack(out[f]);
  return out;
}

function toIntegration(doc: IntegrationDoc): IntegrationRecord {
  const { _id, config_bytes: _b, config_bytes_revision: _r, ...rest } = doc;
  const record: Record<string, unknown> = { id: _id, ...rest };
  for (const f of OPAQUE_INTEGRATION_FIELDS) if (record[f] !== undefined) record[f] = unpack(record[f]);
  return record as unknown as IntegrationRecord;
}

function toUseCase(doc: UseCaseDoc): UseCaseRecord {
  const { _id, orgId: _org, ...rest } = doc;
  return {
    id: _id,
    ...rest,
    ...(rest.configuration !== undefined ? { configuration: unpack(rest.configuration) } : {}),
  };
}
