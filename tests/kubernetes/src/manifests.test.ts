import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { loadConfig } from '@hub/config';
import { ConfigServiceEnv } from '@hub/config-service/config';
import { Topics } from '@hub/contracts';
import { EdgeEnv } from '@hub/edge/config';
import { WriterEnv } from '@hub/entity-writer/config';
import { GatewayEnv } from '@hub/ingest-gateway/config';
import { TopicsCommandEnv, topicPlan } from '@hub/kafka';
import { MapperEnv } from '@hub/mapper/config';
import { DbCommandEnv } from '@hub/mongo/db';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { REPO } from '../../../deploy/local/stack.mjs';
import { kustomizeBuild } from '../../../scripts/lib/kustomize.mjs';
import {
  type Container,
  containerEnv,
  type Doc,
  type ImageName,
  type Labels,
  LOADERS,
  matches,
  ofKind,
  type PodTemplate,
  parseManifests,
} from './render.js';

// What a user of deploy/kubernetes relies on, checked on both renders against the services' own code: the
// configuration each service loads at boot, its consumer groups and topics, its shutdown budget.
const renders: Record<string, Doc[]> = {};
beforeAll(() => {
  renders.base = parseManifests(kustomizeBuild('base'));
  renders.production = parseManifests(kustomizeBuild('overlays/production'));
});

const SECRET_NAME = 'erp-hub-secrets';
/**
 * Kafka and Mongo connection settings being added to the services' configuration in parallel (TLS, SASL):
 * wired through the ConfigMap and the Secret by these names before every service reads them.
 */
const CONNECTION_SETTINGS = [
  'KAFKA_SSL',
  'KAFKA_SSL_CA_FILE',
  'KAFKA_SSL_CERT_FILE',
  'KAFKA_SSL_KEY_FILE',
  'KAFKA_SSL_REJECT_UNAUTHORIZED',
  'KAFKA_SASL_MECHANISM',
  'KAFKA_SASL_USERNAME',
  'KAFKA_SASL_PASSWORD',
  'MONGO_TLS_CA_FILE',
  'MONGO_TLS_CERT_KEY_FILE',
];
const SECRET_KEYS = ['AUTH_JWT_SECRET', 'MONGO_URL', 'KAFKA_SASL_USERNAME', 'KAFKA_SASL_PASSWORD'];

interface Workload {
  doc: Doc;
  name: string;
  template: PodTemplate;
  container: Container;
  image: ImageName;
  env: Record<string, string>;
  // biome-ignore lint/suspicious/noExplicitAny: the loaded configuration of whichever service this is
  config: any;
}

/** Every Deployment with its container, its image's service and the configuration that service loads. */
function workloads(docs: Doc[]): Workload[] {
  return ofKind(docs, 'Deployment').map((doc) => {
    const template = doc.spec.template as PodTemplate;
    expect(template.spec.containers, `${doc.metadata.name}: one container`).toHaveLength(1);
    const container = template.spec.containers[0] as Container;
    const image = container.name as ImageName;
    expect(Object.keys(LOADERS), `${doc.metadata.name}: container named after its image`).toContain(image);
    const env = containerEnv(docs, container);
    // The service's own loader, as main.ts calls it at boot: throws with every problem if it would refuse.
    const config = LOADERS[image](env);
    return { doc, name: doc.metadata.name, template, container, image, env, config };
  });
}

/** The consumer group a workload runs, and the topic it consumes (the services' app.ts). */
function consumerOf(w: Workload): { group: string; topic: string } | undefined {
  if (w.image === 'mapper') return { group: w.config.KAFKA_GROUP_ID, topic: Topics.inboundEvents };
  if (w.image === 'entity-writer' && w.config.WRITER_ROLE !== 'api')
    return { group: w.config.KAFKA_GROUP_ID, topic: Topics.entityUpdates };
  if (w.image === 'config-service' && w.config.CONFIG_SERVICE_ROLE !== 'api')
    return { group: w.config.MONITORING_GROUP_ID, topic: Topics.monitoringEvents };
  return undefined;
}

const portNumber = (c: Container, port: string | number | undefined) =>
  typeof port === 'number' ? port : c.ports?.find((p) => p.name === port)?.containerPort;

