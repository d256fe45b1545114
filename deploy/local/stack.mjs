#!/usr/bin/env node
// The local infrastructure without Docker: Apache Kafka (KRaft: one node, or a three-broker cluster with
// HUB_KAFKA_NODES=3) from Maven Central and
// FerretDB (SQLite backend) built from the Go module proxy. Both are fetched/built on first use and
// cached under .local/ (git-ignored); later runs start in seconds.
//
//   node deploy/local/stack.mjs up       fetch/build if needed, start both, wait until they answer
//   node deploy/local/stack.mjs up kafka only Kafka (a cluster test)
//   node deploy/local/stack.mjs down     stop both (SIGTERM, then SIGKILL after a grace period); `down kafka`
//   node deploy/local/stack.mjs status   print what runs and whether it answers
//   node deploy/local/stack.mjs fetch    only fetch/build
//   node deploy/local/stack.mjs reset    down, then delete the data directories
//
// Plain Node with no dependencies, so it works before `npm install`. Environment overrides:
// HUB_LOCAL_DIR (cache and data), HUB_CACHE_DIR (the cache alone), KAFKA_PORT (9092), KAFKA_CONTROLLER_PORT (9093), MONGO_PORT (27017),
// FERRETDB_PPROF (an address for Go's profiler, e.g. 127.0.0.1:6060), HUB_KAFKA_NODES (1 or 3, below),
// KAFKA_JVM_OPTS (each broker's JVM options).
//
// HUB_KAFKA_NODES=3: three KRaft nodes, each broker and controller (a combined quorum of three voters: one
// can be lost), as production runs Kafka: replication factor 3 and min.insync.replicas 2 for every topic,
// the internal ones included. Node n (1, 2, 3) listens on KAFKA_PORT + 10(n-1), its controller on
// KAFKA_CONTROLLER_PORT + 10(n-1) and its SASL_SSL listener on KAFKA_PORT + 2 + 10(n-1) (9092, 9102, 9112 by
// default), and gets a smaller heap (-Xmx384m) than the single node. `kafkaBrokers()` is the broker list.
//
// Both also listen the way managed services are reached, to try and test the secure settings: Kafka with
// SASL_SSL (PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512) on KAFKA_PORT + 2 (9094) and FerretDB with TLS on
// MONGO_PORT + 1 (27018), with a CA and certificates the stack makes once under .local/tls (openssl).

import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  cpSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
export const REPO = path.resolve(here, '../..');
export const LOCAL = path.resolve(process.env.HUB_LOCAL_DIR ?? path.join(REPO, '.local'));
const KAFKA_PORT = Number(process.env.KAFKA_PORT ?? 9092);
const CONTROLLER_PORT = Number(process.env.KAFKA_CONTROLLER_PORT ?? 9093);
const MONGO_PORT = Number(process.env.MONGO_PORT ?? 27017);
const KAFKA_SECURE_PORT = KAFKA_PORT + 2;
const MONGO_TLS_PORT = MONGO_PORT + 1;
/** The secure listener's one user (development only, like deploy/local/dev.env's secret). */
const SASL_USER = { name: 'hub', password: 'local-development-kafka-password' };
const CLUSTER_ID = '4L6g3nShT-eMCtK--X86sw';

/** Ports of node n are node 1's plus this times (n - 1). */
const NODE_PORT_STEP = 10;

/** HUB_KAFKA_NODES: 1 (the default: one broker, light for `npm start`) or 3 (a cluster as in production). */
export const KAFKA_NODES = kafkaNodeCount(process.env.HUB_KAFKA_NODES);

function kafkaNodeCount(value) {
  if (value === undefined || value.trim() === '') return 1;
  if (value.trim() === '1' || value.trim() === '3') return Number(value);
  throw new Error(
    `HUB_KAFKA_NODES=${value}: must be 1 (one broker, the default) or 3 (a three-broker KRaft cluster)`,
  );
}

