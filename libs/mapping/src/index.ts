export { CompiledMapping, wrapRepeatable } from './engine.js';
export { compileExpression, DEFAULT_LIMITS, ExpressionError, type ExpressionLimits } from './expression.js';
export {
  METER_READING_REASONS,
  METER_READING_REQUIRED_FIELDS,
  METER_READING_SOURCES,
} from './meter-readings.js';
export { DEFAULT_OUTPUT_LIMITS, jsonSize, OutputBudget, type OutputLimits } from './output.js';
export { compileFieldPath, type FieldPath, FieldPathError, resolveField } from './path.js';
export {
  MAX_PAYLOAD_DEPTH,
  PayloadError,
  parsePayload,
  treeDepth,
  XML_ATTRIBUTE_PREFIX,
  XML_TEXT_KEY,
} from './payload.js';
export {
  MappingSandbox,
  type RunHooks,
  type SandboxJob,
  type SandboxOutcome,
  type SandboxSettings,
} from './sandbox.js';
export {
  ConfigurationError,
  failurePath,
  failureWarning,
  MappingBudgetError,
  type SimulationResult,
  simulate,
  simulateInSandbox,
  toSimulationResponse,
} from './simulate.js';
export { normaliseTimestamp } from './timestamp.js';
export type {
  ArrayOperation,
  EntityConfig,
  EntityModeConfig,
  EntityPruneScopeUpdate,
  EntityUpdate,
  FieldConfig,
  InboundConfiguration,
  MappingFailure,
  MappingFailureCode,
  MappingResult,
  MappingSimulationResponse,
  MappingWarning,
  MeterReadingConfig,
  MeterReadingPruneScopeUpdate,
  MeterReadingUpdate,
  PruneScopeConfig,
  RelationConfig,
  RelationItemConfig,
  RelationRefItemConfig,
  RelationRefsConfig,
  RelationUniqueIdField,
} from './types.js';
export { type ConfigurationProblem, validateInboundConfiguration } from './validate.js';
export { arrayOperationOf } from './values.js';