describe.each(['base', 'production'])('the %s render', (overlay) => {
  const docs = () => renders[overlay] as Doc[];

  it('runs every service, the config-service and entity-writer split into their roles', () => {
    const roles = workloads(docs()).map((w) => {
      const role = w.config.CONFIG_SERVICE_ROLE ?? w.config.WRITER_ROLE;
      return role ? `${w.image}:${role}` : w.image;
    });
    expect(roles.sort()).toEqual([
      'config-service:api',
      'config-service:sink',
      'edge',
      'entity-writer:api',
      'entity-writer:consumer',
      'ingest-gateway',
      'mapper',
    ]);
  });

  it('gives every service an environment its configuration accepts, in production mode, topics and database layout only checked', () => {
    for (const w of workloads(docs())) {
      if ('HUB_ENV' in w.config) expect(w.config.HUB_ENV, w.name).toBe('production');
      if ('KAFKA_TOPICS' in w.config) expect(w.config.KAFKA_TOPICS, w.name).toBe('check');
      if ('MONGO_URL' in w.config) expect(w.config.DB_LAYOUT, w.name).toBe('check');
      // The port the service listens on is the port the probes, the Service and the policies use.
      expect(
        w.container.ports?.map((p) => p.containerPort),
        w.name,
      ).toEqual([w.config.PORT]);
      expect(w.config.HOST, w.name).toBe('0.0.0.0');
    }
  });

  it('sets no variable that no service reads (a misspelt setting would be ignored silently)', () => {
    const known = new Set([
      ...[
        EdgeEnv,
        GatewayEnv,
        ConfigServiceEnv,
        MapperEnv,
        WriterEnv,
        TopicsCommandEnv,
        DbCommandEnv,
      ].flatMap((schema) => Object.keys(schema.properties)),
      ...CONNECTION_SETTINGS,
    ]);
    for (const map of ofKind(docs(), 'ConfigMap')) {
      for (const key of Object.keys(map.data ?? {}))
        expect(known, `ConfigMap ${map.metadata.name}`).toContain(key);
    }
    for (const c of [...workloads(docs()).map((w) => w.container), ...jobContainers(docs())]) {
      for (const e of c.env ?? []) expect(known, c.name).toContain(e.name);
    }
  });

  it('points every *_FILE setting at a file mounted in every container that reads it', () => {
    for (const d of [...ofKind(docs(), 'Deployment'), ...ofKind(docs(), 'Job')]) {
      for (const c of d.spec.template.spec.containers as Container[]) {
        const mounts = (c as { volumeMounts?: Array<{ mountPath: string }> }).volumeMounts ?? [];
        for (const [key, value] of Object.entries(containerEnv(docs(), c))) {
          if (!key.endsWith('_FILE')) continue;
          expect(
            mounts.some((m) => value.startsWith(`${m.mountPath}/`)),
            `${d.metadata.name}: ${key}=${value}`,
          ).toBe(true);
        }
      }
    }
  });

  it('probes every container on /healthz (liveness) and /readyz (readiness) at its port', () => {
    for (const w of workloads(docs())) {
      const { livenessProbe, readinessProbe } = w.container;
      expect(livenessProbe?.httpGet?.path, w.name).toBe('/healthz');
      expect(readinessProbe?.httpGet?.path, w.name).toBe('/readyz');
      expect(portNumber(w.container, livenessProbe?.httpGet?.port), w.name).toBe(w.config.PORT);
      expect(portNumber(w.container, readinessProbe?.httpGet?.port), w.name).toBe(w.config.PORT);
    }
  });

  it('sets resource requests and limits of CPU and memory on every container', () => {
    for (const w of [...workloads(docs()).map((x) => x.container), ...jobContainers(docs())]) {
      for (const kind of ['requests', 'limits'] as const) {
        expect(Object.keys(w.resources?.[kind] ?? {}).sort(), `${w.name} ${kind}`).toEqual(['cpu', 'memory']);
      }
    }
  });

  it('gives every pod longer to stop than its preStop pause plus the service shutdown budget', () => {
    for (const w of workloads(docs())) {
      const budgetSeconds = w.config.SHUTDOWN_TIMEOUT_MS / 1000;
      const preStop = w.container.lifecycle?.preStop?.sleep?.seconds ?? 0;
      const grace = w.template.spec.terminationGracePeriodSeconds ?? 30;
      expect(grace, `${w.name}: ${preStop} s preStop + ${budgetSeconds} s shutdown`).toBeGreaterThan(
        preStop + budgetSeconds,
      );
    }
  });

  it('runs every container as non-root, read-only, without privileges or capabilities', () => {
    for (const c of [...workloads(docs()).map((w) => w.container), ...jobContainers(docs())]) {
      expect(c.securityContext?.readOnlyRootFilesystem, c.name).toBe(true);
      expect(c.securityContext?.allowPrivilegeEscalation, c.name).toBe(false);
      expect(c.securityContext?.capabilities?.drop, c.name).toEqual(['ALL']);
    }
    for (const d of [...ofKind(docs(), 'Deployment'), ...ofKind(docs(), 'Job')]) {
      const pod = d.spec.template.spec;
      expect(pod.securityContext?.runAsNonRoot, d.metadata.name).toBe(true);
      expect(pod.securityContext?.runAsUser, d.metadata.name).toBeGreaterThan(0);
      expect(pod.automountServiceAccountToken, d.metadata.name).toBe(false);
    }
  });

  it('gives every Deployment a PodDisruptionBudget and a Service selecting its pods, on its port', () => {
    for (const w of workloads(docs())) {
      const labels = w.template.metadata.labels;
      const pdbs = ofKind(docs(), 'PodDisruptionBudget').filter((p) => matches(p.spec.selector, labels));
      expect(
        pdbs.map((p) => p.metadata.name),
        w.name,
      ).toHaveLength(1);
      const services = ofKind(docs(), 'Service').filter(
        (s) => s.spec.selector && matches({ matchLabels: s.spec.selector }, labels),
      );
      expect(
        services.map((s) => s.metadata.name),
        w.name,
      ).toEqual([w.name]);
      const port = services[0]?.spec.ports[0];
      expect(portNumber(w.container, port.targetPort), w.name).toBe(w.config.PORT);
      // The Deployment selects exactly its own pods: no two Deployments share a selector.
      for (const other of workloads(docs()).filter((o) => o.name !== w.name)) {
        expect(
          matches(w.doc.spec.selector, other.template.metadata.labels),
          `${w.name} vs ${other.name}`,
        ).toBe(false);
      }
    }
  });

  it('scales every consumer group on its lag, never beyond the partitions of its topic', () => {
    const scaled = ofKind(docs(), 'ScaledObject');
    const consumers = workloads(docs()).flatMap((w) => {
      const c = consumerOf(w);
      return c ? [{ ...c, w }] : [];
    });
    expect(consumers.map((c) => c.group).sort()).toEqual([
      'config-service-monitoring',
      'entity-writer',
      'mapper',
    ]);
    for (const { group, topic, w } of consumers) {
      const so = scaled.filter((s) => s.spec.scaleTargetRef.name === w.name);
      expect(so, `${w.name}: one ScaledObject`).toHaveLength(1);
      const triggers = so[0]?.spec.triggers as Array<{ type: string; metadata: Record<string, string> }>;
      expect(
        triggers.map((t) => [t.type, t.metadata.consumerGroup, t.metadata.topic]),
        w.name,
      ).toEqual([['kafka', group, topic]]);
      // The brokers KEDA asks are the brokers the service uses.
      expect(triggers[0]?.metadata.bootstrapServersFromEnv, w.name).toBe('KAFKA_BROKERS');
      const plan = topicPlan({ partitions: w.config.KAFKA_TOPIC_PARTITIONS });
      const partitions = plan.find((t) => t.topic === topic)?.partitions as number;
      expect(
        so[0]?.spec.maxReplicaCount,
        `${w.name}: ${topic} has ${partitions} partitions`,
      ).toBeLessThanOrEqual(partitions);
      expect(so[0]?.spec.minReplicaCount ?? 0, w.name).toBeGreaterThanOrEqual(1);
      // KEDA scales it, so no HPA of ours may fight over its replicas.
      expect(
        ofKind(docs(), 'HorizontalPodAutoscaler').filter((h) => h.spec.scaleTargetRef.name === w.name),
      ).toEqual([]);
    }
  });

  it('connects KEDA to Kafka as the services do (TLS, SASL mechanism, the same Secret)', () => {
    const [config] = ofKind(docs(), 'ConfigMap');
    const tls = config?.data?.KAFKA_SSL === 'true' ? 'enable' : 'disable';
    const sasl =
      { plain: 'plaintext', 'scram-sha-256': 'scram_sha256', 'scram-sha-512': 'scram_sha512' }[
        config?.data?.KAFKA_SASL_MECHANISM ?? ''
      ] ?? 'none';
    const auths = ofKind(docs(), 'TriggerAuthentication');
    for (const so of ofKind(docs(), 'ScaledObject')) {
      for (const t of so.spec.triggers) {
        expect([t.metadata.tls, t.metadata.sasl], so.metadata.name).toEqual([tls, sasl]);
        const auth = auths.find((a) => a.metadata.name === t.authenticationRef?.name);
        expect(auth, `${so.metadata.name}: its TriggerAuthentication`).toBeDefined();
        expect(auth?.spec.secretTargetRef).toEqual([
          { parameter: 'username', name: SECRET_NAME, key: 'KAFKA_SASL_USERNAME' },
          { parameter: 'password', name: SECRET_NAME, key: 'KAFKA_SASL_PASSWORD' },
        ]);
      }
    }
  });

  it('scales every stateless HTTP deployment on CPU', () => {
    const http = workloads(docs()).filter((w) => !consumerOf(w));
    expect(http.map((w) => w.name).sort()).toEqual([
      'config-service-api',
      'edge',
      'entity-writer-api',
      'ingest-gateway',
    ]);
    for (const w of http) {
      const hpas = ofKind(docs(), 'HorizontalPodAutoscaler').filter(
        (h) => h.spec.scaleTargetRef.kind === 'Deployment' && h.spec.scaleTargetRef.name === w.name,
      );
      expect(hpas, w.name).toHaveLength(1);
      expect(hpas[0]?.spec.metrics.map((m: { resource?: { name: string } }) => m.resource?.name)).toEqual([
        'cpu',
      ]);
      expect(hpas[0]?.spec.minReplicas, w.name).toBeGreaterThanOrEqual(2);
    }
  });

  it('routes the edge to Services that run the right service and role', () => {
    const [edge] = workloads(docs()).filter((w) => w.image === 'edge');
    const expected: Record<string, string[]> = {
      INGEST_GATEWAY_URL: ['ingest-gateway'],
      CONFIG_SERVICE_URL: ['config-service:api', 'config-service:all'],
      MAPPER_URL: ['mapper'],
      ENTITY_WRITER_URL: ['entity-writer:api', 'entity-writer:all'],
    };
    for (const [key, accepted] of Object.entries(expected)) {
      const url = new URL(edge?.config[key]);
      const service = ofKind(docs(), 'Service').find((s) => s.metadata.name === url.hostname);
      expect(service, `${key}=${url}`).toBeDefined();
      expect(service?.spec.ports.map((p: { port: number }) => p.port)).toContain(Number(url.port || 80));
      const behind = workloads(docs()).filter((w) =>
        matches({ matchLabels: service?.spec.selector }, w.template.metadata.labels),
      );
      for (const w of behind) {
        const role = w.config.CONFIG_SERVICE_ROLE ?? w.config.WRITER_ROLE;
        expect(accepted, `${key} reaches ${w.name}`).toContain(role ? `${w.image}:${role}` : w.image);
      }
      expect(behind.length, key).toBeGreaterThan(0);
    }
  });

  it('admits traffic from outside the namespace only to the edge (and Prometheus to /metrics)', () => {
    const policies = ofKind(docs(), 'NetworkPolicy');
    const outside = {
      namespace: { 'kubernetes.io/metadata.name': 'ingress-nginx' },
      pod: { app: 'controller' },
    };
    const monitoring = {
      namespace: { 'kubernetes.io/metadata.name': 'monitoring' },
      pod: { app: 'prometheus' },
    };
    const neighbour = { namespace: undefined, pod: { 'app.kubernetes.io/name': 'someone-else' } };
    const internet = { ipBlock: true as const };
    const all = workloads(docs());
    const edgePod = all.find((w) => w.image === 'edge')?.template.metadata.labels as Labels;
    const fromEdge = { namespace: undefined, pod: edgePod };
    // Every pod of the namespace is isolated: nothing reaches a pod that no policy admits it to.
    expect(
      policies.some(
        (p) => Object.keys(p.spec.podSelector).length === 0 && p.spec.policyTypes.includes('Ingress'),
      ),
    ).toBe(true);
    for (const w of all) {
      const to = { labels: w.template.metadata.labels, container: w.container };
      const port = w.config.PORT as number;
      const isEdge = w.image === 'edge';
      expect(admits(policies, to, internet, port), `internet → ${w.name}`).toBe(isEdge);
      expect(admits(policies, to, outside, port), `another namespace → ${w.name}`).toBe(isEdge);
      expect(admits(policies, to, neighbour, port), `another pod of the namespace → ${w.name}`).toBe(isEdge);
      // Prometheus scrapes /metrics, served on the service's port.
      expect(admits(policies, to, monitoring, port), `monitoring → ${w.name}`).toBe(true);
      expect(admits(policies, to, outside, 9999), `another namespace → ${w.name}:9999`).toBe(false);
      expect(admits(policies, to, monitoring, 9999), `monitoring → ${w.name}:9999`).toBe(false);
    }
    // The edge reaches every upstream it proxies to and asks for /readyz.
    for (const key of ['INGEST_GATEWAY_URL', 'CONFIG_SERVICE_URL', 'MAPPER_URL', 'ENTITY_WRITER_URL']) {
      const host = new URL(all.find((w) => w.image === 'edge')?.config[key]).hostname;
      const service = ofKind(docs(), 'Service').find((s) => s.metadata.name === host);
      for (const w of all.filter((x) =>
        matches({ matchLabels: service?.spec.selector }, x.template.metadata.labels),
      )) {
        const to = { labels: w.template.metadata.labels, container: w.container };
        expect(admits(policies, to, fromEdge, w.config.PORT), `edge → ${w.name}`).toBe(true);
      }
    }
  });

  it('keeps every secret out of the manifests: only references to the Secret by name', () => {
    expect(ofKind(docs(), 'Secret')).toEqual([]);
    for (const map of ofKind(docs(), 'ConfigMap')) {
      for (const [key, value] of Object.entries(map.data ?? {})) {
        expect(SECRET_KEYS, `ConfigMap ${map.metadata.name}`).not.toContain(key);
        expect(key, `ConfigMap ${map.metadata.name}`).not.toMatch(/SECRET|PASSWORD|TOKEN|USERNAME/);
        expect(value, `ConfigMap ${map.metadata.name} ${key}`).not.toMatch(/:\/\/[^/\s@]+:[^/\s@]+@/);
      }
    }
    const containers = [...workloads(docs()).map((w) => w.container), ...jobContainers(docs())];
    for (const c of containers) {
      for (const e of c.env ?? []) {
        if (SECRET_KEYS.includes(e.name) || /SECRET|PASSWORD/.test(e.name)) {
          expect(e.value, `${c.name} ${e.name}`).toBeUndefined();
          expect(e.valueFrom?.secretKeyRef?.name, `${c.name} ${e.name}`).toBe(SECRET_NAME);
        }
      }
    }
  });

  it('gives the token secret only to the pods that verify tokens, not to the sink or the consumers', () => {
    const holders = workloads(docs())
      .filter((w) =>
        (w.container.env ?? []).some((e) => e.valueFrom?.secretKeyRef?.key === 'AUTH_JWT_SECRET'),
      )
      .map((w) => w.name);
    // A service verifies tokens when it loads the token settings and its role serves the API.
    const verifiers = workloads(docs())
      .filter(
        (w) =>
          'AUTH_JWT_ISSUER' in w.config &&
          w.config.CONFIG_SERVICE_ROLE !== 'sink' &&
          w.config.WRITER_ROLE !== 'consumer',
      )
      .map((w) => w.name);
    expect(holders.sort()).toEqual(verifiers.sort());
    expect(verifiers.sort()).toEqual(['config-service-api', 'entity-writer-api', 'ingest-gateway']);
  });

  it('provisions the topics with a Job running the topics command of one of the images, with the services’ settings', () => {
    const jobs = ofKind(docs(), 'Job');
    expect(jobs.map((j) => j.metadata.name).sort()).toEqual(['erp-hub-db', 'erp-hub-topics']);
    const [container] = jobContainers(docs()).filter((c) => c.name === 'topics');
    expect(container?.command).toEqual(['node', 'libs/kafka/dist/topics-cli.js', '--apply']);
    // The images keep the repository's layout under /app (WORKDIR) and copy the built libs.
    expect(existsSync(path.join(REPO, 'libs/kafka/dist/topics-cli.js'))).toBe(true);
    const service = imageService(container?.image as string);
    expect(readFileSync(path.join(REPO, 'services', service, 'Dockerfile'), 'utf8')).toMatch(
      /COPY --from=build \/repo\/libs \.\/libs/,
    );
    const env = containerEnv(docs(), container as Container);
    const jobConfig = loadConfig('topics', TopicsCommandEnv, env);
    for (const w of workloads(docs()).filter((x) => 'KAFKA_BROKERS' in x.config)) {
      expect(w.config.KAFKA_BROKERS, w.name).toEqual(jobConfig.KAFKA_BROKERS);
      // The edge reads the brokers only to name them in /asyncapi.json: it has no topics to size.
      if ('KAFKA_TOPIC_PARTITIONS' in w.config)
        expect(w.config.KAFKA_TOPIC_PARTITIONS, w.name).toEqual(jobConfig.KAFKA_TOPIC_PARTITIONS);
    }
  });

  it('makes the database layout with a Job running the layout command of an image that builds libs/mongo, with the services’ database', () => {
    const [container] = jobContainers(docs()).filter((c) => c.name === 'db');
    expect(container?.command).toEqual(['node', 'libs/mongo/dist/db-cli.js', '--apply']);
    expect(existsSync(path.join(REPO, 'libs/mongo/dist/db-cli.js'))).toBe(true);
    const service = imageService(container?.image as string);
    // The image's service depends on libs/mongo, so its build (turbo --filter=<service>...) builds the command.
    const manifest = JSON.parse(readFileSync(path.join(REPO, 'services', service, 'package.json'), 'utf8'));
    expect(Object.keys(manifest.dependencies)).toContain('@hub/mongo');
    const env = containerEnv(docs(), container as Container);
    expect(env.MONGO_URL, 'MONGO_URL from the Secret').toBeDefined();
    const jobConfig = loadConfig('db', DbCommandEnv, env);
    for (const w of workloads(docs()).filter((x) => 'MONGO_URL' in x.config)) {
      expect(w.config.MONGO_URL, w.name).toBe(jobConfig.MONGO_URL);
    }
    const [job] = ofKind(docs(), 'Job').filter((j) => j.metadata.name === 'erp-hub-db');
    // Before the services, as the topics Job: a Sync hook of an earlier wave.
    expect(job?.metadata.annotations?.['argocd.argoproj.io/sync-wave']).toBe('-1');
  });

  it('uses one image per service as its Dockerfile builds it', () => {
    const withDockerfile = readdirSync(path.join(REPO, 'services')).filter((s) =>
      existsSync(path.join(REPO, 'services', s, 'Dockerfile')),
    );
    const used = new Set(
      [...workloads(docs()).map((w) => w.container), ...jobContainers(docs())].map((c) =>
        imageService(c.image),
      ),
    );
    expect([...used].sort()).toEqual(withDockerfile.sort());
    for (const w of workloads(docs())) expect(imageService(w.container.image), w.name).toBe(w.image);
    if (overlay === 'production') {
      for (const w of workloads(docs()))
        expect(w.container.image, w.name).toMatch(/^[^/]+\.[^/]+\/.+:[\w.-]+$/);
    }
  });
});