/** The Kafka nodes of this stack: id, process name (its pid and log file), ports. */
export function kafkaNodes() {
  return Array.from({ length: KAFKA_NODES }, (_, i) => ({
    id: i + 1,
    name: KAFKA_NODES === 1 ? 'kafka' : `kafka-${i + 1}`,
    port: KAFKA_PORT + i * NODE_PORT_STEP,
    controllerPort: CONTROLLER_PORT + i * NODE_PORT_STEP,
    securePort: KAFKA_SECURE_PORT + i * NODE_PORT_STEP,
  }));
}

function kafkaNode(id) {
  const node = kafkaNodes().find((n) => n.id === id);
  if (!node)
    throw new Error(`there is no Kafka node ${id}: this stack runs ${KAFKA_NODES} (HUB_KAFKA_NODES)`);
  return node;
}

/** The services' KAFKA_BROKERS for this stack: every broker (a client needs only one to bootstrap). */
export function kafkaBrokers() {
  return kafkaNodes()
    .map((n) => `127.0.0.1:${n.port}`)
    .join(',');
}

/**
 * The topic plan's settings on this stack (libs/kafka topicPlan): on the cluster, replication factor 3 and
 * min.insync.replicas 2, so a write acknowledged with acks=all is on two brokers and one broker may be lost;
 * on one broker, the broker's defaults (1 and 1).
 */
export function kafkaTopicEnv() {
  return KAFKA_NODES === 3 ? { KAFKA_REPLICATION_FACTOR: '3', KAFKA_MIN_INSYNC_REPLICAS: '2' } : {};
}

const dirs = {
  // A second stack (the chaos test) shares the fetched binaries through HUB_CACHE_DIR.
  cache: path.resolve(process.env.HUB_CACHE_DIR ?? path.join(LOCAL, 'cache')),
  data: path.join(LOCAL, 'data'),
  run: path.join(LOCAL, 'run'),
  logs: path.join(LOCAL, 'logs'),
};

const log = (msg) => process.stderr.write(`[stack] ${msg}\n`);

function hashFiles(files) {
  const h = createHash('sha256');
  for (const f of files) h.update(readFileSync(f));
  return h.digest('hex').slice(0, 12);
}

function run(cmd, args, options = {}) {
  execFileSync(cmd, args, { stdio: ['ignore', 'inherit', 'inherit'], ...options });
}

function requireTool(cmd, hint) {
  try {
    execFileSync('which', [cmd], { stdio: 'ignore' });
  } catch {
    throw new Error(`${cmd} is not installed: ${hint}`);
  }
}

// ---------- fetch / build ----------

