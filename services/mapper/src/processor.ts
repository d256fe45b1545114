import {
  type ConfigView,
  deadLetterRecord,
  decodeMessage,
  Headers,
  InboundEventMessage,
  MessageSchemaError,
  type MonitoringRecord,
  monitoringCategory,
  monitoringMessage,
  monitoringRecord,
  ParkedHeaders,
  quarantineKey,
  Topics,
  type UseCaseQuarantineMessage,
} from '@hub/contracts';
import {
  type IncomingMessage,
  type MessageProducer,
  type OutgoingMessage,
  PermanentError,
  type TopicMirror,
} from '@hub/kafka';
import { failurePath, type MappingResult, type MappingSandbox } from '@hub/mapping';
import type { Logger } from '@hub/observability';
import type { Quarantine } from './fairness.js';
import { updateMessages } from './updates.js';

export interface ProcessorDeps {
  view: ConfigView;
  mirror: TopicMirror;
  producer: MessageProducer;
  logger: Logger;
  /** Where payloads are parsed and mapped: a worker with a hard deadline and a heap cap. */
  sandbox: MappingSandbox;
  catchUpTimeoutMs: number;
  /** Use-case revisions whose events keep hitting the mapping budget: their events are parked. */
  quarantine: Quarantine;
  /** Told when a use case revision is quarantined (metrics). */
  onQuarantined?: (orgId: string, useCaseId: string, revision: number) => void;
  /** Told of each event parked (metrics). */
  onParked?: () => void;
  /** How long without progress `handleBatch` waits for a chunk before it returns what is done (100 ms). */
  chunkPatienceMs?: number;
  /** The clock of how long a mapping has run (the sandbox keeps its own); tests set it. */
  now?: () => number;
}

/** How long mapped events wait for the rest of their chunk before they are sent anyway. */
const EARLY_SEND_MS = 50;
/** How long `handleBatch` waits for a chunk before it returns what is done (MAPPER_CHUNK_PATIENCE_MS). */
export const DEFAULT_CHUNK_PATIENCE_MS = 100;
/** A partition not handled for this long (revoked, or idle) is forgotten once nothing of it runs. */
const FORGET_PARTITION_MS = 5 * 60_000;

/** What `handleBatch` took of a chunk (from its start), and when to fetch the rest again. */
export interface ChunkProgress {
  /** Events from the first whose outputs are sent: they may be committed. */
  taken: number;
  /** Of the taken: mapped (not dead-lettered as a whole), and the dead letters' codes. */
  mapped: number;
  codes: string[];
  /** When not every event was taken: settles when the rest is done, or after twice the patience. */
  resumeAfter?: Promise<void>;
}

/** One event's outputs, and what they were made with (the event, its use case), or that it was parked. */
interface Mapped {
  out: OutgoingMessage[];
  deadLetterCode?: string;
  event?: InboundEventMessage;
  useCase?: { id: string; revision: number };
  parked?: boolean;
}

interface Task {
  message: IncomingMessage;
  key: string;
  offset: bigint;
  /** Mapped, or failed for good (`result`), or failed otherwise (`failure`): the chunk is retried. */
  settled: boolean;
  result?: { out: OutgoingMessage[]; mapped: boolean; code?: string };
  failure?: unknown;
  /** Its outputs are in a send; that send succeeded. */
  sent: boolean;
  acked: boolean;
  /** Settles (never rejects) when the event is mapped or failed. */
  done: Promise<void>;
  /**
   * Where it is (ADR 0015, decision 20): after its key's earlier event (`chain`), reading its use case,
   * waiting in its organisation's queue in the sandbox (`gate`: the organisation runs on as many workers
   * as it may), mapping (taken by a worker with its batch: `running`, since when), or done.
   */
  phase: 'chain' | 'prepare' | 'gate' | 'running' | 'mapped';
  since: number;
  /** Its key's earlier event still in progress when it started. */
  previous?: Task | undefined;
  org?: string;
}

