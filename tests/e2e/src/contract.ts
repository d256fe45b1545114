import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';

/**
 * Validates our real responses against the reference document's response schemas, loaded from the
 * document itself (never copied by hand): `../shared/reference/integration-toolkit-openapi.json`, else
 * our copy under services/edge/openapi/.
 */
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const shared = path.resolve(repoRoot, '../shared/reference/integration-toolkit-openapi.json');
const docPath = existsSync(shared)
  ? shared
  : path.join(repoRoot, 'services/edge/openapi/integration-toolkit-openapi.json');

type Json = Record<string, unknown>;
const document = JSON.parse(readFileSync(docPath, 'utf8')) as Json & {
  paths: Record<string, Record<string, Json>>;
};

/** OpenAPI 3.0 → JSON Schema for Ajv: `nullable` becomes a type union; `discriminator` dropped (oneOf stays). */
function toJsonSchema(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(toJsonSchema);
  if (!node || typeof node !== 'object') return node;
  const out: Json = {};
  for (const [k, v] of Object.entries(node as Json)) {
    if (k === 'discriminator' || k === 'example' || k === 'examples') continue;
    out[k] = toJsonSchema(v);
  }
  if (out.nullable === true) {
    delete out.nullable;
    return { anyOf: [out, { type: 'null' }] };
  }
  return out;
}

const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: true });
(addFormatsModule as unknown as (a: Ajv) => void)(ajv);
ajv.addSchema({ $id: 'reference', components: toJsonSchema(document.components) } as Json);

const operations = new Map<string, { path: string; method: string; operation: Json }>();
for (const [p, methods] of Object.entries(document.paths)) {
  for (const [method, operation] of Object.entries(methods)) {
    if (operation && typeof operation === 'object' && typeof operation.operationId === 'string') {
      operations.set(operation.operationId, { path: p, method, operation });
    }
  }
}

const cache = new Map<string, ValidateFunction>();

function resolveResponse(response: Json): Json {
  const ref = response.$ref as string | undefined;
  if (!ref) return response;
  const name = ref.replace('#/components/responses/', '');
  return ((document.components as Json).responses as Record<string, Json>)[name]!;
}

/** Why `body` does not match the reference's schema for (operationId, status); [] when it does. */
export function contractErrors(operationId: string, status: number, body: unknown): string[] {
  const entry = operations.get(operationId);
  if (!entry) return [`no operation ${operationId} in the reference`];
  const responses = entry.operation.responses as Record<string, Json>;
  const declared = responses[String(status)] ?? responses.default;
  if (!declared)
    return [
      `${operationId}: status ${status} is not declared (declared: ${Object.keys(responses).join(', ')})`,
    ];
  const response = resolveResponse(declared);
  const schema = ((response.content as Json | undefined)?.['application/json'] as Json | undefined)?.schema;
  if (!schema) return []; // no body schema declared
  const key = `${operationId}:${status}`;
  let validate = cache.get(key);
  if (!validate) {
    const rewritten = JSON.parse(
      JSON.stringify(toJsonSchema(schema)).replaceAll('"#/components/', '"reference#/components/'),
    );
    validate = ajv.compile(rewritten);
    cache.set(key, validate);
  }
  if (validate(body)) return [];
  return (validate.errors ?? [])
    .slice(0, 10)
    .map((e) => `${operationId} ${status}: ${e.instancePath || '/'} ${e.message}`);
}

export const referenceOperations = (): string[] => [...operations.keys()];