export function kafkaLib() {
  const pom = path.join(here, 'kafka/pom.xml');
  const lib = path.join(dirs.cache, `kafka-${hashFiles([pom])}`, 'lib');
  if (existsSync(path.join(lib, '.complete'))) return lib;
  requireTool('mvn', 'install Maven (apt-get install maven) and a JDK 17+');
  log('fetching Apache Kafka from Maven Central (first run only)...');
  const tmp = `${lib}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  run('mvn', [
    '-B',
    '-q',
    '-f',
    pom,
    'dependency:copy-dependencies',
    '-DincludeScope=runtime',
    `-DoutputDirectory=${tmp}`,
  ]);
  writeFileSync(path.join(tmp, '.complete'), new Date().toISOString());
  rmSync(lib, { recursive: true, force: true });
  mkdirSync(path.dirname(lib), { recursive: true });
  renameSync(tmp, lib);
  return lib;
}

/**
 * FerretDB built from the Go module proxy, with our patch applied to a copy of the module first
 * (ferretdb/ferretdb.patch; why: docs/adr/0008-database-on-ferretdb.md). The binary is cached under a
 * hash of the sources and the patch, so a changed patch builds a new one.
 */
export function ferretdbBinary() {
  const src = path.join(here, 'ferretdb');
  const patch = path.join(src, 'ferretdb.patch');
  const bin = path.join(
    dirs.cache,
    `ferretdb-${hashFiles(['go.mod', 'go.sum', 'main.go', 'ferretdb.patch'].map((f) => path.join(src, f)))}`,
  );
  if (existsSync(bin)) return bin;
  requireTool('go', 'install Go 1.24+');
  requireTool('git', 'install git');
  log('building FerretDB from the Go module proxy, patched (first run only, a few minutes)...');
  mkdirSync(dirs.cache, { recursive: true });
  const env = { ...process.env, GOTOOLCHAIN: 'local', CGO_ENABLED: '0', GOFLAGS: '-mod=mod' };
  const work = `${bin}.build-${process.pid}`;
  rmSync(work, { recursive: true, force: true });
  try {
    // The module exactly as go.mod requires it, copied out of the read-only module cache and patched.
    const version = /github\.com\/FerretDB\/FerretDB (v\S+)/.exec(
      readFileSync(path.join(src, 'go.mod'), 'utf8'),
    )?.[1];
    if (!version)
      throw new Error('deploy/local/ferretdb/go.mod does not require github.com/FerretDB/FerretDB');
    const module = JSON.parse(
      execFileSync('go', ['mod', 'download', '-json', `github.com/FerretDB/FerretDB@${version}`], {
        cwd: src,
        env,
        encoding: 'utf8',
      }),
    );
    const patched = path.join(work, 'FerretDB');
    cpSync(module.Dir, patched, { recursive: true });
    run('chmod', ['-R', 'u+w', patched]);
    // git apply works as patch does outside a repository, but inside one (the default cache is under this
    // repository's .local) it silently skips a git-style diff's files: the ceiling keeps git from finding it.
    run('git', ['apply', '-p1', patch], {
      cwd: patched,
      env: { ...process.env, GIT_CEILING_DIRECTORIES: work },
    });
    const added = [...readFileSync(patch, 'utf8').matchAll(/^\+\+\+ b\/(\S+)\n@@ -0,0 /gm)].map((m) => m[1]);
    const missing = added.filter((f) => !existsSync(path.join(patched, f)));
    if (missing.length > 0) throw new Error(`ferretdb.patch was not applied: ${missing.join(', ')} missing`);
    const main = path.join(work, 'main');
    mkdirSync(main);
    for (const f of ['go.mod', 'go.sum', 'main.go']) cpSync(path.join(src, f), path.join(main, f));
    run('go', ['mod', 'edit', `-replace=github.com/FerretDB/FerretDB=${patched}`], { cwd: main, env });
    const tmp = `${bin}.tmp-${process.pid}`;
    run('go', ['build', '-trimpath', '-o', tmp, '.'], { cwd: main, env });
    renameSync(tmp, bin);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return bin;
}

// ---------- certificates ----------

/**
 * A CA and a certificate for 127.0.0.1 and localhost signed by it, made once with openssl under
 * .local/tls: `ca` is what clients trust, `bundle` the key and certificate in one PEM (Kafka's keystore).
 */
export function localCertificates() {
  const dir = path.join(LOCAL, 'tls');
  const files = {
    ca: path.join(dir, 'ca.pem'),
    cert: path.join(dir, 'server.pem'),
    key: path.join(dir, 'server.key'),
    bundle: path.join(dir, 'server-bundle.pem'),
  };
  if (existsSync(files.bundle)) return files;
  requireTool('openssl', 'install openssl');
  const work = `${dir}.tmp-${process.pid}`;
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  const ssl = (...args) => execFileSync('openssl', args, { cwd: work, stdio: 'ignore' });
  ssl(
    ...[
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      'ca.key',
      '-out',
      'ca.pem',
      '-days',
      '3650',
    ],
    ...['-subj', '/CN=erp-integration-hub local CA', '-addext', 'basicConstraints=critical,CA:TRUE'],
    ...['-addext', 'keyUsage=critical,keyCertSign,cRLSign'],
  );
  ssl(
    'req',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    'server.key',
    '-out',
    'server.csr',
    '-subj',
    '/CN=localhost',
  );
  writeFileSync(
    path.join(work, 'server.ext'),
    'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\nkeyUsage=digitalSignature,keyEncipherment\n',
  );
  ssl(
    ...['x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial'],
    ...['-out', 'server.pem', '-days', '825', '-extfile', 'server.ext'],
  );
  const read = (f) => readFileSync(path.join(work, f), 'utf8');
  writeFileSync(path.join(work, 'server-bundle.pem'), read('server.key') + read('server.pem'));
  for (const f of ['server.csr', 'server.ext', 'ca.srl']) rmSync(path.join(work, f));
  rmSync(dir, { recursive: true, force: true });
  renameSync(work, dir);
  log(`made a local CA and a certificate for 127.0.0.1 under ${dir}`);
  return files;
}

/** How to reach the secure listeners (tests of the TLS and SASL settings; trying them by hand). */
export function secureEndpoints() {
  return {
    kafkaBrokers: kafkaNodes()
      .map((n) => `127.0.0.1:${n.securePort}`)
      .join(','),
    mongoUrl: `mongodb://127.0.0.1:${MONGO_TLS_PORT}/erp_hub?tls=true`,
    caFile: path.join(LOCAL, 'tls', 'ca.pem'),
    username: SASL_USER.name,
    password: SASL_USER.password,
  };
}

