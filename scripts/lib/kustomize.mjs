// The Kubernetes tooling of deploy/kubernetes, installed by the project itself with the machine's Go (no
// kubectl, no cluster): kustomize at a pinned version, and our strict validator
// (deploy/kubernetes/validate) with the CRD schemas it checks custom resources against, taken from the
// pinned upstream Go module. Everything is built once into the cache (.local/cache or HUB_CACHE_DIR) and
// reused; the Go module cache holds the downloads.
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import { dirs, REPO } from '../../deploy/local/stack.mjs';

/** kustomize as `go install sigs.k8s.io/kustomize/kustomize/v5@…` builds it (v5.8.3 needs Go 1.27). */
export const KUSTOMIZE_VERSION = 'v5.8.2';

/**
 * The CRDs whose openAPIV3Schema validates our custom resources: module, version, the go.sum hash the
 * download must have, and the files inside the module.
 */
export const CRD_SOURCES = [
  {
    module: 'github.com/kedacore/keda/v2',
    version: 'v2.21.0',
    sum: 'h1:R6z2HZvstK4RLUMxroNACzBj74xGxt3kG59b5Xc+Xps=',
    files: [
      'config/crd/bases/keda.sh_scaledobjects.yaml',
      'config/crd/bases/keda.sh_triggerauthentications.yaml',
    ],
  },
];

export const KUBERNETES_DIR = path.join(REPO, 'deploy/kubernetes');
const VALIDATOR_SRC = path.join(KUBERNETES_DIR, 'validate');

const log = (msg) => process.stderr.write(`[kubernetes] ${msg}\n`);
const goEnv = () => ({ ...process.env, GOTOOLCHAIN: 'local', CGO_ENABLED: '0' });

function requireGo() {
  const found = spawnSync('go', ['version'], { encoding: 'utf8' });
  if (found.status !== 0) throw new Error('go is not installed: install Go 1.26+ (see README.md)');
}

/** Builds into `bin` unless it exists: into a temporary name first, so a concurrent build never sees half a file. */
function buildOnce(bin, what, build) {
  if (existsSync(bin)) return bin;
  requireGo();
  mkdirSync(path.dirname(bin), { recursive: true });
  const tmp = `${bin}.tmp-${process.pid}`;
  log(`building ${what} with Go (first run only)...`);
  const started = Date.now();
  try {
    build(tmp);
    renameSync(tmp, bin);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  log(`built ${what} in ${Math.round((Date.now() - started) / 1000)} s`);
  return bin;
}

/** The path of the kustomize binary, built from the Go module proxy at KUSTOMIZE_VERSION on first use. */
export function kustomizeBinary() {
  const bin = path.join(dirs.cache, `kustomize-${KUSTOMIZE_VERSION}`);
  return buildOnce(bin, `kustomize ${KUSTOMIZE_VERSION}`, (tmp) => {
    const gobin = `${tmp}.d`;
    mkdirSync(gobin, { recursive: true });
    try {
      execFileSync('go', ['install', `sigs.k8s.io/kustomize/kustomize/v5@${KUSTOMIZE_VERSION}`], {
        env: { ...goEnv(), GOBIN: gobin },
        cwd: dirs.cache,
        stdio: ['ignore', 'inherit', 'inherit'],
      });
      renameSync(path.join(gobin, 'kustomize'), tmp);
    } finally {
      rmSync(gobin, { recursive: true, force: true });
    }
  });
}

/** `kustomize build` of a directory (relative to deploy/kubernetes, e.g. `overlays/production`): the YAML. */
export function kustomizeBuild(dir) {
  return execFileSync(kustomizeBinary(), ['build', path.resolve(KUBERNETES_DIR, dir)], {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
}

/** The validator built from deploy/kubernetes/validate, cached under a hash of its sources. */
export function validatorBinary() {
  const hash = createHash('sha256');
  for (const f of ['go.mod', 'go.sum', 'main.go']) hash.update(readFileSync(path.join(VALIDATOR_SRC, f)));
  const bin = path.join(dirs.cache, `kubernetes-validate-${hash.digest('hex').slice(0, 12)}`);
  return buildOnce(bin, 'the manifest validator', (tmp) => {
    execFileSync('go', ['build', '-trimpath', '-o', tmp, '.'], {
      env: goEnv(),
      cwd: VALIDATOR_SRC,
      stdio: ['ignore', 'inherit', 'inherit'],
    });
  });
}

/** The CRD files of CRD_SOURCES, from the Go module cache (downloaded and checked against `sum` first). */
export function crdFiles() {
  return CRD_SOURCES.flatMap(({ module, version, sum, files }) => {
    requireGo();
    const info = JSON.parse(
      execFileSync('go', ['mod', 'download', '-json', `${module}@${version}`], {
        env: goEnv(),
        cwd: VALIDATOR_SRC,
        encoding: 'utf8',
      }),
    );
    if (info.Error) throw new Error(`${module}@${version}: ${info.Error}`);
    if (info.Sum !== sum) throw new Error(`${module}@${version}: hash ${info.Sum}, expected ${sum}`);
    return files.map((f) => path.join(info.Dir, f));
  });
}

/**
 * Runs the validator on rendered manifests. Resolves with its verdict and output (one line per problem,
 * `Kind/name: field path: what`, or `ok: N documents valid (...)`).
 */
export function validateManifests(yaml) {
  const args = crdFiles().flatMap((f) => ['-crd', f]);
  const result = spawnSync(validatorBinary(), [...args, '-'], {
    input: yaml,
    encoding: 'utf8',
    maxBuffer: 16 * 1024 * 1024,
  });
  if (result.error) throw result.error;
  return { ok: result.status === 0, output: `${result.stdout}${result.stderr}`.trim() };
}