/** One partition's events in progress: by offset, the last of each key, and the sends in order. */
interface PartitionWork {
  tasks: Map<string, Task>;
  chains: Map<string, Task>;
  sending: Promise<void>;
  flushTimer?: NodeJS.Timeout | undefined;
  touchedAt: number;
  /** Events of the partition done so far (progress while a chunk is waited for). */
  settled: number;
  /** Wakes `handleBatch` when one of the partition's events moves on (settles or changes phase). */
  wake?: (() => void) | undefined;
}

/**
 * Turns one inbound event into entity updates, prune scopes, meter readings and reading prune scopes with
 * the use case's mapping, compiled once per use-case revision in the sandbox's worker. All of them and the
 * dead letter of any update that failed are sent in one batch before the offset is committed.
 */
export class EventProcessor {
  /** Per partition (`topic:partition`), the events being mapped or not yet committed. */
  private readonly partitions = new Map<string, PartitionWork>();

  constructor(private readonly deps: ProcessorDeps) {}

  /** Maps one event and sends its outputs; returns the error code of the dead letter of failed updates, if any. */
  async handle(message: IncomingMessage): Promise<{ deadLetterCode?: string }> {
    const { out, deadLetterCode } = await this.map(message);
    await this.deps.producer.send(out);
    return deadLetterCode ? { deadLetterCode } : {};
  }

