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
        resolve(1); // first: the exit must not depend on the log line below being written
        quietly(() => logger.error({ timeoutMs }, 'shutdown timed out; exiting anyway'));
      }, timeoutMs);
      timer.unref();
      (async () => {
        let code = 0;
        for (const step of steps) {
          const started = Date.now();
          try {
            await step.run();
            quietly(() => logger.info({ step: step.name, ms: Date.now() - started }, 'shutdown step done'));
          } catch (err) {
            code = 1;
            quietly(() => logger.error({ err, step: step.name }, 'shutdown step failed'));
          }
        }
        clearTimeout(timer);
        resolve(code);
      })();
    });
    return running;
  };
}

/**
 * How a service ends, whatever ends it: SIGTERM or SIGINT is one info line, then the ordered shutdown and its
 * exit code; an uncaught exception or an unhandled rejection is one fatal line with the error, then the
 * same ordered shutdown (offsets of finished work committed, producers flushed) and exit 1, so the
 * orchestrator restarts a clean process. A second failure during that shutdown is logged, not fatal again.
 */
export function exitOnSignalsAndCrashes(
  logger: Logger,
  shutdown: () => Promise<number>,
  exit: (code: number) => void = (code) => process.exit(code),
): void {
  let ending = false;
  const end = async (code: number | undefined) => {
    const shutdownCode = await shutdown().catch(() => 1);
    exit(code ?? shutdownCode);
  };
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      if (!ending) {
        ending = true;
        void end(undefined);
      }
      quietly(() => logger.info({ signal }, 'shutting down'));
    });
  }
  const crash = (kind: string) => (err: unknown) => {
    if (ending) {
      quietly(() => logger.error({ err, kind }, `${kind} during shutdown`));
      return;
    }
    ending = true;
    void end(1);
    quietly(() => logger.fatal({ err, kind }, `${kind}: shutting down`));
  };
  process.on('uncaughtException', crash('uncaught exception'));
  process.on('unhandledRejection', crash('unhandled rejection'));
  // The end of start-up: from here a stop is ordered (before, SIGTERM ends the process at once, which the
  // delivery guarantees allow: nothing acknowledged is lost, an unfinished message is delivered again).
  quietly(() => logger.info('started; SIGTERM or SIGINT stops it in order'));
}

/**
 * A log line written while the process ends: when it cannot be written (its standard output went away,
 * EPIPE), it is lost; it never stops the shutdown or becomes a crash of its own.
 */
function quietly(log: () => void): void {
  try {
    log();
  } catch {
    // nowhere left to say it
  }
}
