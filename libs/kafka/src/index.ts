export {
  encodeValue,
  fromHeaders,
  KafkaClient,
  type KafkaSettings,
  MessageProducer,
  type OutgoingMessage,
  type TopicSpec,
} from './client.js';
export {
  type ConsumerHealth,
  ConsumerRunner,
  type ConsumerSettings,
  type IncomingMessage,
  type MessageHandler,
  PermanentError,
} from './consumer.js';
export { measureLag, partitionLag } from './instrumentation.js';
export { TopicMirror, type TopicMirrorSettings } from './mirror.js';
export { type ScanSettings, scanTopic } from './scan.js';
