// Runs the services of the local stack as child processes of the calling script.
import { createWriteStream, mkdirSync } from 'node:fs';
import path from 'node:path';
import {
  dirs,
  kafkaBrokers,
  kafkaTopicEnv,
  REPO,
  secureEndpoints,
  sleep,
} from '../../deploy/local/stack.mjs';
import { supervise } from './supervise.mjs';

/**
 * Ports: the edge on HUB_PORT_BASE (8080), then gateway +1, config-service +2, mapper +3, writer +4.
 * A second stack on the same machine (another worktree) sets HUB_PORT_BASE, KAFKA_PORT,
 * KAFKA_CONTROLLER_PORT, MONGO_PORT and HUB_LOCAL_DIR.
 */
export const PORT_BASE = Number(process.env.HUB_PORT_BASE ?? 8080);

/** Start order: the edge last; stop order: the reverse (intake first). */
export const SERVICES = [
  { name: 'config-service', port: PORT_BASE + 2 },
  { name: 'ingest-gateway', port: PORT_BASE + 1 },
  { name: 'mapper', port: PORT_BASE + 3 },
  { name: 'entity-writer', port: PORT_BASE + 4 },
  { name: 'edge', port: PORT_BASE },
];

/** The stack's configuration with this machine's ports applied over deploy/local/dev.env. */
export function stackEnv(base) {
  const secure = secureEndpoints();
  const url = (name) => `http://127.0.0.1:${SERVICES.find((s) => s.name === name).port}`;
  return {
    ...base,
    // Every broker of the local stack (three with HUB_KAFKA_NODES=3, whose topics the services then create
    // with replication factor 3 and min.insync.replicas 2).
    KAFKA_BROKERS: kafkaBrokers(),
    ...kafkaTopicEnv(),
    MONGO_URL: `mongodb://127.0.0.1:${process.env.MONGO_PORT ?? 27017}/erp_hub`,
    INGEST_GATEWAY_URL: url('ingest-gateway'),
    CONFIG_SERVICE_URL: url('config-service'),
    MAPPER_URL: url('mapper'),
    ENTITY_WRITER_URL: url('entity-writer'),
    HUB_BASE_URL: url('edge'),
    PUBLIC_BASE_URL: url('edge'),
    // The broker's SASL_SSL and the database's TLS listeners (deploy/local/stack.mjs), for the tests of
    // the secure connection settings; the services themselves use the plain ones above.
    LOCAL_KAFKA_SECURE_BROKERS: secure.kafkaBrokers,
    LOCAL_KAFKA_SASL_USERNAME: secure.username,
    LOCAL_KAFKA_SASL_PASSWORD: secure.password,
    LOCAL_MONGO_TLS_URL: secure.mongoUrl,
    LOCAL_TLS_CA_FILE: secure.caFile,
  };
}

const log = (msg) => process.stderr.write(`[services] ${msg}\n`);

export async function isReady(port) {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(2_000) });
    return res.ok;
  } catch {
    return false;
  }
}

/**
 * Starts every service with the local stack's configuration, each supervised like an orchestrator would
 * (scripts/lib/supervise.mjs: an unexpected exit is a visible line and a restart after a backoff). Each
 * service's JSON log goes to .local/logs/<service>.log; lines at warn level and above are echoed (`echo`
 * decides where).
 */
export function startServices(env, { echo } = {}) {
  mkdirSync(dirs.logs, { recursive: true });
  const supervised = new Map();
  for (const service of SERVICES) {
    const file = createWriteStream(path.join(dirs.logs, `${service.name}.log`), { flags: 'a' });
    // HUB_NODE_ARGS: extra arguments for every service's node, e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`
    // (profiles written when the services stop).
    const nodeArgs = (process.env.HUB_NODE_ARGS ?? '').split(' ').filter(Boolean);
    const attach = (child) => {
      for (const stream of [child.stdout, child.stderr]) {
        stream.pipe(file, { end: false });
        if (echo) {
          let buffered = '';
          stream.on('data', (chunk) => {
            buffered += chunk;
            const lines = buffered.split('\n');
            buffered = lines.pop() ?? '';
            for (const line of lines) echo(service.name, line);
          });
        }
      }
    };
    supervised.set(
      service.name,
      supervise({
        name: service.name,
        command: process.execPath,
        args: [...nodeArgs, path.join(REPO, 'services', service.name, 'dist/main.js')],
        options: {
          cwd: REPO,
          env: { ...process.env, ...env, PORT: String(service.port) },
          stdio: ['ignore', 'pipe', 'pipe'],
        },
        attach,
        log: (line) => log(`${line}; see ${path.join(dirs.logs, `${service.name}.log`)}`),
      }),
    );
  }
  return {
    supervised,
    async waitReady(timeoutMs = 120_000) {
      const deadline = Date.now() + timeoutMs;
      for (const service of SERVICES) {
        const s = supervised.get(service.name);
        while (!(await isReady(service.port))) {
          if (s.state.failedAtStartUp)
            throw new Error(`${service.name} exited during start-up; see ${dirs.logs}`);
          if (Date.now() > deadline)
            throw new Error(`${service.name} not ready within ${timeoutMs} ms; see ${dirs.logs}`);
          await sleep(200);
        }
        s.markReady();
      }
    },
    /** SIGTERM in reverse start order, each given up to graceMs, then SIGKILL. */
    async stop(graceMs = 20_000) {
      for (const service of [...SERVICES].reverse()) await supervised.get(service.name).stop(graceMs);
    },
  };
}
