import { signToken } from '@hub/http';
import { seededRandom } from '@hub/testing';
import { createTarget } from './api.js';
import { noisyNeighbour } from './noisy.js';
import { ProcessedWatch } from './processed.js';

const auth = {
  secret: 'local-development-secret-change-me-0123456789',
  issuer: 'erp-hub-local',
  audience: 'erp-integration-hub',
};
const baseUrl = 'http://127.0.0.1:30800';
const runId = `scratch-${Date.now().toString(36)}`;
const victim = await createTarget(baseUrl, auth, `${runId}-victim`, true);
const org = `${runId}-attacker`;
const watch = await ProcessedWatch.start(['127.0.0.1:30900']);
const r = await noisyNeighbour({
  baseUrl,
  brokers: ['127.0.0.1:30900'],
  victim,
  attacker: { org, token: signToken({ ...auth, orgId: org, expiresInSeconds: 3600 }) },
  watch,
  sizes: { victim: { batch: 10, everyMs: 250, quietMs: 8_000, attackMs: 20_000 }, slowEvents: 60 },
  random: seededRandom(1),
  runId,
  timeoutMs: 180_000,
  log: (m) => console.error(new Date().toISOString(), m),
});
console.log(JSON.stringify(r, null, 1));
await watch.stop();
process.exit(0);
