import type { Logger } from '@hub/observability';

export interface ShutdownStep {
  name: string;
  run: () => Promise<unknown>;
}

/**
 * Ordered graceful shutdown with a hard timeout: runs each step in order (stop intake, drain, commit,
 * close producers, close Mongo), logs each failure without skipping the rest, and resolves with the
 * exit code. Past `timeoutMs` it resolves with 1 so the caller exits even if a step hangs.
 */
export function installShutdown(
  logger: Logger,
  steps: ShutdownStep[],
  timeoutMs: number,
): () => Promise<number> {
  let running: Promise<number> | undefined;
  return () => {
    running ??= new Promise<number>((resolve) => {
      const timer = setTimeout(() => {
        logger.error({ timeoutMs }, 'shutdown timed out; exiting anyway');
        resolve(1);
      }, timeoutMs);
      timer.unref();
      (async () => {
        let code = 0;
        for (const step of steps) {
          const started = Date.now();
          try {
            await step.run();
            logger.info({ step: step.name, ms: Date.now() - started }, 'shutdown step done');
          } catch (err) {
            code = 1;
            logger.error({ err, step: step.name }, 'shutdown step failed');
          }
        }
        clearTimeout(timer);
        resolve(code);
      })();
    });
    return running;
  };
}
