export {
  type AsyncApiOptions,
  buildAsyncApi,
  type JsonSchema,
  type TopicContract,
  topicContracts,
} from './asyncapi.js';
export { attributeNameProblem, RESERVED_ATTRIBUTES, uniqueIdValueProblem } from './attributes.js';
export {
  type ChangeKind,
  checkPublished,
  compareContracts,
  compareSchemas,
  type PublishedCheck,
  type SchemaChange,
  snapshotFile,
} from './compatibility.js';
export { ConfigView, type ConfigViewOptions, type IntegrationSnapshot } from './config-view.js';
export {
  type DeadLetterOptions,
  deadLetterMonitoringRecord,
  deadLetterRecord,
  type FailedMessage,
  MAX_DEAD_LETTER_BYTES,
  MAX_ERROR_MESSAGE_CHARS,
} from './dead-letter.js';
export { decodeMessage, MessageSchemaError } from './decode.js';
export {
  IntegrationRecord,
  SUPPORTED_USE_CASE_TYPES,
  USE_CASE_TYPES,
  UseCaseRecord,
  type UseCaseType,
} from './domain.js';
export { canonicalJson, entityKey } from './entity-key.js';
export { decodeEntityUpdatesMessage } from './entity-updates.js';
export { CONTAINER_BYTES, decodedOverhead, heldBytes, jsonBytes, VALUE_BYTES } from './held-bytes.js';
export { newEventId, ulid } from './ids.js';
export {
  ConfigChangeMessage,
  DeadLetterMessage,
  EntityMode,
  EntityUniqueIdsRef,
  EntityUpdateMessage,
  EntityUpdatesTopicMessage,
  ErrorCategory,
  InboundEventMessage,
  MeterReadingPruneScopeMessage,
  MeterReadingUpdateMessage,
  ProcessedEntityMessage,
  PruneScopeUpdateMessage,
  RoutedBy,
  UseCaseQuarantineMessage,
} from './messages.js';
export {
  MAX_RECORD_LIST_ITEMS,
  MAX_RECORD_TEXT_CHARS,
  MonitoringCategory,
  MonitoringLevel,
  MonitoringRecord,
  MonitoringStage,
  monitoringCategory,
  monitoringMessage,
  monitoringRecord,
  monitoringRecordId,
  nameUuid,
  type RecordInput,
  truncateText,
} from './monitoring.js';
export { QuarantineView, quarantineKey } from './quarantine-view.js';
export { type RouteTarget, routeEvent } from './routing.js';
export { readSnapshots, SNAPSHOT_DIR } from './snapshots.js';
export { ConfigHeaders, Headers, ParkedHeaders, type TopicName, Topics } from './topics.js';