// ---------- processes ----------

const pidFile = (name) => path.join(dirs.run, `${name}.pid`);

function readPid(name) {
  try {
    const pid = Number(readFileSync(pidFile(name), 'utf8'));
    process.kill(pid, 0);
    return pid;
  } catch {
    return undefined;
  }
}

function startDetached(name, cmd, args, options = {}) {
  mkdirSync(dirs.run, { recursive: true });
  mkdirSync(dirs.logs, { recursive: true });
  const out = openSync(path.join(dirs.logs, `${name}.log`), 'a');
  const child = spawn(cmd, args, { detached: true, stdio: ['ignore', out, out], ...options });
  child.unref();
  writeFileSync(pidFile(name), String(child.pid));
  return child.pid;
}

/** SIGTERM (then SIGKILL after graceMs); `{ kill: true }`: SIGKILL at once, as a crash does. */
async function stopProcess(name, graceMs = 20_000, { kill = false } = {}) {
  const pid = readPid(name);
  if (!pid) {
    rmSync(pidFile(name), { force: true });
    return false;
  }
  const signal = (sig) => {
    try {
      process.kill(-pid, sig); // the whole process group
    } catch {
      try {
        process.kill(pid, sig);
      } catch {}
    }
  };
  signal(kill ? 'SIGKILL' : 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (!alive(pid)) break;
    await sleep(100);
  }
  if (alive(pid)) {
    log(`${name} did not stop within ${graceMs} ms; killing it`);
    signal('SIGKILL');
    while (alive(pid)) await sleep(50);
  }
  rmSync(pidFile(name), { force: true });
  return true;
}

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---------- readiness probes (real protocol requests) ----------

function request(port, payload, isComplete, timeoutMs = 2_000) {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    const chunks = [];
    const done = (result) => {
      socket.destroy();
      resolve(result);
    };
    socket.setTimeout(timeoutMs, () => done(undefined));
    socket.on('error', () => done(undefined));
    socket.on('connect', () => socket.write(payload));
    socket.on('data', (d) => {
      chunks.push(d);
      const buf = Buffer.concat(chunks);
      if (isComplete(buf)) done(buf);
    });
  });
}

const framed = (buf) => buf.length >= 4 && buf.length >= 4 + buf.readInt32BE(0);

