#!/usr/bin/env node
// `npm run k8s:render -- [production|base]`: the manifests of deploy/kubernetes as `kustomize build` renders
// them (kustomize built with Go on first use). `npm run k8s:validate`: both renders checked strictly against
// the Kubernetes API types and the KEDA CRD schemas (deploy/kubernetes/validate); exits 1 on any problem.
import { kustomizeBuild, validateManifests } from './lib/kustomize.mjs';

const [command, target = 'production'] = process.argv.slice(2);
const dirOf = (name) => (name === 'base' ? 'base' : `overlays/${name}`);

if (command === 'render') {
  process.stdout.write(kustomizeBuild(dirOf(target)));
} else if (command === 'validate') {
  let failed = false;
  for (const name of ['base', 'production']) {
    const { ok, output } = validateManifests(kustomizeBuild(dirOf(name)));
    process.stdout.write(`${name}: ${output}\n`);
    failed ||= !ok;
  }
  process.exit(failed ? 1 : 0);
} else {
  process.stderr.write('usage: node scripts/kubernetes.mjs render [production|base] | validate\n');
  process.exit(2);
}