  /**
   * Maps consecutive events of a partition and sends their outputs: entity updates, dead letters and
   * monitoring records, including the dead letter of an event that can never be mapped
   * (`onPermanentFailure` makes it). Every event is handed to the sandbox at once, so it can take each
   * organisation's in turn (ADR 0015, decision 10) and one tenant's slow events do not hold another's
   * behind them; the outcomes of one key's (integration, group) are taken in offset order (decision 27).
   *
   * It waits for the chunk while it makes progress, and returns once `chunkPatienceMs` passed with no
   * event of the partition done (ADR 0015, decision 19): the consumer fetches every partition in one
   * round and fetches again only when each partition's handler returned, so a chunk held by an event that
   * runs to the mapping deadline would hold every other partition's events too. Then it returns what is
   * done from the start of the chunk (`taken`, its outputs sent) and `resumeAfter`, settled once the
   * rest is done or after twice the patience: the runner commits the
   * taken ones, pauses the partition until then, and fetches the rest again. The events still mapping go
   * on meanwhile; fetched again, an event already started is not started again (its outcome is reused,
   * its outputs were sent once), and one fetched for the first time follows its key's earlier events.
   */
  async handleBatch(
    messages: IncomingMessage[],
    onPermanentFailure: (message: IncomingMessage, error: PermanentError) => OutgoingMessage[],
  ): Promise<ChunkProgress> {
    const first = messages[0];
    if (!first) return { taken: 0, mapped: 0, codes: [] };
    const work = this.partitionWork(first);
    // Offsets before the chunk's first were committed (or another member took the partition meanwhile).
    const from = BigInt(first.offset);
    // One still mapping stays its key's last, so the key's next event waits for it.
    for (const [offset, task] of work.tasks) {
      if (task.offset >= from) continue;
      if (task.settled) this.forget(work, offset, task);
      else work.tasks.delete(offset);
    }
    const tasks = messages.map(
      (message) => work.tasks.get(message.offset) ?? this.start(work, message, onPermanentFailure),
    );
    // Waits while the chunk makes progress (a big chunk mapping steadily is not fetched again); returns
    // early once a whole patience passed with no event of the partition done (a slow neighbour), and at
    // once when every event left is held up (decision 20): running long already, or waiting in its
    // organisation's queue behind mappings that do, or behind its key's earlier event that is. The
    // consumer fetches every partition again only once each handler returned, so a chunk waited for
    // holds every other partition's next events; the quick events of a chunk are sent before it returns.
    for (let settled = work.settled, quietSince = Date.now(); ; ) {
      if (tasks.every((t) => t.settled)) break;
      if (this.heldUp(tasks)) break;
      const left = this.patienceMs - (Date.now() - quietSince);
      if (left <= 0) break;
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve) => {
        work.wake = resolve;
        // Looked at again now and then: a mapping becomes "long" with time, not with an event.
        timer = setTimeout(resolve, Math.min(left, Math.max(10, this.patienceMs / 4)));
      });
      clearTimeout(timer);
      work.wake = undefined;
      if (work.settled !== settled) {
        settled = work.settled;
        quietSince = Date.now();
      }
    }

    const failed = tasks.find((t) => t.failure !== undefined);
    if (failed) {
      // Retried by the runner (harmless): nothing of this partition may still run when it is.
      await this.settleAll(work);
      throw failed.failure;
    }
    this.flush(work);
    try {
      await work.sending;
    } catch (err) {
      await this.settleAll(work);
      throw err;
    }
    let taken = 0;
    while (taken < tasks.length && tasks[taken]!.acked) taken++;
    let mapped = 0;
    const codes: string[] = [];
    for (const task of tasks.slice(0, taken)) {
      if (task.result?.mapped) mapped++;
      if (task.result?.code) codes.push(task.result.code);
      this.forget(work, task.message.offset, task);
    }
    if (taken === tasks.length) return { taken, mapped, codes };
    // The rest is still mapping: the partition is fetched again once it is done, or sooner for the events
    // that arrived behind it.
    const rest = Promise.all(tasks.slice(taken).map((t) => t.done));
    let recheck: NodeJS.Timeout | undefined;
    const resumeAfter = Promise.race([
      rest,
      new Promise<void>((r) => (recheck = setTimeout(r, 2 * this.patienceMs))),
    ]).then(() => clearTimeout(recheck));
    return { taken, mapped, codes, resumeAfter };
  }

  private get patienceMs(): number {
    return this.deps.chunkPatienceMs ?? DEFAULT_CHUNK_PATIENCE_MS;
  }

  private now(): number {
    return this.deps.now?.() ?? Date.now();
  }

  /**
   * Every event of the chunk not done yet is held up (decision 20): its mapping has run (or waited for a
   * worker) a patience already, or it waits in its organisation's queue while every worker the
   * organisation may use runs a job of it that has (`MappingSandbox.blocked`), or it
   * follows its key's earlier event that is held up. Waiting for such a chunk would only hold the other
   * partitions: their next fetch waits for this handler.
   */
  private heldUp(tasks: Task[]): boolean {
    const now = this.now();
    const known = new Map<Task, boolean>();
    const held = (task: Task): boolean => {
      if (task.settled) return false;
      const seen = known.get(task);
      if (seen !== undefined) return seen;
      let answer: boolean;
      switch (task.phase) {
        case 'running':
          answer = now - task.since >= this.patienceMs;
          break;
        case 'gate':
          answer = this.deps.sandbox.blocked(task.org ?? '', this.patienceMs);
          break;
        case 'chain':
          // Its key's earlier event: earlier in offsets, so the chain ends.
          answer = task.previous !== undefined && held(task.previous);
          break;
        default:
          answer = false;
      }
      known.set(task, answer);
      return answer;
    };
    return tasks.every((t) => t.settled || held(t));
  }

  /** The event moved on: `handleBatch`, if it waits for the partition, looks again. */
  private moved(work: PartitionWork, task: Task, phase: Task['phase'], org?: string): void {
    task.phase = phase;
    task.since = this.now();
    if (org !== undefined) task.org = org;
    work.wake?.();
  }

  /** The partition's events in progress, started once each; partitions idle for long are forgotten. */
  private partitionWork(message: IncomingMessage): PartitionWork {
    const id = `${message.topic}:${message.partition}`;
    const now = Date.now();
    for (const [other, work] of this.partitions) {
      if (
        other !== id &&
        now - work.touchedAt > FORGET_PARTITION_MS &&
        [...work.tasks.values()].every((t) => t.settled)
      )
        this.partitions.delete(other);
    }
    let work = this.partitions.get(id);
    if (!work) {
      work = { tasks: new Map(), chains: new Map(), sending: Promise.resolve(), touchedAt: now, settled: 0 };
      this.partitions.set(id, work);
    }
    work.touchedAt = now;
    return work;
  }

  /**
   * Maps one event at once, even while its key's earlier event still maps (mappings have no side
   * effects), and takes its outcome only once that event settled, so one key's outputs keep their order
   * and one key's events reach a worker together (ADR 0015, decision 27). Its outputs are sent early
   * (flush) once ready.
   */
  private start(
    work: PartitionWork,
    message: IncomingMessage,
    onPermanentFailure: (message: IncomingMessage, error: PermanentError) => OutgoingMessage[],
  ): Task {
    const key = message.key ?? '';
    const last = work.chains.get(key);
    const previous = last && !last.settled ? last : undefined;
    const task: Task = {
      message,
      key,
      offset: BigInt(message.offset),
      settled: false,
      sent: false,
      acked: false,
      done: Promise.resolve(),
      phase: 'prepare',
      since: this.now(),
      previous,
    };
    const mapping = this.map(message, (phase, org) => this.moved(work, task, phase, org)).then(
      (result) => ({ result }),
      (err: unknown) => ({ err }),
    );
    task.done = mapping.then(async (outcome) => {
      if (previous && !previous.settled) {
        this.moved(work, task, 'chain');
        await previous.done;
      }
      task.previous = undefined;
      if (previous?.failure !== undefined) {
        // Its key's earlier event failed: this one waits for the retry, or its outputs would overtake.
        task.failure = previous.failure;
      } else if ('err' in outcome) {
        if (outcome.err instanceof PermanentError)
          task.result = {
            out: onPermanentFailure(message, outcome.err),
            mapped: false,
            code: outcome.err.code,
          };
        else task.failure = outcome.err;
      } else {
        const { result } = outcome;
        // Its use case was quarantined while the key's earlier event mapped (that one was parked, or
        // made it so): parked as it would have been had it started after that event.
        const parked =
          previous !== undefined &&
          result.useCase !== undefined &&
          !result.parked &&
          this.deps.quarantine.has(result.useCase.id, result.useCase.revision);
        task.result = parked
          ? { out: this.park(message, result.event!, result.useCase!), mapped: true }
          : {
              out: result.out,
              mapped: true,
              ...(result.deadLetterCode ? { code: result.deadLetterCode } : {}),
            };
      }
      task.settled = true;
      work.settled++;
      this.moved(work, task, 'mapped');
      if (task.result) work.flushTimer ??= setTimeout(() => this.flush(work), EARLY_SEND_MS);
    });
    work.tasks.set(message.offset, task);
    work.chains.set(key, task);
    return task;
  }

  /**
   * Sends the outputs of every mapped event not sent yet, in offset order, after the earlier sends: one
   * key's outputs stay in order. Sending early is harmless: a chunk retried after a failure sends again.
   */
  private flush(work: PartitionWork): void {
    clearTimeout(work.flushTimer);
    work.flushTimer = undefined;
    const ready = [...work.tasks.values()]
      .filter((t) => t.result && !t.sent)
      .sort((a, b) => (a.offset < b.offset ? -1 : 1));
    if (ready.length === 0) return;
    for (const task of ready) task.sent = true;
    const out = ready.flatMap((t) => t.result!.out);
    work.sending = work.sending.then(async () => {
      if (out.length > 0) await this.deps.producer.send(out);
      for (const task of ready) task.acked = true;
    });
    work.sending.catch(() => undefined); // handled where the partition's next chunk awaits it
  }

  /** Waits until nothing of the partition runs, then forgets it all (a retry starts afresh). */
  private async settleAll(work: PartitionWork): Promise<void> {
    await Promise.all([...work.tasks.values()].map((t) => t.done));
    clearTimeout(work.flushTimer);
    for (const [id, w] of this.partitions) if (w === work) this.partitions.delete(id);
  }

  private forget(work: PartitionWork, offset: string, task: Task): void {
    work.tasks.delete(offset);
    if (work.chains.get(task.key) === task) work.chains.delete(task.key);
  }

  /** One event's outputs; a PermanentError when it can never be mapped. */
  private async map(
    message: IncomingMessage,
    moved?: (phase: 'gate' | 'running', org: string) => void,
  ): Promise<Mapped> {
    let event: InboundEventMessage;
    try {
      event = decodeMessage(Topics.inboundEvents, InboundEventMessage, message.value);
    } catch (err) {
      if (err instanceof MessageSchemaError) throw new PermanentError(err.code, 'validation', err.message);
      throw err;
    }
    // The event's child logger, made only when a line is written (issue 22: a pino child per event, made
    // for a debug line that is off in production, was a measurable part of the mapper's CPU).
    const log = () =>
      this.deps.logger.child({
        eventId: event.event_id,
        correlationId: event.correlation_id,
        topic: message.topic,
        partition: message.partition,
        offset: message.offset,
      });

    const useCase = await this.useCaseOf(event);
    const { quarantine } = this.deps;
    if (quarantine.size > 0) quarantine.seen(useCase.id, useCase.revision);
    const parked = (reason?: string): Mapped => ({
      out: this.park(message, event, useCase, reason),
      event,
      useCase,
      parked: true,
    });
    if (quarantine.has(useCase.id, useCase.revision)) return parked();
    // Waits in its organisation's queue in the sandbox (phase `gate`) until a worker takes it with the
    // organisation's other waiting events (one message per batch, ADR 0015 decision 25).
    moved?.('gate', event.org_id);
    const outcome = await this.deps.sandbox.run(
      {
        key: `${useCase.id}@${useCase.revision}`,
        configuration: useCase.configuration ?? {},
        format: event.format,
        payload: event.payload,
        tenant: event.org_id,
      },
      {
        onStart: () => moved?.('running', event.org_id),
        // Quarantined while this event waited: parked without running.
        cancelled: () => quarantine.has(useCase.id, useCase.revision),
      },
    );
    if (outcome.kind === 'cancelled') return parked();
    let result: MappingResult;
    switch (outcome.kind) {
      case 'result':
        result = outcome.result;
        break;
      case 'payload':
        throw new PermanentError('PAYLOAD_INVALID', 'validation', outcome.message);
      case 'configuration':
        throw new PermanentError('CONFIGURATION_INVALID', 'configuration', outcome.message);
      case 'budget': {
        // The event that makes its use case "keep hitting the budget" is parked with the ones after it.
        const was = quarantine.has(useCase.id, useCase.revision);
        const target = {
          orgId: event.org_id,
          integrationId: event.integration_id,
          useCaseId: useCase.id,
          revision: useCase.revision,
        };
        if (quarantine.hit(target, outcome.message)) {
          if (!was) {
            log().warn(
              { orgId: event.org_id, useCaseId: useCase.id, revision: useCase.revision },
              'use case quarantined: its events keep hitting the mapping budget; parking them until its configuration changes',
            );
            this.deps.onQuarantined?.(event.org_id, useCase.id, useCase.revision);
          }
          return parked(outcome.message);
        }
        throw new PermanentError('MAPPING_BUDGET_EXCEEDED', 'mapping', outcome.message);
      }
      default:
        throw new Error(`mapping failed: ${'message' in outcome ? outcome.message : outcome.kind}`);
    }

    const headers = {
      ...message.headers,
      [Headers.correlationId]: event.correlation_id,
      [Headers.eventId]: event.event_id,
      [Headers.orgId]: event.org_id,
      [Headers.schemaVersion]: '1',
    };
    const out: OutgoingMessage[] = updateMessages(event, result).map(({ key, value }) => ({
      topic: Topics.entityUpdates,
      key,
      value,
      headers,
    }));
    if (result.failures.length > 0) {
      const first = result.failures[0]!;
      out.push(
        deadLetterRecord(
          'mapper',
          message,
          {
            code: first.code,
            category: 'mapping',
            message: result.failures.map((f) => `${f.entity_schema}: ${f.message}`).join('; '),
          },
          1,
        ),
      );
      // Codes and where in the configuration, not the messages: they may quote the event's values.
      log().warn(
        {
          failures: result.failures.map((f) => ({
            code: f.code,
            path: failurePath(f),
            ...(f.element_index !== undefined ? { element: f.element_index } : {}),
            ...(f.attribute ? { attribute: f.attribute } : {}),
          })),
        },
        'some entity updates of this event failed to map',
      );
    }
    out.push(...mappingRecords(event, result).map((r) => monitoringMessage(r, headers)));
    if (this.deps.logger.isLevelEnabled('debug'))
      log().debug(
        {
          updates: result.entity_updates.length,
          pruneScopes: result.prune_scope_updates.length,
          readings: result.meter_readings_updates.length,
          readingPruneScopes: result.meter_readings_prune_scope_updates.length,
          failures: result.failures.length,
        },
        'event mapped',
      );
    return {
      out,
      event,
      useCase,
      ...(result.failures.length > 0 ? { deadLetterCode: result.failures[0]!.code } : {}),
    };
  }

  /**
   * The event as it came, to `erp.inbound.parked` with the quarantined revision (parked.ts hands it back
   * once the configuration changed), its monitoring record (`quarantined`, a warning, not final), and the
   * quarantine itself on `erp.mapper.quarantines` (ADR 0015, decision 13): the same record with every
   * parked event, so it is on the topic before any parked offset commits, whichever instance parks, and
   * even when the send that first carried it failed and the chunk is retried.
   */
  private park(
    message: IncomingMessage,
    event: InboundEventMessage,
    useCase: { id: string; revision: number },
    reason?: string,
  ): OutgoingMessage[] {
    this.deps.onParked?.();
    const headers = {
      ...message.headers,
      [Headers.correlationId]: event.correlation_id,
      [Headers.eventId]: event.event_id,
      [Headers.orgId]: event.org_id,
    };
    const entry = this.deps.quarantine.get(useCase.id, useCase.revision);
    const quarantine: UseCaseQuarantineMessage = {
      schema_version: 1,
      org_id: event.org_id,
      integration_id: event.integration_id,
      use_case_id: useCase.id,
      revision: useCase.revision,
      since: entry?.since ?? new Date().toISOString(),
      code: 'USE_CASE_QUARANTINED',
      reason:
        entry?.reason ??
        "its events kept hitting the mapping budget; they are parked, not lost: change the use case's configuration and they are mapped with the new one",
    };
    return [
      {
        topic: Topics.quarantines,
        key: quarantineKey(useCase.id, useCase.revision),
        value: quarantine,
        headers: { [Headers.orgId]: event.org_id, [Headers.schemaVersion]: '1' },
      },
      {
        topic: Topics.parkedEvents,
        key: message.key,
        value: message.value?.toString('utf8') ?? null, // the text as it came (an object would be re-encoded)
        headers: {
          ...message.headers,
          [ParkedHeaders.useCaseId]: useCase.id,
          [ParkedHeaders.revision]: String(useCase.revision),
        },
      },
      monitoringMessage(
        monitoringRecord({
          ...recordBase(event, new Date().toISOString()),
          stage: 'quarantined',
          subject: String(useCase.revision),
          level: 'warning',
          code: 'USE_CASE_QUARANTINED',
          message: `the use case is quarantined (revision ${useCase.revision}): its events kept hitting the mapping budget${reason ? ` (${reason})` : ''}; this event is parked, not lost, and is mapped once the use case's configuration changes`,
          category: monitoringCategory('mapping'),
          final: false,
          detail: { revision: useCase.revision, parked: true },
        }),
        headers,
      ),
    ];
  }

  private async useCaseOf(event: InboundEventMessage) {
    const { view, mirror } = this.deps;
    let snapshot = view.integration(event.org_id, event.integration_id);
    if (!snapshot || snapshot.integration.revision < event.config_revision) {
      await mirror.catchUp(this.deps.catchUpTimeoutMs); // throws (transient) if the topic cannot be read
      snapshot = view.integration(event.org_id, event.integration_id);
    }
    if (!snapshot) {
      throw new PermanentError(
        'INTEGRATION_NOT_FOUND',
        'configuration',
        `integration ${event.integration_id} no longer exists`,
      );
    }
    if (snapshot.integration.revision < event.config_revision) {
      throw new Error(
        `configuration revision ${event.config_revision} of ${event.integration_id} not seen yet`,
      );
    }
    const useCase = snapshot.useCases.find((u) => u.id === event.use_case_id);
    if (!useCase) {
      throw new PermanentError(
        'USE_CASE_NOT_FOUND',
        'configuration',
        `use case ${event.use_case_id} no longer exists`,
      );
    }
    return useCase;
  }
}