/** Kafka ApiVersions v0: the broker answers with error code 0 once it serves requests. */
export async function kafkaAnswers(port = KAFKA_PORT) {
  const clientId = Buffer.from('hub-stack');
  const body = Buffer.alloc(2 + 2 + 4 + 2 + clientId.length);
  body.writeInt16BE(18, 0); // ApiVersions
  body.writeInt16BE(0, 2);
  body.writeInt32BE(7, 4); // correlation id
  body.writeInt16BE(clientId.length, 8);
  clientId.copy(body, 10);
  const size = Buffer.alloc(4);
  size.writeInt32BE(body.length);
  const res = await request(port, Buffer.concat([size, body]), framed);
  return Boolean(res && res.readInt32BE(4) === 7 && res.readInt16BE(8) === 0);
}

/** MongoDB wire protocol: OP_MSG { ping: 1, $db: "admin" } answered with ok: 1. */
export async function mongoAnswers(port = MONGO_PORT) {
  const db = Buffer.from('admin\0');
  const doc = Buffer.concat([
    Buffer.from([0, 0, 0, 0]),
    Buffer.from([0x10]),
    Buffer.from('ping\0'),
    Buffer.from([1, 0, 0, 0]),
    Buffer.from([0x02]),
    Buffer.from('$db\0'),
    Buffer.from([db.length, 0, 0, 0]),
    db,
    Buffer.from([0]),
  ]);
  doc.writeInt32LE(doc.length, 0);
  const header = Buffer.alloc(16 + 4 + 1);
  header.writeInt32LE(header.length + doc.length, 0);
  header.writeInt32LE(1, 4);
  header.writeInt32LE(0, 8);
  header.writeInt32LE(2013, 12); // OP_MSG
  header.writeUInt32LE(0, 16);
  header.writeUInt8(0, 20);
  const res = await request(
    port,
    Buffer.concat([header, doc]),
    (b) => b.length >= 4 && b.length >= b.readInt32LE(0),
  );
  if (res?.readInt32LE(12) !== 2013) return false;
  const okAt = res.indexOf(Buffer.from([0x01, 0x6f, 0x6b, 0x00])); // double "ok"
  return okAt > 0 && res.readDoubleLE(okAt + 4) === 1;
}

async function waitFor(name, probe, timeoutMs, pidName) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await probe()) return;
    if (pidName && !readPid(pidName)) {
      throw new Error(`${name} exited during start-up; see ${path.join(dirs.logs, `${pidName}.log`)}`);
    }
    await sleep(250);
  }
  throw new Error(`${name} did not become ready within ${timeoutMs} ms; see ${dirs.logs}`);
}

// ---------- commands ----------

/** The static quorum: every node is a voter (`controller.quorum.voters`). */
function quorumVoters() {
  return kafkaNodes()
    .map((n) => `${n.id}@127.0.0.1:${n.controllerPort}`)
    .join(',');
}

const kafkaDataDir = (node) => path.join(dirs.data, node.name);

function kafkaProperties(node) {
  const cluster = KAFKA_NODES === 3;
  let text = readFileSync(path.join(here, 'kafka/server.properties.template'), 'utf8')
    .replaceAll('{{NODE_ID}}', String(node.id))
    .replaceAll('{{VOTERS}}', quorumVoters())
    .replaceAll('{{DATA_DIR}}', kafkaDataDir(node))
    .replaceAll('{{PORT}}', String(node.port))
    .replaceAll('{{CONTROLLER_PORT}}', String(node.controllerPort))
    .replaceAll('{{SECURE_PORT}}', String(node.securePort))
    .replaceAll('{{TLS_BUNDLE}}', localCertificates().bundle)
    .replaceAll('{{SASL_USER}}', SASL_USER.name)
    .replaceAll('{{SASL_PASSWORD}}', SASL_USER.password)
    // Every topic, the internal ones too (consumer offsets, transactions, share groups): 3 copies, 2 of
    // them needed for a write with acks=all, on the cluster; 1 and 1 on a single broker.
    .replaceAll('{{REPLICATION_FACTOR}}', cluster ? '3' : '1')
    .replaceAll('{{MIN_INSYNC_REPLICAS}}', cluster ? '2' : '1');
  if (cluster) {
    text += [
      '',
      '# The cluster (HUB_KAFKA_NODES=3). A broker that stops heartbeating to the controller is fenced',
      '# after broker.session.timeout.ms, and only then do its partitions get new leaders: 9 s by default.',
      '# 4 s here (heartbeat every second) so a SIGKILLed broker costs the producers less than their retry',
      '# budget (libs/kafka client.ts); production keeps its own value, covered by the same budget.',
      'broker.session.timeout.ms=4000',
      'broker.heartbeat.interval.ms=1000',
      '# A replica that left (a killed broker) is dropped from the ISR after this; Kafka default 30 s.',
      'replica.lag.time.max.ms=10000',
      '# A restarted broker takes its preferred leaderships back (Kafka default: every 300 s).',
      'leader.imbalance.check.interval.seconds=30',
      '',
    ].join('\n');
  }
  mkdirSync(dirs.run, { recursive: true });
  const file = path.join(dirs.run, `${node.name}.properties`);
  writeFileSync(file, text);
  return file;
}

