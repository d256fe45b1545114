import {
  type ConfigView,
  decodeMessage,
  Headers,
  InboundEventMessage,
  MessageSchemaError,
  ParkedHeaders,
  quarantineKey,
  Topics,
} from '@hub/contracts';
import { type IncomingMessage, type MessageProducer, PermanentError, type TopicMirror } from '@hub/kafka';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface ParkedLaneDeps {
  view: ConfigView;
  mirror: TopicMirror;
  producer: MessageProducer;
  catchUpTimeoutMs: number;
  /** The shortest time between two looks at one quarantined use case revision (default 5 s). */
  cycleMs?: number;
}

/**
 * The parked events (`erp.inbound.parked`, ADR 0015 decision 11). Each is handed back to
 * `erp.inbound.events` once its use case has another revision than the quarantined one (or is gone: the
 * mapper then dead-letters it as for any event of a removed use case), and the quarantine's record on
 * `erp.mapper.quarantines` gets its tombstone. One still quarantined goes back to
 * the end of its partition, so it never holds up the parked events of other use cases behind it.
 *
 * Order per key holds because the decision is taken per use case revision and kept for a whole cycle
 * through the partition: the lane marks what it puts back with the cycle number, and looks at the
 * configuration again only when it meets an event it put back itself in the current cycle (at most every
 * `cycleMs`, which paces the loop). So of the events of one key, either all of a cycle are handed back,
 * in order, or all are put back, in order. (A restart of the lane in the very moment of a change is the
 * one case where two events of one key could be decided differently.)
 */
export class ParkedLane {
  /** Per partition and quarantined use case revision: the current cycle, its decision, when it was taken. */
  private readonly state = new Map<string, { cycle: number; resume: boolean; at: number }>();

  constructor(private readonly deps: ParkedLaneDeps) {}

  async handle(message: IncomingMessage): Promise<'resumed' | 'kept'> {
    let event: InboundEventMessage;
    try {
      event = decodeMessage(Topics.inboundEvents, InboundEventMessage, message.value);
    } catch (err) {
      if (err instanceof MessageSchemaError) throw new PermanentError(err.code, 'validation', err.message);
      throw err;
    }
    const useCaseId = message.headers[ParkedHeaders.useCaseId] ?? event.use_case_id;
    const revision = Number(message.headers[ParkedHeaders.revision]);
    const cycle = Number(message.headers[ParkedHeaders.cycle] ?? 0);
    // Per partition: a cycle is one pass through one partition (each is consumed in order on its own).
    const id = `${message.partition}:${useCaseId}@${revision}`;
    let state = this.state.get(id);
    let released = false;
    if (!state || cycle > state.cycle) {
      // First look, or the lane met an event it put back in this cycle: the cycle is complete.
      if (state) {
        const wait = state.at + (this.deps.cycleMs ?? 5_000) - Date.now();
        if (wait > 0) await sleep(wait);
      }
      state = { cycle, resume: await this.changed(event, useCaseId, revision), at: Date.now() };
      released = state.resume;
      this.state.set(id, state);
      if (this.state.size > 10_000) this.state.delete(this.state.keys().next().value!);
    }
    const value = message.value?.toString('utf8') ?? null; // the text as it came (a Buffer would be re-encoded)
    if (state.resume) {
      const headers = { ...message.headers };
      delete headers[ParkedHeaders.useCaseId];
      delete headers[ParkedHeaders.revision];
      delete headers[ParkedHeaders.cycle];
      await this.deps.producer.send([
        // The quarantine of the revision is over (ADR 0015, decision 13): its record's tombstone, once per
        // decision (each partition's lane decides, so a few tombstones of one revision are harmless).
        ...(released
          ? [
              {
                topic: Topics.quarantines,
                key: quarantineKey(useCaseId, revision),
                value: null,
                headers: { [Headers.orgId]: event.org_id },
              },
            ]
          : []),
        { topic: Topics.inboundEvents, key: message.key, value, headers },
      ]);
      return 'resumed';
    }
    await this.deps.producer.send([
      {
        topic: Topics.parkedEvents,
        key: message.key,
        value,
        headers: { ...message.headers, [ParkedHeaders.cycle]: String(state.cycle + 1) },
      },
    ]);
    return 'kept';
  }

  /** Whether the use case has left the quarantined revision (changed or removed). */
  private async changed(event: InboundEventMessage, useCaseId: string, revision: number): Promise<boolean> {
    await this.deps.mirror.catchUp(this.deps.catchUpTimeoutMs);
    const current = this.deps.view
      .integration(event.org_id, event.integration_id)
      ?.useCases.find((u) => u.id === useCaseId);
    return !current || current.revision !== revision;
  }
}
