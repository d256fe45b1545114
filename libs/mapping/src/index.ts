export { CompiledMapping, wrapRepeatable } from './engine.js';
export { compileExpression, DEFAULT_LIMITS, ExpressionError, type ExpressionLimits } from './expression.js';
export { FieldPathError, resolveField } from './path.js';
export { PayloadError, parsePayload, XML_ATTRIBUTE_PREFIX, XML_TEXT_KEY } from './payload.js';
export type {
  EntityConfig,
  EntityModeConfig,
  EntityUpdate,
  FieldConfig,
  InboundConfiguration,
  MappingFailure,
  MappingResult,
  MappingWarning,
} from './types.js';
export { type ConfigurationProblem, validateInboundConfiguration } from './validate.js';
