import { CompiledMapping } from './engine.js';
import { DEFAULT_LIMITS, type ExpressionLimits } from './expression.js';
import { PayloadError, parsePayload } from './payload.js';
import type { MappingSandbox } from './sandbox.js';
import type {
  InboundConfiguration,
  MappingFailure,
  MappingResult,
  MappingSimulationResponse,
  MappingWarning,
} from './types.js';
import { type ConfigurationProblem, validateInboundConfiguration } from './validate.js';

/** The configuration given to `simulate` is invalid; `problems` lists each with its path. */
export class ConfigurationError extends Error {
  constructor(readonly problems: ConfigurationProblem[]) {
    super(`invalid mapping configuration: ${problems.map((p) => `${p.path} ${p.message}`).join('; ')}`);
    this.name = 'ConfigurationError';
  }
}

export interface SimulationResult {
  /** Exactly the reference `MappingSimulationResponse` (what `simulateMappingV2` answers with). */
  response: MappingSimulationResponse;
  /** Updates that could not be produced, each with its code, configuration index and message. */
  failures: MappingFailure[];
}

/**
 * Maps one payload with a configuration that has not been saved: validates the configuration (throws
 * ConfigurationError), parses the payload (throws PayloadError), compiles and maps it with the same code
 * the mapper runs. Pure: no I/O, no clock, no randomness.
 */
export async function simulate(
  configuration: unknown,
  payload: unknown,
  format: 'json' | 'xml' = 'json',
  limits: ExpressionLimits = DEFAULT_LIMITS,
): Promise<SimulationResult> {
  const problems = validateInboundConfiguration(configuration);
  if (problems.length > 0) throw new ConfigurationError(problems);
  const tree = parsePayload(format, payload);
  const result = await CompiledMapping.compile(configuration as InboundConfiguration, limits).map(tree);
  return { response: toSimulationResponse(result), failures: result.failures };
}

/** A simulation ran past the sandbox's deadline or memory cap (or the sandbox is saturated: `busy`). */
export class MappingBudgetError extends Error {
  constructor(
    message: string,
    readonly busy = false,
  ) {
    super(message);
    this.name = 'MappingBudgetError';
  }
}

/**
 * `simulate` in a sandbox (a worker with a hard deadline and a heap cap): what the config-service runs, so a
 * simulated expression that never yields or eats the heap ends as MappingBudgetError, not as a stuck or
 * dead service. Throws ConfigurationError and PayloadError like `simulate`.
 */
export async function simulateInSandbox(
  sandbox: MappingSandbox,
  configuration: unknown,
  payload: unknown,
  format: 'json' | 'xml' = 'json',
  /** Whose simulation (an organisation id): the sandbox takes each organisation's jobs in turn. */
  tenant?: string,
): Promise<SimulationResult> {
  const outcome = await sandbox.run({ configuration, validate: true, format, payload, tenant });
  switch (outcome.kind) {
    case 'result':
      return { response: toSimulationResponse(outcome.result), failures: outcome.result.failures };
    case 'configuration':
      throw new ConfigurationError(outcome.problems ?? [{ path: 'configuration', message: outcome.message }]);
    case 'payload':
      throw new PayloadError(outcome.message);
    case 'budget':
      throw new MappingBudgetError(outcome.message);
    case 'busy':
      throw new MappingBudgetError(outcome.message, true);
    default:
      throw new Error(`simulation failed: ${'message' in outcome ? outcome.message : outcome.kind}`);
  }
}

/** Projects a mapping result onto exactly the reference `MappingSimulationResponse` (drops extensions). */
export function toSimulationResponse(result: MappingResult): MappingSimulationResponse {
  return {
    entity_updates: result.entity_updates.map((u) => ({
      entity_slug: u.entity_slug,
      unique_identifiers: u.unique_identifiers,
      attributes: u.attributes,
      mode: u.mode,
    })),
    meter_readings_updates: result.meter_readings_updates.map((u) => ({
      meter: u.meter,
      ...(u.meter_counter ? { meter_counter: u.meter_counter } : {}),
      attributes: u.attributes,
      mode: u.mode,
    })),
    prune_scope_updates: result.prune_scope_updates,
    meter_readings_prune_scope_updates: result.meter_readings_prune_scope_updates,
    // A simulation says what it dropped (issue 20): every failure is a warning too.
    warnings: [...result.warnings, ...result.failures.map(failureWarning)],
  };
}

/** Where a failure is in the configuration: `entities[0]`, `meter_readings[1]`. */
export const failurePath = (f: MappingFailure) => `${f.section}[${f.entity_index}]`;

/**
 * A failure as a reference `MappingSimulationWarning`: `field` is the attribute (or the configuration entry
 * when no attribute is to blame), `message` names the path, the element, the code and the reason.
 */
export function failureWarning(f: MappingFailure): MappingWarning {
  const element = f.element_index === undefined ? '' : ` (element ${f.element_index})`;
  const what =
    f.code === 'PRUNE_SCOPE_SKIPPED' || f.code === 'PRUNE_SCOPE_INVALID' ? 'prune scope' : 'update';
  return {
    entity_schema: f.entity_schema,
    field: f.attribute ?? failurePath(f),
    message: `${failurePath(f)}${element}: ${what} dropped, ${f.code}: ${f.message}`,
  };
}
