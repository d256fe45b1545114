#!/usr/bin/env node
// `npm test`: every check and test, integration tests on the real stack, then the benchmark's quick form and
// the chaos test's short form.
// Starts Kafka, FerretDB and the services for the run when they are not already up, and stops what it
// started afterwards.
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { down, kafkaAnswers, LOCAL, mongoAnswers, REPO, up, useFreshData } from '../deploy/local/stack.mjs';
import { containerRuntimeProblem, containersUp } from './lib/containers.mjs';
import { onImageNode } from './lib/node-runtime.mjs';
import { isReady, SERVICES, stackEnv, startServices } from './lib/services.mjs';
import { build, devEnv, ensureInstalled } from './lib/setup.mjs';
import { summary } from './lib/test-summary.mjs';

// The images' Node for this script and everything it starts (scripts/lib/node-runtime.mjs).
await onImageNode();

const steps = [];
/**
 * Runs one step and resolves with its exit code. Never synchronously: while the tests run, this process
 * also reads the services' output (startServices), and a service blocks once its output pipe is full
 * (its log lines are written as they are logged).
 */
const step = (name, cmd, args, env = process.env) =>
  new Promise((resolve) => {
    process.stderr.write(`\n[test] ${name}: ${cmd} ${args.join(' ')}\n`);
    const started = Date.now();
    const child = spawn(cmd, args, { cwd: REPO, stdio: 'inherit', env });
    const done = (code) => {
      steps.push({ name, code, seconds: (Date.now() - started) / 1000 });
      resolve(code);
    };
    child.once('error', () => done(1));
    child.once('exit', (code) => done(code ?? 1));
  });
// The test runner's counts, read back from its JSON report for the summary at the very end (a CI log shows
// its tail; the runner's own summary is far above the fuzzer's, the benchmark's and the chaos test's output).
const VITEST_REPORT = path.join(LOCAL, 'test-results/vitest.json');
rmSync(VITEST_REPORT, { force: true });
const finish = (code) => {
  process.stdout.write(`\n${summary(steps, VITEST_REPORT, code)}\n`);
  process.exit(code);
};

ensureInstalled();
// Asked for containers without a container runtime: stop at once, naming why (never a silent fallback).
if (process.env.HUB_INFRA === 'containers') {
  const problem = await containerRuntimeProblem();
  if (problem) {
    process.stderr.write(
      `[test] HUB_INFRA=containers needs a Docker engine, and none answers here: ${problem}. Unset HUB_INFRA to run on the local stack.\n`,
    );
    process.exit(1);
  }
}
build();
let code = await step('lint', 'npx', ['biome', 'check', '.']);
if (code === 0)
  code = await step('typecheck', 'npx', ['turbo', 'run', 'typecheck', '--output-logs=errors-only']);
if (code !== 0) finish(code);

const env = stackEnv(devEnv());
// Infrastructure: the local stack (Kafka from Maven Central, FerretDB from the Go proxy), or, with
// HUB_INFRA=containers, the real Kafka image and a MongoDB replica set through testcontainers: without a
// Docker engine that stops here, naming why, rather than testing something else than was asked for.
const useContainers = process.env.HUB_INFRA === 'containers';
let containers;
if (useContainers) {
  try {
    containers = await containersUp({
      kafkaPort: Number(process.env.KAFKA_PORT ?? 9092),
      mongoPort: Number(process.env.MONGO_PORT ?? 27017),
    });
  } catch (err) {
    process.stderr.write(`[test] ${err.message}\n`);
    finish(1);
  }
}
if (!useContainers && !(await kafkaAnswers()) && !(await mongoAnswers())) useFreshData('test-data');
const infra = useContainers ? { kafka: false, ferretdb: false } : await up();
let services;
try {
  const edgeUp = await isReady(SERVICES.at(-1).port);
  if (!edgeUp) {
    process.stderr.write('[test] starting the services for this run\n');
    services = startServices(env);
    await services.waitReady();
  } else {
    process.stderr.write('[test] reusing the services already running\n');
  }
  const reporters = ['--reporter=default', '--reporter=json', `--outputFile.json=${VITEST_REPORT}`];
  code = await step('tests', 'npx', ['vitest', 'run', '--config', 'vitest.all.config.ts', ...reporters], {
    ...process.env,
    ...env,
    ...containers?.env,
    HUB_BASE_URL: env.HUB_BASE_URL,
  });
} catch (err) {
  process.stderr.write(`[test] ${err.message}\n`);
  code = 1;
} finally {
  await services?.stop();
  await containers?.stop();
  await down(infra);
}
// The API fuzzer's quick form (issue 10): Schemathesis against our /openapi.json on a stack of its own; fails
// on any finding that tests/fuzz/baseline.json does not record as deliberate. `npm run fuzz` is the long form.
if (code === 0)
  code = await step('API fuzzing, quick form', 'npx', ['tsx', 'tests/fuzz/src/main.ts', '--quick']);
// The benchmark's quick form (issue 11), on a stack of its own: fails when it could not run or measure every
// figure, never on a speed. `npm run bench` is the long form.
if (code === 0)
  code = await step('benchmark, quick form', 'npx', ['tsx', 'tests/bench/src/main.ts', '--quick']);
// The chaos test's short form (issue 5), on a stack of its own: SIGKILLs and restarts services, the broker
// and the database under load, then fails on any lost or duplicated change. `npm run chaos` is the long form.
if (code === 0)
  code = await step('chaos test, short form', 'npx', ['tsx', 'tests/chaos/src/main.ts', '--short']);
finish(code);
