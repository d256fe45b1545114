import { createRequire } from 'node:module';
import { MongoNetworkError } from 'mongodb';

/**
 * A fix for a hang in the `mongodb` driver (7.8.0), applied to the driver's connection class at run time
 * because it is the driver's own code (docs/adr/0013, "the wedged client").
 *
 * The hang: `Connection.writeCommand` writes the command and, when `socket.write` returns false, waits for
 * the socket's `drain` event, which it races only against a socket `error`. A socket that Node has already
 * destroyed (a database restart: the peer closed it, and the `close` event, which comes from libuv's close
 * callback, has not been delivered yet) takes the write without an `error` and never drains. The wait
 * never ends: the connection's own clean-up on `close` rejects only a pending read, and its socket timeout
 * is gone with the socket. When the waiting command is the server monitor's heartbeat, the monitor stops
 * for good: the server stays "Unknown", every operation fails server selection, and only a new client
 * recovers (what the services' watchdog did by exiting; seen in the chaos test after database restarts,
 * with the monitor's last phase recorded as "drain wait on a destroyed socket").
 *
 * The fix: a write to a destroyed socket fails at once, and the drain wait also ends when the socket
 * closes, both with the `MongoNetworkError` a closed connection gives elsewhere, so the driver's usual
 * handling applies (server marked unknown, pool cleared, retryable operations retried, the monitor's next
 * check reconnects). Nothing else of the driver changes.
 */
// biome-ignore lint/suspicious/noExplicitAny: the driver's internal connection class has no public types
type DriverConnection = any;

const PATCHED = Symbol.for('erp-hub.mongo.writeCommandPatch');

/** Where the driver's connection class lives (`mongodb/lib/cmap/connection.js`); undefined if moved. */
function connectionClass(): { prototype: Record<string | symbol, unknown> } | undefined {
  try {
    const require = createRequire(import.meta.url);
    const mod = require('mongodb/lib/cmap/connection.js') as { Connection?: { prototype: object } };
    return mod.Connection as { prototype: Record<string | symbol, unknown> } | undefined;
  } catch {
    return undefined;
  }
}

/**
 * Applies the fix once per process. Returns whether it is in place: false means the driver's shape changed
 * (an upgrade); `MongoStore.connect` logs that, and the watchdog remains the safety net.
 */
export function patchDriverWrites(): boolean {
  const Connection = connectionClass();
  const proto = Connection?.prototype;
  if (!proto || typeof proto.writeCommand !== 'function') return false;
  if (proto[PATCHED]) return true;
  const original = proto.writeCommand as (this: DriverConnection, ...args: unknown[]) => Promise<void>;
  proto.writeCommand = async function writeCommand(this: DriverConnection, ...args: unknown[]) {
    const socket = this.socket;
    const closedError = () => new MongoNetworkError(`connection ${this.id} to ${this.address} closed`);
    if (!socket || socket.destroyed) throw closedError();
    let onClose: (() => void) | undefined;
    const closed = new Promise<never>((_, reject) => {
      onClose = () => reject(closedError());
      socket.once('close', onClose);
    });
    try {
      return await Promise.race([original.apply(this, args), closed]);
    } finally {
      socket.off('close', onClose!);
    }
  };
  proto[PATCHED] = true;
  return true;
}

/** Whether `patchDriverWrites` is in place (for the start-up line and tests). */
export function driverWritesPatched(): boolean {
  return connectionClass()?.prototype[PATCHED] === true;
}
