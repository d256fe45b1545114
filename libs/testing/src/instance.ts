import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { eventually } from './eventually.js';
import { devEnv, type StackEndpoints } from './stack.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

export interface ServiceInstance {
  child: ChildProcess;
  /** `http://127.0.0.1:<port>` */
  base: string;
  /** The body of its first 200 `/readyz`. */
  ready: Record<string, unknown>;
  /** Its last 4,000 characters of output. */
  output(): string;
  /** SIGTERM, and its exit code. */
  stop(): Promise<number | null>;
}

/** Instances started by `startInstance` that are still running (an `afterAll` kills them). */
export const runningInstances = new Set<ChildProcess>();

/**
 * One more instance of a service (its built `dist/main.js`) with the test stack's configuration, `env` over
 * it; resolves when its `/readyz` answers 200.
 */
export async function startInstance(
  stack: StackEndpoints,
  service: string,
  port: number,
  env: Record<string, string>,
): Promise<ServiceInstance> {
  const child = spawnInstance(stack, service, port, env);
  const base = `http://127.0.0.1:${port}`;
  const ready = await eventually(
    async () => {
      const res = await fetch(`${base}/readyz`).catch(() => undefined);
      return res?.ok ? ((await res.json()) as Record<string, unknown>) : undefined;
    },
    60_000,
    `${service} on ${port} ready (its last output: ${child.output()})`,
  );
  return {
    child,
    base,
    ready,
    output: child.output,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve(child.exitCode);
        child.once('exit', (code) => resolve(code));
        child.kill('SIGTERM');
      }),
  };
}

/** Starts an instance without waiting for it (e.g. one that must refuse to start); see `startInstance`. */
export function spawnInstance(
  stack: StackEndpoints,
  service: string,
  port: number,
  env: Record<string, string>,
): ChildProcess & { output(): string } {
  const child = spawn(process.execPath, [path.join(repoRoot, 'services', service, 'dist/main.js')], {
    env: {
      ...devEnv(),
      ...process.env,
      KAFKA_BROKERS: stack.kafkaBrokers.join(','),
      MONGO_URL: stack.mongoUrl,
      PORT: String(port),
      LOG_LEVEL: 'warn',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  runningInstances.add(child);
  child.once('exit', () => runningInstances.delete(child));
  let output = '';
  for (const stream of [child.stdout, child.stderr])
    stream?.on('data', (chunk) => {
      output = (output + chunk).slice(-4_000);
    });
  return Object.assign(child, { output: () => output });
}

/** Kills every instance still running (for `afterAll`). */
export function killInstances(): void {
  for (const child of runningInstances) child.kill('SIGKILL');
}
