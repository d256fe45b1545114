// Types of kustomize.mjs for TypeScript callers (tests/kubernetes).
export declare const KUSTOMIZE_VERSION: string;
export declare const KUBERNETES_DIR: string;
export declare const CRD_SOURCES: ReadonlyArray<{
  module: string;
  version: string;
  sum: string;
  files: string[];
}>;
export declare function kustomizeBinary(): string;
export declare function kustomizeBuild(dir: string): string;
export declare function validatorBinary(): string;
export declare function crdFiles(): string[];
export declare function validateManifests(yaml: string): { ok: boolean; output: string };