/** What every monitoring record of an inbound event says about the event. */
function recordBase(event: InboundEventMessage, now: string) {
  return {
    org_id: event.org_id,
    integration_id: event.integration_id,
    event_id: event.event_id,
    correlation_id: event.correlation_id,
    use_case_id: event.use_case_id,
    event_type: event.event_type,
    object_type: event.event_name,
    received_at: event.accepted_at,
    created_at: now,
  };
}

/**
 * The monitoring records of one mapped event: `mapped` with the fan-out (unless every update failed),
 * and one `mapping_failed` per update that could not be produced (its dead letter is in the same batch),
 * with the configuration path, the attribute and the reason. An event that maps to nothing is a final
 * `mapped` warning (`NOTHING_MAPPED`). The mapping's warnings (a value kept as given, nothing to prune)
 * make the `mapped` record a warning (`MAPPING_WARNINGS`) that lists them, as a simulation would; when
 * every update failed they are listed on the first `mapping_failed` record.
 */
export function mappingRecords(
  event: InboundEventMessage,
  result: Pick<
    MappingResult,
    | 'entity_updates'
    | 'prune_scope_updates'
    | 'meter_readings_updates'
    | 'meter_readings_prune_scope_updates'
    | 'failures'
    | 'warnings'
  >,
  now = new Date().toISOString(),
): MonitoringRecord[] {
  const base = recordBase(event, now);
  const fanOut =
    result.entity_updates.length +
    result.prune_scope_updates.length +
    result.meter_readings_updates.length +
    result.meter_readings_prune_scope_updates.length;
  const records: MonitoringRecord[] = [];
  const warnings = result.warnings.length;
  const warningList = warnings > 0 ? { warning_list: result.warnings } : {};
  const warned =
    warnings > 0
      ? `; ${warnings} warning${warnings === 1 ? '' : 's'}: ${result.warnings.map((w) => w.message).join('; ')}`
      : '';
  if (fanOut > 0 || result.failures.length === 0) {
    records.push(
      monitoringRecord({
        ...base,
        stage: 'mapped',
        level: fanOut > 0 && warnings === 0 ? 'success' : 'warning',
        code: fanOut === 0 ? 'NOTHING_MAPPED' : warnings > 0 ? 'MAPPING_WARNINGS' : '',
        message:
          (fanOut > 0
            ? `mapped to ${fanOut} update${fanOut === 1 ? '' : 's'}`
            : 'the mapping produced no updates for this event') + warned,
        final: fanOut === 0,
        detail: {
          fan_out: fanOut,
          entity_updates: result.entity_updates.length,
          prune_scopes: result.prune_scope_updates.length,
          meter_readings: result.meter_readings_updates.length,
          meter_reading_prune_scopes: result.meter_readings_prune_scope_updates.length,
          failures: result.failures.length,
          warnings,
          ...warningList,
          routed_by: event.routed_by,
        },
      }),
    );
  }
  for (const [i, f] of result.failures.entries()) {
    records.push(
      monitoringRecord({
        ...base,
        stage: 'mapping_failed',
        subject: `${f.section}:${f.entity_index}:${f.element_index ?? ''}`,
        level: 'error',
        code: f.code,
        message: `${f.entity_schema} (${failurePath(f)}${f.element_index === undefined ? '' : `, element ${f.element_index}`}): ${f.message}`,
        category: monitoringCategory('mapping'),
        final: true,
        sync_type: f.section === 'meter_readings' ? 'meter_reading' : 'entity',
        detail: {
          entity_schema: f.entity_schema,
          path: failurePath(f),
          section: f.section,
          entity_index: f.entity_index,
          ...(f.element_index !== undefined ? { element_index: f.element_index } : {}),
          ...(f.attribute ? { attribute: f.attribute } : {}),
          dead_lettered: true,
          ...(i === 0 && records.length === 0 ? warningList : {}),
        },
      }),
    );
  }
  return records;
}
