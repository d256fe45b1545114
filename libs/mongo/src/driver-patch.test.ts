// The driver fix of driver-patch.ts, through the real driver against the test stack's database (reached
// through the fault injector of libs/testing, which can close a connection on a chosen command).
//
// The race it closes, reproduced on purpose: the server monitor's connection has been destroyed by Node
// (the database closed it) but its `close` event is not delivered yet, and the monitor's heartbeat is
// written to it in that window. Unpatched, that heartbeat waits for ever, the monitor never runs again,
// and once an operation's network error marks the server unknown, nothing marks it known again: every
// operation fails server selection until the process restarts (the "wedged client" of the chaos test).
import { createLogger } from '@hub/observability';
import { eventually, MongoFaultInjector, resolveStack } from '@hub/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { driverWritesPatched, MongoStore } from './index.js';

const stack = resolveStack();
let injector: MongoFaultInjector;
let store: MongoStore;

beforeAll(async () => {
  const url = new URL(stack.mongoUrl);
  injector = await MongoFaultInjector.start({ upstream: url.host });
  store = await MongoStore.connect({
    url: injector.url('hub_driver_patch_test'),
    logger: createLogger({ service: 'driver-patch-test', level: 'silent' }),
    appName: 'driver-patch-test',
  });
});
afterAll(async () => {
  await store?.close();
  await injector?.close();
});

// biome-ignore lint/suspicious/noExplicitAny: the driver's monitor is internal
function monitorOf(s: MongoStore): any {
  // biome-ignore lint/suspicious/noExplicitAny: the driver's topology is internal
  const servers: Map<string, any> = (s.client as any).topology.s.servers;
  return [...servers.values()][0].monitor;
}

describe('a heartbeat written to a connection the database just closed', () => {
  it('fails at once, so the monitor reconnects and the client recovers from a network error', async () => {
    expect(driverWritesPatched()).toBe(true);
    await store.ping();
    const monitor = monitorOf(store);
    // The monitor idle, with its connection open, long enough after its last check that a requested
    // check runs at once (the driver spaces checks at least 500 ms apart).
    await eventually(
      async () =>
        monitor.connection && !monitor.connection.closed && !monitor.monitorId.isExecutionInProgress
          ? true
          : undefined,
      20_000,
      'the monitor idle with an open connection',
    );
    await new Promise((r) => setTimeout(r, 1_000));

    // The race: the socket destroyed, its `close` not delivered yet, and a heartbeat written now.
    monitor.connection.socket.destroy();
    monitor.requestCheck();

    // An operation's connection closed by the server: the driver marks the server unknown and only the
    // monitor can mark it known again.
    injector.failCommand({
      mode: { times: 1 },
      data: { failCommands: ['find'], closeConnection: true, appName: 'driver-patch-test' },
    });
    const docs = store.collection<{ _id: string }>('docs');
    await expect(docs.findOne({ _id: 'x' })).rejects.toThrow();

    // Recovered: the monitor's stuck heartbeat failed at once, its next check reconnected.
    await eventually(
      () =>
        docs.findOne({ _id: 'x' }).then(
          () => true,
          () => undefined,
        ),
      30_000,
      'an operation to succeed again',
    );
    expect(monitor.monitorId.isExecutionInProgress).toBe(false);
  }, 60_000);
});
