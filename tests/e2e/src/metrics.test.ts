import { Topics } from '@hub/contracts';
import { apiClient, eventually, resolveStack, testToken, uniqueName } from '@hub/testing';
import { describe, expect, it } from 'vitest';

const stack = resolveStack();
const url = (name: string, fallback: string) => process.env[name] ?? fallback;
const GATEWAY = url('INGEST_GATEWAY_URL', 'http://127.0.0.1:8081');
const MAPPER = url('MAPPER_URL', 'http://127.0.0.1:8083');
const WRITER = url('ENTITY_WRITER_URL', 'http://127.0.0.1:8084');

/** The value of one series in a service's Prometheus text, 0 when absent. */
async function metric(service: string, series: string): Promise<number> {
  const text = await (await fetch(`${service}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : 0;
}

/** Sum of every sample of `name` whose labels include `labels` (in any order). */
async function sample(service: string, name: string, labels: Record<string, string>): Promise<number> {
  const text = await (await fetch(`${service}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n')) {
    const m = /^(\w+)\{(.*)\} (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries([...m[2]!.matchAll(/(\w+)="([^"]*)"/g)].map((l) => [l[1], l[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) sum += Number(m[3]);
  }
  return sum;
}

// e2e files run one at a time, so nothing else moves these counters during the test.
describe('Prometheus metrics follow what happened', () => {
  it('counts events by status at the gateway, mapped events at the mapper and writes at the writer', async () => {
    const api = apiClient(stack.baseUrl, testToken(stack, uniqueName('metrics')));
    const integration = await api.request<{ id: string }>('POST', '/v2/integrations', {
      name: 'metrics',
      use_cases: [
        {
          name: 'customer',
          type: 'inbound',
          enabled: true,
          configuration: {
            entities: [
              { entity_schema: 'contact', unique_ids: ['id'], fields: [{ attribute: 'id', field: 'id' }] },
            ],
          },
        },
      ],
    });
    const success = 'hub_ingested_events_total{version="v2",status="success",service="ingest-gateway"}';
    const error = 'hub_ingested_events_total{version="v2",status="error",service="ingest-gateway"}';
    const mapped = 'hub_mapped_events_total{service="mapper"}';
    const created = 'hub_entity_writes_total{kind="entity",outcome="created",service="entity-writer"}';
    const before = {
      success: await metric(GATEWAY, success),
      error: await metric(GATEWAY, error),
      mapped: await metric(MAPPER, mapped),
      created: await metric(WRITER, created),
      ...(await consumerMetrics()),
    };
    const event = (payload: unknown) => ({
      event_type: 'UPDATE',
      object_type: 'customer',
      timestamp: '2024-01-15T10:35:00Z',
      format: 'json',
      payload,
    });
    const res = await api.request<{ results: Array<{ status: string }> }>('POST', '/v2/erp/updates/events', {
      integration_id: integration.body.id,
      events: [event({ id: 'M1' }), event({ id: 'M2' }), event('{broken')],
    });
    expect(res.body.results.map((r) => r.status)).toEqual(['success', 'success', 'error']);
    expect((await metric(GATEWAY, success)) - before.success).toBe(2);
    expect((await metric(GATEWAY, error)) - before.error).toBe(1);
    await eventually(
      async () => ((await metric(WRITER, created)) - before.created >= 2 ? true : undefined),
      30_000,
      'writes',
    );
    expect((await metric(MAPPER, mapped)) - before.mapped).toBe(2);
    expect((await metric(WRITER, created)) - before.created).toBe(2);

    // The consumers: every message handled once, timed, aged; and both groups caught up (lag back to 0).
    const after = await consumerMetrics();
    expect(after.mapperProcessed - before.mapperProcessed).toBeGreaterThanOrEqual(2);
    expect(after.mapperHandled - before.mapperHandled).toBeGreaterThanOrEqual(2);
    expect(after.mapperAged - before.mapperAged).toBeGreaterThanOrEqual(2);
    expect(after.mapperAgeSum).toBeGreaterThan(before.mapperAgeSum);
    expect(after.writerProcessed - before.writerProcessed).toBeGreaterThanOrEqual(2);
    expect(after.writerHandled - before.writerHandled).toBeGreaterThanOrEqual(2);
    expect(after.writerHandledSum).toBeGreaterThan(before.writerHandledSum);
    await eventually(
      async () => {
        const lag = {
          mapper: await sample(MAPPER, 'hub_consumer_lag', { topic: Topics.inboundEvents }),
          writer: await sample(WRITER, 'hub_consumer_lag', { topic: Topics.entityUpdates }),
        };
        return lag.mapper === 0 && lag.writer === 0 ? lag : undefined;
      },
      30_000,
      'consumer lag back to 0',
    );
    // One lag series per partition of the consumed topic.
    const text = await (await fetch(`${MAPPER}/metrics`)).text();
    const partitions = text
      .split('\n')
      .filter((l) => l.startsWith('hub_consumer_lag{') && l.includes(`topic="${Topics.inboundEvents}"`));
    expect(partitions.length).toBeGreaterThanOrEqual(1);
    expect(partitions.every((l) => /partition="\d+"/.test(l))).toBe(true);
  });
});

async function consumerMetrics() {
  const mapper = { topic: Topics.inboundEvents };
  const writer = { topic: Topics.entityUpdates };
  return {
    mapperProcessed: await sample(MAPPER, 'hub_consumer_messages_total', { ...mapper, outcome: 'processed' }),
    mapperHandled: await sample(MAPPER, 'hub_consumer_handler_duration_seconds_count', mapper),
    mapperAged: await sample(MAPPER, 'hub_consumer_event_age_seconds_count', mapper),
    mapperAgeSum: await sample(MAPPER, 'hub_consumer_event_age_seconds_sum', mapper),
    writerProcessed: await sample(WRITER, 'hub_consumer_messages_total', { ...writer, outcome: 'processed' }),
    writerHandled: await sample(WRITER, 'hub_consumer_handler_duration_seconds_count', writer),
    writerHandledSum: await sample(WRITER, 'hub_consumer_handler_duration_seconds_sum', writer),
  };
}

describe('the Grafana dashboard', () => {
  it('only queries metrics the services export', async () => {
    const { readFileSync } = await import('node:fs');
    const dashboard = JSON.parse(
      readFileSync(new URL('../../../deploy/grafana/dashboard.json', import.meta.url), 'utf8'),
    ) as { panels: Array<{ targets: Array<{ expr: string }> }> };
    const exported = new Set<string>();
    for (const service of [
      GATEWAY,
      MAPPER,
      WRITER,
      url('CONFIG_SERVICE_URL', 'http://127.0.0.1:8082'),
      stack.baseUrl,
    ]) {
      const text = await (await fetch(`${service}/metrics`)).text();
      for (const line of text.split('\n')) if (line.startsWith('# TYPE ')) exported.add(line.split(' ')[2]!);
    }
    const queried = dashboard.panels.flatMap((p) =>
      p.targets.flatMap((t) =>
        [...t.expr.matchAll(/\b(hub_\w+|http_\w+|process_\w+|nodejs_\w+)\b/g)].map((m) => m[1]!),
      ),
    );
    expect(queried.length).toBeGreaterThan(5);
    // Lag, processing latency and retries have panels.
    for (const name of [
      'hub_consumer_lag',
      'hub_consumer_handler_duration_seconds_bucket',
      'hub_consumer_event_age_seconds_bucket',
      'hub_consumer_retries_total',
    ]) {
      expect(queried).toContain(name);
    }
    for (const name of queried) {
      const base = name.replace(/_(bucket|count|sum)$/, '');
      expect(exported.has(name) || exported.has(base), `${name} is exported`).toBe(true);
    }
  });
});