/**
 * Each broker's JVM: KAFKA_JVM_OPTS, else a small heap: 768 MB for the single node, 384 MB each for the
 * three nodes of the cluster (about 1.2 GB together; this machine's memory is shared).
 */
function kafkaJvmOptions() {
  const heap = KAFKA_NODES === 1 ? '-Xms256m -Xmx768m' : '-Xms128m -Xmx384m';
  return (process.env.KAFKA_JVM_OPTS ?? `${heap} -XX:+UseG1GC -XX:MaxGCPauseMillis=20`)
    .split(' ')
    .filter(Boolean);
}

/** Formats a node's storage if needed and starts it (does not wait). */
function launchKafkaNode(node, lib) {
  const props = kafkaProperties(node);
  const cp = `${lib}/*`;
  // The SCRAM credentials of the secure listener's user are stored in the cluster's metadata, written when
  // the storage is formatted (the tool that adds them later is not among the broker's jars we fetch).
  const scramMarker = path.join(kafkaDataDir(node), '.scram-users');
  const fresh = !existsSync(path.join(kafkaDataDir(node), 'meta.properties'));
  const scram = ['SCRAM-SHA-256', 'SCRAM-SHA-512'];
  // With the static quorum (controller.quorum.voters) every node is formatted alike, without --standalone.
  execFileSync(
    'java',
    [
      ...[
        '-cp',
        cp,
        'kafka.tools.StorageTool',
        'format',
        '--ignore-formatted',
        '-t',
        CLUSTER_ID,
        '-c',
        props,
      ],
      ...scram.flatMap((m) => [
        '--add-scram',
        `${m}=[name=${SASL_USER.name},password=${SASL_USER.password}]`,
      ]),
    ],
    { stdio: 'ignore' },
  );
  if (fresh) writeFileSync(scramMarker, scram.join('\n'));
  startDetached(node.name, 'java', [
    ...kafkaJvmOptions(),
    '-XX:+ExitOnOutOfMemoryError',
    '-Djava.awt.headless=true',
    `-Dlog4j2.configurationFile=${path.join(here, 'kafka/log4j2.properties')}`,
    '-cp',
    cp,
    'kafka.Kafka',
    props,
  ]);
  return scramMarker;
}

/**
 * Starts every Kafka node that does not answer and waits until each one serves requests (a broker of the
 * cluster answers once it has registered with the controller quorum and been unfenced).
 */
