// A process that crashes the way a service can (argv[2]: `throw` or `reject`), with the services' crash handling.
import { createLogger } from '@hub/observability';
import { exitOnSignalsAndCrashes, installShutdown } from '../src/index.js';

const logger = createLogger({ service: 'crash-fixture', level: 'info' });
const shutdown = installShutdown(
  logger,
  [{ name: 'commit offsets', run: async () => new Promise((r) => setTimeout(r, 50)) }],
  5_000,
);
exitOnSignalsAndCrashes(logger, shutdown);
setTimeout(() => {
  if (process.argv[2] === 'throw') throw new Error('boom from a timer');
  void Promise.reject(new Error('boom from a promise'));
}, 50);
setInterval(() => {}, 1_000); // alive until the crash
