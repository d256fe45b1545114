// Types of stack.mjs for TypeScript callers (ManagedStack in libs/testing drives the infrastructure through it).
export declare const REPO: string;
export declare const LOCAL: string;
export declare const dirs: { cache: string; data: string; run: string; logs: string };
export declare const KAFKA_NODES: 1 | 3;
export interface KafkaNode {
  id: number;
  /** Its process (pid file, log file): `kafka` alone, `kafka-1`... in the cluster. */
  name: string;
  port: number;
  controllerPort: number;
  securePort: number;
}
export declare function kafkaNodes(): KafkaNode[];
export declare function kafkaBrokers(): string;
export declare function kafkaTopicEnv(): Record<string, string>;
export declare function startKafkaNode(id: number): Promise<string>;
export declare function stopKafkaNode(id: number, options?: { kill?: boolean }): Promise<boolean>;
export declare function stopKafka(): Promise<boolean>;
export declare function moveLeaders(topics: string[]): Promise<string>;
export declare function up(which?: {
  kafka: boolean;
  ferretdb: boolean;
}): Promise<{ kafka: boolean; ferretdb: boolean }>;
export declare function down(which?: { kafka: boolean; ferretdb: boolean }): Promise<void>;
export declare function startKafka(): Promise<string>;
export declare function startFerretdb(): Promise<string>;
/** Our patched FerretDB build (built once into the cache); its path. */
export declare function ferretdbBinary(): string;
export declare function stopProcess(
  name: string,
  graceMs?: number,
  options?: { kill?: boolean },
): Promise<boolean>;
export declare function readPid(name: string): number | undefined;
export declare function kafkaAnswers(port?: number): Promise<boolean>;
export declare function mongoAnswers(port?: number): Promise<boolean>;
export declare function useFreshData(name: string): void;
export declare function sleep(ms: number): Promise<void>;
