import { beforeAll, describe, expect, it } from 'vitest';
import { kustomizeBuild, validateManifests } from '../../../scripts/lib/kustomize.mjs';
import { type Doc, parseManifests, stringifyManifests } from './render.js';

// The rendered manifests are checked as a cluster would apply them: every document decoded strictly into
// its API type (or its CRD's schema), and the validator shown to fail on what a typo would produce.
const renders: Record<string, string> = {};

beforeAll(() => {
  renders.base = kustomizeBuild('base');
  renders.production = kustomizeBuild('overlays/production');
});

describe.each(['base', 'production'])('the %s render', (name) => {
  it('is valid against the Kubernetes API types and the CRD schemas', () => {
    const { ok, output } = validateManifests(renders[name] as string);
    expect(output).toMatch(/^ok: \d+ documents valid/);
    expect(ok).toBe(true);
  });
});

/** The production render with one document changed. */
function mutated(kind: string, name: string, change: (doc: Doc) => void): string {
  const docs = parseManifests(renders.production as string);
  const doc = docs.find((d) => d.kind === kind && d.metadata.name === name);
  if (!doc) throw new Error(`${kind}/${name} is not in the production render`);
  change(doc);
  return stringifyManifests(docs);
}

describe('the validator', () => {
  it('fails on a misspelled field of a Deployment, naming the document and the field path', () => {
    const yaml = mutated('Deployment', 'mapper', (d) => {
      const container = d.spec.template.spec.containers[0];
      container.livenesProbe = container.livenessProbe;
      delete container.livenessProbe;
    });
    const { ok, output } = validateManifests(yaml);
    expect(ok).toBe(false);
    expect(output).toContain('Deployment/mapper');
    expect(output).toMatch(/unknown field "spec\.template\.spec\.containers\[0\]\.livenesProbe"/);
  });

  it('fails on a value of the wrong type, naming the field', () => {
    const yaml = mutated('Deployment', 'edge', (d) => {
      d.spec.template.spec.containers[0].ports[0].containerPort = 'eighty';
    });
    const { ok, output } = validateManifests(yaml);
    expect(ok).toBe(false);
    expect(output).toContain('Deployment/edge');
    expect(output).toMatch(/containerPort/);
    expect(output).toMatch(/wrong type/);
  });

  it('fails on a field the KEDA ScaledObject schema does not have', () => {
    const yaml = mutated('ScaledObject', 'mapper', (d) => {
      d.spec.maxReplicas = 3;
    });
    const { ok, output } = validateManifests(yaml);
    expect(ok).toBe(false);
    expect(output).toMatch(/ScaledObject\/mapper: unknown field "spec\.maxReplicas"/);
  });

  it('fails on a wrong type inside a ScaledObject trigger', () => {
    const yaml = mutated('ScaledObject', 'entity-writer-consumer', (d) => {
      d.spec.triggers[0].metadata.lagThreshold = 1000;
    });
    const { ok, output } = validateManifests(yaml);
    expect(ok).toBe(false);
    expect(output).toMatch(/field spec\.triggers\[0\]\.metadata\.lagThreshold: wrong type: want string/);
  });

  it('fails on an unknown field of a ServiceMonitor', () => {
    const yaml = mutated('ServiceMonitor', 'erp-hub', (d) => {
      d.spec.endpoints[0].scrapeEvery = '15s';
    });
    const { ok, output } = validateManifests(yaml);
    expect(ok).toBe(false);
    expect(output).toMatch(/ServiceMonitor\/erp-hub: unknown field "spec\.endpoints\[0\]\.scrapeEvery"/);
  });

  it('fails on a kind it has no type or schema for', () => {
    const yaml = `${renders.production}---\napiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\n`;
    const { ok, output } = validateManifests(yaml);
    expect(ok).toBe(false);
    expect(output).toMatch(/Widget\/w: unknown kind example\.com\/v1\/Widget/);
  });
});
