import { monitoringRecord } from '@hub/contracts';
import { MongoStore, prepareLayout, removeExpired } from '@hub/mongo';
import { createLogger } from '@hub/observability';
import { resolveStack, uniqueName } from '@hub/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MonitoringRepository } from './repository.js';

// The monitoring store on the real database (FerretDB locally): one copy per record id, `$` keys kept,
// retention by `expires_at` and the sweeper.
describe('MonitoringRepository', () => {
  const stack = resolveStack();
  const logger = createLogger({ service: 'monitoring-test', level: 'silent' });
  let store: MongoStore;
  let repository: MonitoringRepository;
  const org = uniqueName('mon-repo');
  const record = (eventId: string, createdAt = new Date().toISOString()) =>
    monitoringRecord({
      org_id: org,
      integration_id: 'I',
      event_id: eventId,
      correlation_id: 'C',
      use_case_id: 'U',
      stage: 'accepted',
      level: 'success',
      final: false,
      detail: { $relation: [{ entity_id: 'x' }], _$kept: 1 },
      created_at: createdAt,
    });

  beforeAll(async () => {
    store = await MongoStore.connect({ url: stack.mongoUrl, logger, appName: 'monitoring-test' });
    repository = new MonitoringRepository(store, 30);
    await prepareLayout(store, ['monitoring_events'], 'apply');
  });
  afterAll(() => store?.close());

  it('stores a record once, whatever the redeliveries, and shows `$` keys as sent', async () => {
    const r = record('evt_A');
    expect(await repository.insert(r)).toBe('stored');
    expect(await repository.insert({ ...r, message: 'again' })).toBe('duplicate');
    const found = await repository.chronological(org, 'I', { event_id: 'evt_A' }, 10);
    expect(found).toEqual([r]);
  });

  it('hides and sweeps records past retention, keeps the others', async () => {
    const day = 86_400_000;
    await repository.insert(record('evt_old'), Date.now() - 31 * day);
    await repository.insert(record('evt_new'));
    expect((await repository.page(org, 'I', { event_id: 'evt_old' }, 10, 'v2')).length).toBe(0);
    // The real clock only: the database is shared with every other test running now.
    // On FerretDB the retention helper sweeps (on MongoDB the TTL index would, within a minute).
    expect((await removeExpired(store, ['monitoring_events'])).monitoring_events).toBeGreaterThanOrEqual(1);
    expect((await repository.page(org, 'I', { event_id: 'evt_new' }, 10, 'v2')).length).toBe(1);
    // The expired record is gone (its id can be stored again); the current one is not.
    expect(await repository.insert(record('evt_old'))).toBe('stored');
    expect(await repository.insert(record('evt_new'))).toBe('duplicate');
  });

  it('aggregates at most the configured number of records per request', async () => {
    const scanOrg = uniqueName('mon-scan');
    await repository.insertMany(
      Array.from({ length: 5 }, (_, i) => ({ ...record(`evt_scan_${i}`), org_id: scanOrg })),
    );
    const scan = async (max: number) => {
      const out: string[] = [];
      for await (const r of repository.scan(scanOrg, 'I', {}, max)) out.push(r.event_id);
      return out;
    };
    expect((await scan(5)).length).toBe(5);
    await expect(scan(3)).rejects.toMatchObject({ statusCode: 400, code: 'QUERY_TOO_LARGE' });
  });

  it('never reads another organisation or integration', async () => {
    await repository.insert(record('evt_mine'));
    expect(await repository.page(uniqueName('other'), 'I', {}, 10, 'v2')).toEqual([]);
    expect(await repository.page(org, 'other-integration', {}, 10, 'v2')).toEqual([]);
  });
});
