export {
  encodeValue,
  fromHeaders,
  KafkaClient,
  type KafkaSettings,
  MAX_MESSAGE_BYTES,
  MessageProducer,
  type OutgoingMessage,
  PRODUCER_RETRIES,
  type TopicSpec,
  type TopicsMode,
  TopicsNotReadyError,
} from './client.js';
export { type KafkaConnection, type KafkaConnectionEnv, kafkaConnectionFrom } from './connection.js';
export {
  BATCH_FETCH,
  type BatchContext,
  type BatchYield,
  BrokerUnavailableError,
  type ConsumerHealth,
  ConsumerRunner,
  type ConsumerSettings,
  type DeadLetterForm,
  type IncomingMessage,
  isBrokerUnavailable,
  type MessageHandler,
  MONITORING_FETCH,
  PermanentError,
  recordRefusal,
} from './consumer.js';
export { measureLag, partitionLag } from './instrumentation.js';
export { type MirroredView, mirrorInto, TopicMirror, type TopicMirrorSettings } from './mirror.js';
export { runTopicsCommand, TopicsCommandEnv } from './provision.js';
export { partitionOfKey, type ScanSettings, scanTopic, TopicScanner } from './scan.js';
export {
  plannedTopics,
  prepareOwnTopics,
  type TopicEnv,
  type TopicPlanSettings,
  topicPlan,
} from './topics.js';
