import { loadConfigServiceConfig } from '@hub/config-service/config';
import { loadEdgeConfig } from '@hub/edge/config';
import { loadWriterConfig } from '@hub/entity-writer/config';
import { loadGatewayConfig } from '@hub/ingest-gateway/config';
import { loadMapperConfig } from '@hub/mapper/config';
import { parseAllDocuments, stringify } from 'yaml';

/** The parts of the Kubernetes objects these checks read (the validator checks the rest). */
export interface Labels {
  [key: string]: string;
}
export interface Selector {
  matchLabels?: Labels;
  matchExpressions?: Array<{ key: string; operator: string; values?: string[] }>;
}
export interface Probe {
  httpGet?: { path: string; port: string | number };
}
export interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef?: { name: string; key: string; optional?: boolean } };
}
export interface Container {
  name: string;
  image: string;
  command?: string[];
  ports?: Array<{ name?: string; containerPort: number }>;
  envFrom?: Array<{ configMapRef?: { name: string }; secretRef?: { name: string } }>;
  env?: EnvVar[];
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  lifecycle?: { preStop?: { sleep?: { seconds: number } } };
  securityContext?: {
    runAsNonRoot?: boolean;
    readOnlyRootFilesystem?: boolean;
    allowPrivilegeEscalation?: boolean;
    capabilities?: { drop?: string[] };
  };
}
export interface PodSpec {
  containers: Container[];
  terminationGracePeriodSeconds?: number;
  securityContext?: { runAsNonRoot?: boolean; runAsUser?: number };
}
export interface PodTemplate {
  metadata: { labels: Labels };
  spec: PodSpec;
}
export interface Doc {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Labels; annotations?: Record<string, string> };
  // biome-ignore lint/suspicious/noExplicitAny: each check reads the fields of its kind
  spec?: any;
  data?: Record<string, string>;
}

export function parseManifests(yaml: string): Doc[] {
  return parseAllDocuments(yaml)
    .map((d) => d.toJS() as Doc | null)
    .filter((d): d is Doc => d !== null);
}

export function stringifyManifests(docs: Doc[]): string {
  return docs.map((d) => stringify(d)).join('---\n');
}

export const ofKind = (docs: Doc[], kind: string) => docs.filter((d) => d.kind === kind);

export function matches(selector: Selector | undefined, labels: Labels): boolean {
  if (!selector) return false;
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of selector.matchExpressions ?? []) {
    const has = e.key in labels;
    const value = labels[e.key];
    if (e.operator === 'In' && !(has && e.values?.includes(value as string))) return false;
    if (e.operator === 'NotIn' && has && e.values?.includes(value as string)) return false;
    if (e.operator === 'Exists' && !has) return false;
    if (e.operator === 'DoesNotExist' && has) return false;
  }
  return true;
}

/** Values the test puts where a Secret would (never in the manifests). */
export const FAKE_SECRETS: Record<string, string> = {
  AUTH_JWT_SECRET: 'a-test-secret-of-more-than-32-characters-0123456789',
  MONGO_URL: 'mongodb://hub:pw@mongo.example:27017/erp_hub?tls=true',
  KAFKA_SASL_USERNAME: 'hub',
  KAFKA_SASL_PASSWORD: 'pw',
};

/** A container's environment as the kubelet would set it, with FAKE_SECRETS for the Secret's keys. */
export function containerEnv(docs: Doc[], container: Container): Record<string, string> {
  const env: Record<string, string> = {};
  for (const from of container.envFrom ?? []) {
    if (from.configMapRef) {
      const map = docs.find((d) => d.kind === 'ConfigMap' && d.metadata.name === from.configMapRef?.name);
      if (!map)
        throw new Error(`${container.name}: ConfigMap ${from.configMapRef.name} is not in the render`);
      Object.assign(env, map.data);
    }
    if (from.secretRef) throw new Error(`${container.name}: envFrom a whole Secret; name its keys instead`);
  }
  for (const e of container.env ?? []) {
    if (e.value !== undefined) env[e.name] = e.value;
    const ref = e.valueFrom?.secretKeyRef;
    // Without a SASL mechanism in the ConfigMap (the base), the Secret has no SASL keys (they are optional):
    // the services refuse a user and password without a mechanism.
    if (ref?.optional && ref.key.startsWith('KAFKA_SASL_') && !env.KAFKA_SASL_MECHANISM) continue;
    if (ref) {
      const value = FAKE_SECRETS[ref.key];
      if (value === undefined) throw new Error(`${container.name}: no test value for secret key ${ref.key}`);
      env[e.name] = value;
    }
  }
  return env;
}

/** The configuration loader of each image (by its container name), as main.ts calls it. */
export const LOADERS = {
  edge: loadEdgeConfig,
  'ingest-gateway': loadGatewayConfig,
  'config-service': loadConfigServiceConfig,
  mapper: loadMapperConfig,
  'entity-writer': loadWriterConfig,
} as const;
export type ImageName = keyof typeof LOADERS;