export async function startKafka() {
  const nodes = kafkaNodes();
  const answering = await Promise.all(nodes.map((n) => kafkaAnswers(n.port)));
  if (answering.every(Boolean)) return 'already running';
  const lib = kafkaLib();
  requireTool('java', 'install a JDK 17+');
  const markers = nodes.map((node, i) => (answering[i] ? undefined : launchKafkaNode(node, lib)));
  // Three JVMs starting at once on two cores, and a quorum to elect first: more time than one node.
  const timeoutMs = nodes.length === 1 ? 90_000 : 180_000;
  await Promise.all(
    nodes.map((n) => waitFor(`Kafka ${n.name}`, () => kafkaAnswers(n.port), timeoutMs, n.name)),
  );
  if (markers.some((m) => m && !existsSync(m))) {
    log(
      `kafka: ${dirs.data} was formatted before the secure listener existed: SCRAM logins on 127.0.0.1:${KAFKA_SECURE_PORT} fail until \`node deploy/local/stack.mjs reset\` (PLAIN works)`,
    );
  }
  return 'started';
}

/** Starts one node of the cluster again (after `stopKafkaNode`) and waits until it serves requests. */
export async function startKafkaNode(id) {
  const node = kafkaNode(id);
  if (await kafkaAnswers(node.port)) return 'already running';
  launchKafkaNode(node, kafkaLib());
  await waitFor(`Kafka ${node.name}`, () => kafkaAnswers(node.port), 180_000, node.name);
  return 'started';
}

/** Stops one node: SIGTERM (a controlled shutdown: its leaderships move first), or SIGKILL with `kill`. */
export function stopKafkaNode(id, { kill = false } = {}) {
  return stopProcess(kafkaNode(id).name, 20_000, { kill });
}

/**
 * Moves the leader of every partition of `topics` to another in-sync replica (deploy/local/kafka/MoveLeaders.java:
 * a reassignment that reorders the replicas, then a preferred leader election, through Kafka's Admin API).
 * Resolves with the tool's line ("moved N of M partition leaders"); rejects if an election failed.
 */
