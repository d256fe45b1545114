import { randomUUID } from 'node:crypto';
import type { IntegrationRecord, UseCaseRecord } from '@hub/contracts';
import { type Collection, isDuplicateKeyError, type MongoStore } from '@hub/mongo';
import { slugify, uniqueSlug } from './slug.js';

type IntegrationDoc = Omit<IntegrationRecord, 'id'> & { _id: string };
type UseCaseDoc = Omit<UseCaseRecord, 'id'> & { _id: string; orgId: string };

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

  constructor(private readonly store: MongoStore) {
    this.integrations = store.collection<IntegrationDoc>('integrations');
    this.useCases = store.collection<UseCaseDoc>('use_cases');
  }

  async ensureIndexes(): Promise<void> {
    await this.store.ensureIndexes('integrations', [
      { key: { orgId: 1, created_at: 1 }, name: 'org_created' },
    ]);
    await this.store.ensureIndexes('use_cases', [
      { key: { integrationId: 1, slug: 1 }, name: 'integration_slug', unique: true },
      { key: { orgId: 1, integrationId: 1 }, name: 'org_integration' },
    ]);
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
      { returnDocument: 'after' },
    );
    return doc ? toIntegration(doc) : undefined;
  }

  /** Marks a change to the integration's use cases: bumps its revision so caches take the new snapshot. */
  async touchIntegration(orgId: string, id: string): Promise<void> {
    await this.integrations.updateOne(
      { _id: id, orgId },
      { $set: { updated_at: new Date().toISOString() }, $inc: { revision: 1 } },
    );
  }

  /** Deletes the integration and, in cascade, its use cases. */
  async deleteIntegration(orgId: string, id: string): Promise<boolean> {
    const result = await this.integrations.deleteOne({ _id: id, orgId });
    if (result.deletedCount === 0) return false;
    await this.useCases.deleteMany({ integrationId: id, orgId });
    return true;
  }

  async listUseCases(orgId: string, integrationId: string): Promise<UseCaseRecord[]> {
    const docs = await this.useCases
      .find({ orgId, integrationId })
      .sort({ created_at: 1 })
      .limit(1000)
      .toArray();
    return docs.map(toUseCase);
  }

  async getUseCase(orgId: string, integrationId: string, id: string): Promise<UseCaseRecord | undefined> {
    const doc = await this.useCases.findOne({ _id: id, orgId, integrationId });
    return doc ? toUseCase(doc) : undefined;
  }

  /** Creates a use case; derives a unique slug from the name when none is given (decision 6). */
  async createUseCase(
    orgId: string,
    integrationId: string,
    input: UseCaseInput,
    changedBy: string | undefined,
  ): Promise<UseCaseRecord | 'slug_taken'> {
    for (let attempt = 0; attempt < 5; attempt++) {
      let slug = input.slug;
      if (!slug) {
        const taken = new Set((await this.listUseCases(orgId, integrationId)).map((u) => u.slug));
        slug = uniqueSlug(slugify(input.name), taken);
      }
      const now = new Date().toISOString();
      const doc: UseCaseDoc = {
        _id: randomUUID(),
        orgId,
        integrationId,
        name: input.name,
        slug,
        type: input.type,
        enabled: input.enabled,
        ...(input.configuration !== undefined ? { configuration: input.configuration } : {}),
        ...(input.change_description ? { change_description: input.change_description } : {}),
        ...(changedBy ? { changed_by: changedBy } : {}),
        created_at: now,
        updated_at: now,
        revision: 1,
      };
      try {
        await this.useCases.insertOne(doc);
        return toUseCase(doc);
      } catch (err) {
        if (!isDuplicateKeyError(err)) throw err;
        if (input.slug) return 'slug_taken';
        // A concurrent create took the derived slug: derive again.
      }
    }
    return 'slug_taken';
  }
}

function pickEditable(fields: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of EDITABLE_INTEGRATION_FIELDS) if (fields[f] !== undefined) out[f] = fields[f];
  return out;
}

function toIntegration(doc: IntegrationDoc): IntegrationRecord {
  const { _id, ...rest } = doc;
  return { id: _id, ...rest };
}

function toUseCase(doc: UseCaseDoc): UseCaseRecord {
  const { _id, orgId: _org, ...rest } = doc;
  return { id: _id, ...rest };
}
