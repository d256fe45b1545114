import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { KafkaClient } from '@hub/kafka';
import { createLogger } from '@hub/observability';
import { MongoFaultInjector } from './mongo-injector.js';
import { devEnv } from './stack.js';

export type ServiceName = 'config-service' | 'ingest-gateway' | 'mapper' | 'entity-writer' | 'edge';

export interface StackPorts {
  /** The edge; the services follow (+1 gateway, +2 config, +3 mapper, +4 writer, +5/+6 second mapper/writer). */
  base: number;
  kafka: number;
  controller: number;
  mongo: number;
}

export interface ManagedStackOptions {
  /** Its directory under `.local/`: data, infrastructure run files, every log (`.local/<name>/logs`). */
  name: string;
  /** Keep them below Linux's ephemeral range (32768-60999), where an outgoing connection may hold one. */
  ports: StackPorts;
  /** Set for every service over deploy/local/dev.env, e.g. `{ RATE_LIMIT_PER_MINUTE: '1000000' }`. */
  env?: Record<string, string>;
  /**
   * A port for a MongoFaultInjector in front of FerretDB (in this process): the services then reach the
   * database through it, as a replica set primary whose failures the caller injects (`stack.injector`).
   */
  mongoInjectorPort?: number;
  /** Set for one service's instances over `env`, e.g. the gateway's `KAFKA_BROKERS` through a proxy. */
  serviceEnv?: Partial<Record<ServiceName, Record<string, string>>>;
  /**
   * 3: a three-broker KRaft cluster (`HUB_KAFKA_NODES=3` of deploy/local/stack.mjs: node n on
   * `ports.kafka` + 10(n-1)) with the topics at replication factor 3 and min.insync.replicas 2. Default 1.
   */
  kafkaNodes?: 1 | 3;
}

const OFFSET: Record<ServiceName, number> = {
  edge: 0,
  'ingest-gateway': 1,
  'config-service': 2,
  mapper: 3,
  'entity-writer': 4,
};

/** Start order (the edge last); `close()` stops them the other way round, intake first. */
const START_ORDER: ServiceName[] = ['config-service', 'ingest-gateway', 'mapper', 'entity-writer', 'edge'];
const STOP_ORDER: ServiceName[] = ['edge', 'ingest-gateway', 'mapper', 'entity-writer', 'config-service'];

type StackModule = typeof import('../../../deploy/local/stack.mjs');

interface Instance {
  name: ServiceName;
  index: number;
  port: number;
  child: ChildProcess;
  /** Set when we stop or kill it on purpose; otherwise an exit is a crash and the supervisor restarts it. */
  planned: boolean;
}

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** deploy/local/stack.mjs reads its ports and directories once, when first imported. */
let infraOwner: string | undefined;

/**
 * A complete local stack of its own (Kafka, FerretDB, every service) on its own ports and a fresh data
 * directory under `.local/<name>`, with the binaries from the shared cache (`HUB_CACHE_DIR`, else
 * `.local/cache`). It can SIGKILL, SIGTERM and start service instances, add or remove mapper and writer
 * instances, and restart the broker or the database. Like an orchestrator, it restarts an instance that
 * exits on its own (a consume loop that dies exits the process) and counts those restarts.
 * One per process: the infrastructure module is configured when first imported.
 */
export class ManagedStack {
  private infra!: StackModule;
  private readonly instances = new Map<string, Instance>();
  private readonly env: Record<string, string>;
  private readonly local: string;
  readonly logDir: string;
  readonly ports: StackPorts;
  readonly unplannedExits: string[] = [];
  /** Every SIGTERM stop: the exit code (0 = ordered shutdown completed) and how long it took. */
  readonly gracefulStops: Array<{ instance: string; code: number | null; ms: number }> = [];
  private closing = false;
  private faults: MongoFaultInjector | undefined;

  constructor(private readonly options: ManagedStackOptions) {
    const { ports } = options;
    this.ports = ports;
    this.local = path.join(repoRoot, '.local', options.name);
    this.logDir = path.join(this.local, 'logs');
    const url = (name: ServiceName) => `http://127.0.0.1:${ports.base + OFFSET[name]}`;
    this.env = {
      ...devEnv(),
      KAFKA_BROKERS: `127.0.0.1:${ports.kafka}`,
      MONGO_URL: options.mongoInjectorPort
        ? `mongodb://127.0.0.1:${options.mongoInjectorPort}/erp_hub`
        : `mongodb://127.0.0.1:${ports.mongo}/erp_hub`,
      INGEST_GATEWAY_URL: url('ingest-gateway'),
      CONFIG_SERVICE_URL: url('config-service'),
      MAPPER_URL: url('mapper'),
      ENTITY_WRITER_URL: url('entity-writer'),
      PUBLIC_BASE_URL: url('edge'),
      ...options.env,
    };
  }

  get baseUrl(): string {
    return `http://127.0.0.1:${this.ports.base}`;
  }

  get brokers(): string[] {
    return this.env.KAFKA_BROKERS!.split(',');
  }

