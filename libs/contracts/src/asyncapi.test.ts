import { Parser } from '@asyncapi/parser';
import { describe, expect, it } from 'vitest';
import { buildAsyncApi } from './asyncapi.js';
import { DeadLetterMessage, ProcessedEntityMessage } from './messages.js';
import { Headers, Topics } from './topics.js';

type Doc = {
  channels: Record<
    string,
    { address: string; messages: Record<string, { $ref: string }>; tags: Array<{ name: string }> }
  >;
  operations: Record<
    string,
    { action: string; channel: { $ref: string }; bindings?: { kafka?: { groupId?: unknown } } }
  >;
  components: {
    messages: Record<string, { payload: unknown; headers: { required?: string[]; properties: object } }>;
  };
  servers?: Record<string, { host: string; protocol: string }>;
};

describe('the AsyncAPI document of the topics', () => {
  const doc = buildAsyncApi({ kafkaBrokers: ['127.0.0.1:9092', '127.0.0.1:9095'] }) as Doc;

  it('parses and validates with the official AsyncAPI parser, with no error or warning', async () => {
    const { document, diagnostics } = await new Parser().parse(JSON.stringify(doc));
    // Severities: 0 error, 1 warning, 2 information (e.g. "3.1.0 exists"), 3 hint.
    expect(
      diagnostics.filter((d) => d.severity <= 1).map((d) => `${d.code}: ${d.message} at ${d.path}`),
    ).toEqual([]);
    expect(document?.version()).toBe('3.0.0');
    const addresses = document!
      .channels()
      .all()
      .map((c) => c.address());
    expect(addresses).toEqual(Object.values(Topics).sort((a, b) => order(a) - order(b)));
    const processed = document!
      .channels()
      .all()
      .find((c) => c.address() === Topics.entitiesProcessed)!;
    expect(processed.messages().all()[0]!.headers()?.properties()).toHaveProperty(Headers.traceparent);
    expect(
      document!
        .servers()
        .all()
        .map((s) => s.host()),
    ).toEqual(['127.0.0.1:9092']);
  }, 60_000); // the parser (Spectral rules, JSON Schema validation) takes seconds on a busy machine

  it('carries the very schemas the services validate with (one source)', () => {
    expect(doc.components.messages.ProcessedEntity!.payload).toEqual(ProcessedEntityMessage);
    expect(doc.components.messages.DeadLetter!.payload).toEqual(DeadLetterMessage);
  });

  it('names every header of a processed-entity message, the public topics tagged public, the rest internal', () => {
    expect(doc.components.messages.ProcessedEntity!.headers.required).toEqual(Object.values(Headers));
    const tags = Object.fromEntries(Object.values(doc.channels).map((c) => [c.address, c.tags[0]!.name]));
    expect(tags).toEqual({
      [Topics.entitiesProcessed]: 'public',
      [Topics.deadLetters]: 'public',
      [Topics.inboundEvents]: 'internal',
      [Topics.parkedEvents]: 'internal',
      [Topics.entityUpdates]: 'internal',
      [Topics.monitoringEvents]: 'internal',
      [Topics.quarantines]: 'internal',
      [Topics.configChanges]: 'internal',
    });
  });

  it('says which consumer group reads each internal topic, and that subscribers use their own', () => {
    const groups = Object.values(doc.operations)
      .filter((o) => o.action === 'receive')
      .map((o) => [o.channel.$ref, o.bindings?.kafka?.groupId]);
    expect(groups).toContainEqual(['#/channels/inboundEvents', { type: 'string', const: 'mapper' }]);
    expect(groups).toContainEqual(['#/channels/entityUpdates', { type: 'string', const: 'entity-writer' }]);
    const subscriber = groups.find(([ref]) => ref === '#/channels/entitiesProcessed')![1] as {
      description: string;
    };
    expect(subscriber.description).toContain('Your own consumer group');
  });

  it('lists no server when the brokers are not given', () => {
    expect((buildAsyncApi() as Doc).servers).toBeUndefined();
  });
});

const ORDER: string[] = [
  Topics.entitiesProcessed,
  Topics.deadLetters,
  Topics.inboundEvents,
  Topics.parkedEvents,
  Topics.entityUpdates,
  Topics.monitoringEvents,
  Topics.quarantines,
  Topics.configChanges,
];
const order = (t: string) => ORDER.indexOf(t);
