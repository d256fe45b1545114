import { Topics } from '@hub/contracts';
import { GRANTS, type HttpServer, requireGrant, shared, unavailable } from '@hub/http';
import { type KafkaClient, measureLag, partitionLag } from '@hub/kafka';

export interface PipelineGroup {
  group: string;
  topic: string;
}

/** The consumer groups of the pipeline, in the order events pass them. */
export function pipelineGroups(ids: { mapper: string; writer: string; monitoring: string }): PipelineGroup[] {
  return [
    { group: ids.mapper, topic: Topics.inboundEvents },
    { group: ids.writer, topic: Topics.entityUpdates },
    { group: ids.monitoring, topic: Topics.monitoringEvents },
  ];
}

/**
 * `GET /v2/hub/pipeline` (ours, not in the reference; the web console's monitoring page shows it): how many
 * messages each consumer group has yet to process on its topic, per partition, and how many dead letters
 * the dead-letter topic retains. The same figures as the `hub_consumer_lag` gauge of each consumer, but
 * measured on the broker, so they are whole whatever instance answers. They describe the hub's own
 * pipeline, shared by every organisation, and no organisation's data: operators only (grant hub:operate). Measured at most once a second
 * however many callers ask.
 */
export function registerPipelineRoutes(
  app: HttpServer,
  deps: { kafka: KafkaClient; groups: PipelineGroup[] },
) {
  // One admin connection, made at the first request and kept; dropped after a failure, made again next time.
  let connected: ReturnType<KafkaClient['admin']> | undefined;
  const measure = shared(async () => {
    connected ??= deps.kafka.admin();
    const current = connected;
    try {
      const admin = await current;
      const groups = await Promise.all(
        deps.groups.map(async ({ group, topic }) => {
          const partitions = await measureLag(admin, group, [topic]);
          return {
            group,
            topic,
            lag: partitions.reduce((sum, p) => sum + p.lag, 0),
            partitions: partitions
              .map(({ partition, lag }) => ({ partition, lag }))
              .sort((a, b) => a.partition - b.partition),
          };
        }),
      );
      const deadLetters = await admin.fetchTopicOffsets(Topics.deadLetters);
      const retained = deadLetters.reduce((sum, p) => sum + partitionLag(p.high, p.low, undefined), 0);
      return {
        measured_at: new Date().toISOString(),
        consumer_groups: groups,
        dead_letters: { topic: Topics.deadLetters, retained },
      };
    } catch (err) {
      if (connected === current) connected = undefined;
      void current.then((a) => a.disconnect()).catch(() => undefined);
      throw err;
    }
  }, 1_000);
  app.addHook('onClose', async () => {
    const open = connected;
    connected = undefined;
    await (await open?.catch(() => undefined))?.disconnect().catch(() => undefined);
  });
  // The operator's grant, not an organisation's: the figures show every organisation's load (partitions are
  // keyed by integration id, so a tenant could watch another's traffic). A failure's cause goes to the log
  // only: the broker's message names hosts and ports.
  app.get('/v2/hub/pipeline', { onRequest: requireGrant(GRANTS.operate) }, (request) =>
    measure().catch((err: Error) => {
      request.log.warn({ err }, 'the broker could not be asked for the pipeline figures');
      throw unavailable(
        `the broker could not be asked for the pipeline's figures; retry (request id ${request.id})`,
      );
    }),
  );
}
