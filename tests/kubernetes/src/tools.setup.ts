import { crdFiles, kustomizeBinary, validatorBinary } from '../../../scripts/lib/kustomize.mjs';

// Once per run, before any test file: kustomize, the validator and KEDA's CRDs, built or downloaded with Go
// into the caches on a clean machine (minutes), found there afterwards (a second).
export default function setup() {
  kustomizeBinary();
  validatorBinary();
  crdFiles();
}
