// The load of a profiling run (issue 22): against a running stack (`npm start`, its services started with
// `HUB_NODE_ARGS="--cpu-prof --cpu-prof-dir=<dir>"`), four organisations as the benchmark makes them, v3
// requests of 100 events, 4 in flight, for DURATION_MS (default 40 s), then until every accepted event is
// processed (at most 90 s). Environment: HUB_BASE_URL, KAFKA_BROKERS, AUTH_JWT_SECRET/ISSUER/AUDIENCE.
// Prints the accepted and processed counts; stop the stack afterwards to have the profiles written, and
// summarise them with `node tests/bench/profile-summary.mjs <dir>`.

import { seededRandom } from '@hub/testing';
import { createTarget } from './api.js';
import { closedLoop, Sender } from './end-to-end.js';
import { ProcessedWatch } from './processed.js';

const env = (name: string) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
};
const base = env('HUB_BASE_URL');
const auth = {
  secret: env('AUTH_JWT_SECRET'),
  issuer: env('AUTH_JWT_ISSUER'),
  audience: env('AUTH_JWT_AUDIENCE'),
};
const run = `profile-${Date.now()}`;
const targets = await Promise.all(
  [0, 1, 2, 3].map((i) => createTarget(base, auth, `${run}-org${i}`, i !== 3)),
);
await new Promise((r) => setTimeout(r, 3_000)); // the configuration reaches the gateway and the mapper
const watch = await ProcessedWatch.start(env('KAFKA_BROKERS').split(','), { fromBeginning: false });
const sender = new Sender(base, targets, 200, seededRandom(Number(process.env.SEED ?? 22)), run);
await closedLoop(sender, 1, 2_000); // warm-up
const started = Date.now();
const tally = await closedLoop(sender, 4, Number(process.env.DURATION_MS ?? 40_000));
const loaded = Date.now();
const accepted = [...tally.sentAt.keys()];
const done = () => accepted.filter((id) => watch.arrivals.has(id)).length;
while (done() < accepted.length && Date.now() < loaded + 90_000) await new Promise((r) => setTimeout(r, 500));
const drained = Date.now();
await watch.stop();
console.log(
  JSON.stringify({
    startedAt: new Date(started).toISOString(),
    loadSeconds: (loaded - started) / 1000,
    drainedSeconds: (drained - started) / 1000,
    accepted: accepted.length,
    processed: done(),
    answers: tally.events,
    refused: tally.refused,
  }),
);
process.exit(0);