  /** The database itself (FerretDB), also when the services reach it through the injector. */
  get mongoUrl(): string {
    return `mongodb://127.0.0.1:${this.ports.mongo}/erp_hub`;
  }

  /** What the services use: the injector's URL when there is one. */
  get serviceMongoUrl(): string {
    return this.env.MONGO_URL!;
  }

  /** The fault injector between the services and the database (`mongoInjectorPort`). */
  get injector(): MongoFaultInjector {
    if (!this.faults) throw new Error(`the managed stack "${this.options.name}" has no mongoInjectorPort`);
    return this.faults;
  }

  get authSecret(): string {
    return this.env.AUTH_JWT_SECRET!;
  }

  get authIssuer(): string {
    return this.env.AUTH_JWT_ISSUER!;
  }

  get authAudience(): string {
    return this.env.AUTH_JWT_AUDIENCE!;
  }

  /** Starts Kafka and FerretDB (fresh data, the shared binary cache) and every service. */
  async start(): Promise<void> {
    if (infraOwner && infraOwner !== this.options.name) {
      throw new Error(`this process already runs the managed stack "${infraOwner}"; one per process`);
    }
    infraOwner = this.options.name;
    Object.assign(process.env, {
      HUB_LOCAL_DIR: this.local,
      HUB_CACHE_DIR: process.env.HUB_CACHE_DIR ?? path.join(repoRoot, '.local', 'cache'),
      KAFKA_PORT: String(this.ports.kafka),
      KAFKA_CONTROLLER_PORT: String(this.ports.controller),
      MONGO_PORT: String(this.ports.mongo),
      HUB_KAFKA_NODES: String(this.options.kafkaNodes ?? 1),
    });
    this.infra = (await import('../../../deploy/local/stack.mjs')) as StackModule;
    // Every broker, and on the cluster the topic plan's replication (the services create their topics).
    Object.assign(this.env, {
      KAFKA_BROKERS: this.infra.kafkaBrokers(),
      ...this.infra.kafkaTopicEnv(),
      ...this.options.env,
    });
    if ((await this.infra.kafkaAnswers()) || (await this.infra.mongoAnswers())) {
      throw new Error(
        `ports ${this.ports.kafka}/${this.ports.mongo} are taken: is another ${this.options.name} run active? (${path.join(this.local, 'run')})`,
      );
    }
    this.infra.useFreshData('data');
    await this.infra.up();
    if (this.options.mongoInjectorPort) {
      this.faults = await MongoFaultInjector.start({
        upstream: `127.0.0.1:${this.ports.mongo}`,
        port: this.options.mongoInjectorPort,
      });
    }
    for (const name of START_ORDER) await this.startInstance(name, 0);
  }

  portOf(name: ServiceName, index: number): number {
    if (index === 0) return this.ports.base + OFFSET[name];
    if (name === 'mapper') return this.ports.base + 4 + index * 2 - 1; // 5, 7, ...
    if (name === 'entity-writer') return this.ports.base + 4 + index * 2; // 6, 8, ...
    throw new Error(`only the mapper and the writer run more than one instance here, not ${name}`);
  }

  running(name: ServiceName): number[] {
    return [...this.instances.values()].filter((i) => i.name === name).map((i) => i.index);
  }

