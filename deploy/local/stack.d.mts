// Types of stack.mjs for TypeScript callers (ManagedStack in libs/testing drives the infrastructure through it).
export declare const REPO: string;
export declare const LOCAL: string;
export declare const dirs: { cache: string; data: string; run: string; logs: string };
export declare function up(): Promise<{ kafka: boolean; ferretdb: boolean }>;
export declare function down(which?: { kafka: boolean; ferretdb: boolean }): Promise<void>;
export declare function startKafka(): Promise<string>;
export declare function startFerretdb(): Promise<string>;
export declare function stopProcess(name: 'kafka' | 'ferretdb', graceMs?: number): Promise<boolean>;
export declare function readPid(name: 'kafka' | 'ferretdb'): number | undefined;
export declare function kafkaAnswers(port?: number): Promise<boolean>;
export declare function mongoAnswers(port?: number): Promise<boolean>;
export declare function useFreshData(name: string): void;
export declare function sleep(ms: number): Promise<void>;