export function moveLeaders(topics) {
  const lib = kafkaLib();
  return new Promise((resolve, reject) => {
    const child = spawn(
      'java',
      [
        '-Xmx128m',
        `-Dlog4j2.configurationFile=${path.join(here, 'kafka/log4j2.properties')}`,
        '-cp',
        `${lib}/*`,
        path.join(here, 'kafka/MoveLeaders.java'),
        kafkaBrokers(),
        ...topics,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    child.stderr.on('data', (d) => {
      err += d;
    });
    child.once('error', reject);
    child.once('exit', (code) => {
      const line = out.trim().split('\n').at(-1) ?? '';
      if (code === 0) resolve(line);
      else reject(new Error(`moving leaders failed (exit ${code}): ${line || err.trim().slice(-500)}`));
    });
  });
}

/** Stops every Kafka node (all at once: the cluster as a whole). */
export async function stopKafka() {
  const stopped = await Promise.all(kafkaNodes().map((n) => stopProcess(n.name)));
  return stopped.some(Boolean);
}

export async function startFerretdb() {
  if (await mongoAnswers()) return 'already running';
  const bin = ferretdbBinary();
  const tls = localCertificates();
  startDetached('ferretdb', bin, [
    '-listen',
    `127.0.0.1:${MONGO_PORT}`,
    ...['-listen-tls', `127.0.0.1:${MONGO_TLS_PORT}`, '-tls-cert-file', tls.cert, '-tls-key-file', tls.key],
    '-dir',
    path.join(dirs.data, 'ferretdb'),
    // WAL with synchronous=NORMAL: a commit survives the process being killed (what the chaos test
    // does), not a power cut; fine for a development and test database, and faster than FULL.
    '-sqlite-params',
    process.env.FERRETDB_SQLITE_PARAMS ?? '_pragma=synchronous(NORMAL)',
    // FERRETDB_PPROF=127.0.0.1:6060 serves Go's profiler (go tool pprof http://127.0.0.1:6060/debug/pprof/profile).
    ...(process.env.FERRETDB_PPROF ? ['-pprof', process.env.FERRETDB_PPROF] : []),
    // A database's write-ahead log past this many MB is checkpointed and truncated (main.go; 128 by default).
    ...(process.env.FERRETDB_WAL_LIMIT_MB ? ['-wal-limit-mb', process.env.FERRETDB_WAL_LIMIT_MB] : []),
    // How long that checkpoint waits for readers in progress (a Go duration; 200ms by default).
    ...(process.env.FERRETDB_WAL_WAIT ? ['-wal-wait', process.env.FERRETDB_WAL_WAIT] : []),
  ]);
  await waitFor('FerretDB', () => mongoAnswers(), 60_000, 'ferretdb');
  return 'started';
}

/** Starts what is not running; returns which of them this call started (so a caller can stop only those). */
export async function up(which = { kafka: true, ferretdb: true }) {
  // Fetch/build both first (sequentially: both are CPU-heavy on a cold machine), then start both.
  if (which.kafka && !(await kafkaAnswers())) kafkaLib();
  if (which.ferretdb && !(await mongoAnswers())) ferretdbBinary();
  const [kafka, ferretdb] = await Promise.all([
    which.kafka ? startKafka() : 'not asked for',
    which.ferretdb ? startFerretdb() : 'not asked for',
  ]);
  const brokers = KAFKA_NODES === 1 ? kafkaBrokers() : `${KAFKA_NODES} brokers ${kafkaBrokers()}`;
  log(`kafka: ${kafka} (${brokers}); ferretdb: ${ferretdb} (127.0.0.1:${MONGO_PORT})`);
  return { kafka: kafka === 'started', ferretdb: ferretdb === 'started' };
}

export async function down(which = { kafka: true, ferretdb: true }) {
  const stopped = await Promise.all([
    which.kafka ? stopKafka() : false,
    which.ferretdb ? stopProcess('ferretdb') : false,
  ]);
  log(
    `stopped: kafka ${stopped[0] ? 'yes' : 'was not running'}, ferretdb ${stopped[1] ? 'yes' : 'was not running'}`,
  );
}

/**
 * Runs the infrastructure on a throw-away data directory (`npm test` when it starts the stack itself:
 * tests never depend on, or slow down with, the data a developer's `npm start` accumulated).
 */
export function useFreshData(name) {
  dirs.data = path.join(LOCAL, name);
  rmSync(dirs.data, { recursive: true, force: true });
}

export async function status() {
  const nodes = await Promise.all(
    kafkaNodes().map(async (n) => ({
      node: n.id,
      port: n.port,
      pid: readPid(n.name) ?? null,
      answers: await kafkaAnswers(n.port),
    })),
  );
  return {
    kafka: KAFKA_NODES === 1 ? { pid: nodes[0].pid, answers: nodes[0].answers } : nodes,
    ferretdb: { pid: readPid('ferretdb') ?? null, answers: await mongoAnswers() },
  };
}

export { dirs, readPid, sleep, startDetached, stopProcess, waitFor };

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const command = process.argv[2] ?? 'status';
  // `up kafka` / `down kafka`: the broker(s) alone (the cluster's integration test).
  const only = process.argv[3];
  if (command !== 'move-leaders' && only !== undefined && only !== 'kafka') {
    console.error(`stack.mjs ${command} ${only}: the only part that runs alone is kafka`);
    process.exit(2);
  }
  const which = only === 'kafka' ? { kafka: true, ferretdb: false } : undefined;
  try {
    if (command === 'up') await up(which);
    else if (command === 'down') await down(which);
    else if (command === 'status') console.log(JSON.stringify(await status(), null, 2));
    else if (command === 'fetch') {
      kafkaLib();
      ferretdbBinary();
    } else if (command === 'move-leaders') {
      // Every partition of the named topics to another in-sync replica (the cluster's integration test).
      console.log(await moveLeaders(process.argv.slice(3)));
    } else if (command === 'reset') {
      await down();
      rmSync(dirs.data, { recursive: true, force: true });
      log(`deleted ${dirs.data}`);
    } else {
      console.error('usage: stack.mjs up [kafka]|down [kafka]|status|fetch|reset|move-leaders <topic>...');
      process.exit(2);
    }
  } catch (err) {
    log(`error: ${err.message}`);
    process.exit(1);
  }
}
