export { collectTopic, type TopicCollector } from './collector.js';
export { eventually } from './eventually.js';
export { type ApiClient, apiClient } from './http.js';
export { killInstances, type ServiceInstance, spawnInstance, startInstance } from './instance.js';
export { KafkaProxy } from './kafka-proxy.js';
export {
  ManagedStack,
  type ManagedStackOptions,
  type ServiceName,
  type StackPorts,
  sumSeries,
} from './managed-stack.js';
export {
  type CollectionCounts,
  type CommandListener,
  type CommandTiming,
  commandsOf,
  countsBetween,
  emptyCounts,
  MongoCountingProxy,
  OVERHEAD_COMMANDS,
  WireCounter,
  type WireCounts,
  written,
} from './mongo-counter.js';
export {
  CODE_NAMES,
  type ElectionSpec,
  type FailCommandData,
  type FailCommandSpec,
  type FailPointMode,
} from './mongo-faults.js';
export {
  type InjectorStats,
  type JournalEntry,
  MongoFaultInjector,
  type MongoFaultInjectorOptions,
  type SeenCommand,
} from './mongo-injector.js';
export { type OrgWithUseCase, orgWithUseCase } from './org.js';
export { seededRandom } from './random.js';
export { devEnv, resolveStack, type StackEndpoints, testToken, uniqueName } from './stack.js';