describe('the services’ code', () => {
  it('writes no file, so the read-only root filesystem holds (only /tmp is writable)', () => {
    const writes =
      /\b(writeFile|writeFileSync|appendFile|appendFileSync|createWriteStream|mkdir|mkdirSync|mkdtemp|rename|renameSync)\s*\(/;
    const offenders: string[] = [];
    const roots = [
      ...readdirSync(path.join(REPO, 'services')).map((s) => path.join(REPO, 'services', s, 'src')),
      // libs/testing is test code only: no service imports it.
      ...readdirSync(path.join(REPO, 'libs'))
        .filter((l) => l !== 'testing')
        .map((l) => path.join(REPO, 'libs', l, 'src')),
    ].filter((d) => existsSync(d));
    for (const root of roots) {
      for (const file of readdirSync(root, { recursive: true, encoding: 'utf8' })) {
        if (!file.endsWith('.ts') || file.endsWith('.test.ts')) continue;
        // A write to procfs (a worker's scheduling group, libs/mapping priority.ts) is not to the root
        // filesystem: the kernel's own files stay writable under readOnlyRootFilesystem.
        const text = readFileSync(path.join(root, file), 'utf8').replace(
          /\bwriteFileSync\(\s*`\/proc\/[^`]*`/g,
          'procfs(',
        );
        if (writes.test(text)) offenders.push(path.relative(REPO, path.join(root, file)));
      }
    }
    expect(offenders).toEqual([]);
  });
});

describe('the production render', () => {
  const docs = () => renders.production as Doc[];

  it('scrapes every service’s /metrics with a ServiceMonitor', () => {
    const [monitor, ...more] = ofKind(docs(), 'ServiceMonitor');
    expect(more).toEqual([]);
    expect(monitor?.spec.endpoints).toEqual([expect.objectContaining({ port: 'http', path: '/metrics' })]);
    for (const s of ofKind(docs(), 'Service')) {
      expect(matches(monitor?.spec.selector, s.metadata.labels ?? {}), s.metadata.name).toBe(true);
      expect(s.spec.ports.map((p: { name: string }) => p.name)).toContain('http');
    }
  });

  it('has a PrometheusRule with the same rules as deploy/prometheus/alerts.yml', () => {
    const alerts = parse(readFileSync(path.join(REPO, 'deploy/prometheus/alerts.yml'), 'utf8'));
    const [rule] = ofKind(docs(), 'PrometheusRule');
    expect(rule?.spec.groups).toEqual(alerts.groups);
  });

  it('allows each consumer group more replicas than the base, up to the production partitions', () => {
    const max = (d: Doc[]) =>
      Object.fromEntries(ofKind(d, 'ScaledObject').map((s) => [s.metadata.name, s.spec.maxReplicaCount]));
    expect(max(docs())).toEqual({ mapper: 12, 'entity-writer-consumer': 12, 'config-service-sink': 12 });
    expect(max(renders.base as Doc[])).toEqual({
      mapper: 6,
      'entity-writer-consumer': 6,
      'config-service-sink': 6,
    });
  });
});

function jobContainers(docs: Doc[]): Container[] {
  return ofKind(docs, 'Job').flatMap((j) => j.spec.template.spec.containers as Container[]);
}

/** `registry/erp-hub/mapper:1.0` → `mapper`: the services/<dir> whose Dockerfile builds the image. */
function imageService(image: string): string {
  const name = image
    .replace(/:[^/:]+$/, '')
    .split('/')
    .at(-1) as string;
  return name;
}

interface Source {
  namespace?: Labels | undefined;
  pod?: Labels;
  ipBlock?: true;
}

/** Whether the NetworkPolicies admit `source` to a pod with `labels` on `port` (Kubernetes' semantics). */
function admits(
  policies: Doc[],
  target: { labels: Labels; container: Container },
  source: Source,
  port: number,
): boolean {
  const selecting = policies.filter(
    (p) =>
      (p.spec.policyTypes ?? ['Ingress']).includes('Ingress') && matches(p.spec.podSelector, target.labels),
  );
  if (selecting.length === 0) return true;
  const peerMatches = (peer: {
    podSelector?: Record<string, unknown>;
    namespaceSelector?: Record<string, unknown>;
    ipBlock?: unknown;
  }) => {
    if (peer.ipBlock) return source.ipBlock === true;
    if (source.ipBlock) return false;
    const nsOk = peer.namespaceSelector
      ? source.namespace !== undefined && matches(peer.namespaceSelector, source.namespace)
      : source.namespace === undefined;
    const podOk = peer.podSelector ? matches(peer.podSelector, source.pod ?? {}) : true;
    return nsOk && podOk;
  };
  return selecting.some((p) =>
    (p.spec.ingress ?? []).some(
      (rule: { from?: Parameters<typeof peerMatches>[0][]; ports?: Array<{ port?: string | number }> }) => {
        const fromOk = !rule.from || rule.from.length === 0 || rule.from.some(peerMatches);
        const portOk =
          !rule.ports ||
          rule.ports.length === 0 ||
          rule.ports.some((r) => portNumber(target.container, r.port) === port);
        return fromOk && portOk;
      },
    ),
  );
}