  /** Starts one instance and waits until its `/readyz` answers. */
  async startInstance(name: ServiceName, index: number, timeoutMs = 90_000): Promise<void> {
    const port = this.portOf(name, index);
    mkdirSync(this.logDir, { recursive: true });
    // The instance writes its log file itself: through a pipe, it would wait whenever this process is
    // busy (a synchronous step of the fuzzer or the chaos test), since its log lines are written as logged.
    const log = openSync(path.join(this.logDir, `${name}-${index}.log`), 'a');
    const child = spawn(process.execPath, [path.join(repoRoot, 'services', name, 'dist/main.js')], {
      cwd: repoRoot,
      env: { ...process.env, ...this.env, ...this.options.serviceEnv?.[name], PORT: String(port) },
      stdio: ['ignore', log, log],
    });
    closeSync(log);
    const instance: Instance = { name, index, port, child, planned: false };
    const id = `${name}#${index}`;
    this.instances.set(id, instance);
    child.once('exit', (code, signal) => {
      if (this.instances.get(id) === instance) this.instances.delete(id);
      if (instance.planned || this.closing) return;
      this.unplannedExits.push(`${id} exited (${signal ?? code}) at ${new Date().toISOString()}`);
      // What an orchestrator does: start it again.
      setTimeout(() => {
        if (!this.closing && !this.instances.has(id)) void this.startInstance(name, index).catch(() => {});
      }, 1_000);
    });
    const deadline = Date.now() + timeoutMs;
    while (!(await ready(port))) {
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new Error(`${id} exited during start-up; see ${this.logDir}`);
      }
      if (Date.now() > deadline)
        throw new Error(`${id} not ready within ${timeoutMs} ms; see ${this.logDir}`);
      await sleep(200);
    }
  }

  /** The process ids of the infrastructure and of every running service instance, by name (`mapper#0`). */
  processes(): Record<string, number> {
    const out: Record<string, number> = {};
    const kafka = this.infra?.kafkaNodes().map((n) => n.name) ?? [];
    for (const name of [...kafka, 'ferretdb']) {
      const pid = this.infra?.readPid(name);
      if (pid) out[name] = pid;
    }
    for (const i of this.instances.values()) if (i.child.pid) out[`${i.name}#${i.index}`] = i.child.pid;
    return out;
  }

  /** SIGKILL: no shutdown hook runs, in-flight work and uncommitted offsets are abandoned. */
  async kill(name: ServiceName, index = 0): Promise<void> {
    const instance = this.instances.get(`${name}#${index}`);
    if (!instance) throw new Error(`${name}#${index} is not running`);
    instance.planned = true;
    const exited = new Promise((r) => instance.child.once('exit', r));
    instance.child.kill('SIGKILL');
    await exited;
  }

  /** SIGTERM: the service's ordered shutdown (stop intake, drain, commit, close). */
  async stop(name: ServiceName, index = 0, graceMs = 30_000): Promise<void> {
    const instance = this.instances.get(`${name}#${index}`);
    if (!instance) return;
    instance.planned = true;
    const started = Date.now();
    const exited = new Promise<number | null>((r) => instance.child.once('exit', (code) => r(code)));
    instance.child.kill('SIGTERM');
    const timer = setTimeout(() => instance.child.kill('SIGKILL'), graceMs);
    const code = await exited;
    clearTimeout(timer);
    if (!this.closing)
      this.gracefulStops.push({ instance: `${name}#${index}`, code, ms: Date.now() - started });
  }

  /** The sum of a counter's series in one instance's `/metrics` (what that instance did). */
  async counter(name: ServiceName, index: number, metric: string): Promise<number> {
    const text = await (await fetch(`http://127.0.0.1:${this.portOf(name, index)}/metrics`)).text();
    return sumSeries(text, metric);
  }

  /** Stops every broker (SIGTERM) and starts them again: on one broker, an outage. */
  async restartBroker(): Promise<void> {
    await this.infra.stopKafka();
    await this.infra.startKafka();
  }

  /** The ids of the brokers (1, or 1 to 3 on the cluster). */
  brokerIds(): number[] {
    return this.infra.kafkaNodes().map((n) => n.id);
  }

  /** One broker of the cluster: SIGKILL (`kill`, a crash) or SIGTERM (a controlled shutdown). */
  async stopBroker(id: number, { kill = false } = {}): Promise<void> {
    await this.infra.stopKafkaNode(id, { kill });
  }

  /** Starts one broker again and waits until it serves requests. */
  async startBroker(id: number): Promise<void> {
    await this.infra.startKafkaNode(id);
  }

  /**
   * Waits until every partition of `topics` has each of its replicas in sync again (a restarted broker has
   * caught up), as an operator does between two brokers of a rolling restart. Resolves with how long it took.
   */
  async waitInSync(topics: string[], timeoutMs = 180_000): Promise<number> {
    const started = Date.now();
    const client = new KafkaClient({
      clientId: `${this.options.name}-isr`,
      brokers: this.brokers,
      logger: createLogger({ service: this.options.name, level: 'silent' }),
    });
    const admin = await client.admin();
    try {
      for (;;) {
        const { topics: described } = await admin.fetchTopicMetadata({ topics }).catch(() => ({
          topics: undefined,
        }));
        const lagging = described?.flatMap((t) =>
          t.partitions
            .filter((p) => p.isr.length < p.replicas.length)
            .map((p) => `${t.name}[${p.partitionId}]`),
        );
        if (lagging && lagging.length === 0) return Date.now() - started;
        if (Date.now() - started > timeoutMs) {
          throw new Error(
            `replicas not in sync after ${timeoutMs} ms: ${lagging?.join(', ') ?? 'metadata unavailable'}`,
          );
        }
        await sleep(500);
      }
    } finally {
      await admin.disconnect();
    }
  }

  /** Moves the leader of every partition of `topics` to another in-sync replica; the tool's summary line. */
  moveLeaders(topics: string[]): Promise<string> {
    return this.infra.moveLeaders(topics);
  }

  async restartDatabase(): Promise<void> {
    await this.infra.stopProcess('ferretdb');
    await this.infra.startFerretdb();
  }

  private closed: Promise<void> | undefined;

  /** Stops every instance (SIGTERM, in intake-first order) and the infrastructure. Safe to call twice. */
  close(): Promise<void> {
    this.closed ??= this.shutdown();
    return this.closed;
  }

  private async shutdown(): Promise<void> {
    this.closing = true;
    for (const name of STOP_ORDER) {
      for (const index of this.running(name)) await this.stop(name, index, 15_000);
    }
    await this.faults?.close();
    await this.infra?.down();
  }
}

/** The sum of every series of `metric` in a Prometheus text exposition. */
export function sumSeries(text: string, metric: string): number {
  return text
    .split('\n')
    .filter((line) => line.startsWith(`${metric}{`) || line.startsWith(`${metric} `))
    .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);
}

async function ready(port: number): Promise<boolean> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(2_000) });
    return res.ok;
  } catch {
    return false;
  }
}
