// What the fault injector answers (pure, no sockets): MongoDB's `failCommand` fail point, an election, the
// replica-set primary it presents, and the error documents MongoDB sends. mongo-injector.ts applies them.
import { type Document, Int32, ObjectId } from 'bson';

/** MongoDB's fail point modes (`configureFailPoint`'s `mode`). */
export type FailPointMode =
  | 'alwaysOn'
  | 'off'
  | { times: number }
  | { skip: number }
  | { activationProbability: number };

/** The `data` of MongoDB's `failCommand` fail point (the fields this injector implements). */
export interface FailCommandData {
  /** Command names, as the first key of the command document (`insert`, `update`, `findAndModify`...). */
  failCommands: string[];
  /** Answer with this error instead of running the command. */
  errorCode?: number;
  /** The error's labels; unset, the labels MongoDB would add (`RetryableWriteError` on a retryable write). */
  errorLabels?: string[];
  /** Run the command, then add this write concern error to its answer. */
  writeConcernError?: {
    code: number;
    codeName?: string;
    errmsg: string;
    errInfo?: Document;
    errorLabels?: string[];
  };
  /** Close the client's connection instead of answering (the command does not run). */
  closeConnection?: boolean;
  /** Hold the command `blockTimeMS` before going on. */
  blockConnection?: boolean;
  blockTimeMS?: number;
  /** Only commands of clients that gave this application name in their handshake. */
  appName?: string;
  /**
   * Only commands on this collection (`insert: 'entities'`...). An extension of this injector: MongoDB's
   * fail point has no such filter, so a test that uses it runs on the injector only.
   */
  collection?: string;
}

export interface FailCommandSpec {
  mode: FailPointMode;
  data?: FailCommandData;
}

/** An election: for `seconds`, the primary is gone. */
export interface ElectionSpec {
  seconds: number;
  /**
   * The error writes get: 10107 NotWritablePrimary (default), 11602 InterruptedDueToReplStateChange,
   * 189 PrimarySteppedDown or 91 ShutdownInProgress. Reads without `secondaryOk` get 13435
   * NotPrimaryNoSecondaryOk, as from a secondary.
   */
  code?: number;
  /**
   * What `hello` says meanwhile: `secondary` (default, as a stepped-down node: drivers wait for a primary)
   * or `primary` (a node that keeps claiming it: every write the driver sends is refused).
   */
  hello?: 'secondary' | 'primary';
}

export const CODE_NAMES: Record<number, string> = {
  6: 'HostUnreachable',
  7: 'HostNotFound',
  50: 'MaxTimeMSExpired',
  64: 'WriteConcernFailed',
  89: 'NetworkTimeout',
  91: 'ShutdownInProgress',
  100: 'UnsatisfiableWriteConcern',
  189: 'PrimarySteppedDown',
  262: 'ExceededTimeLimit',
  9001: 'SocketException',
  10107: 'NotWritablePrimary',
  11000: 'DuplicateKey',
  11600: 'InterruptedAtShutdown',
  11602: 'InterruptedDueToReplStateChange',
  13435: 'NotPrimaryNoSecondaryOk',
  13436: 'NotPrimaryOrSecondary',
};

const MESSAGES: Record<number, string> = {
  91: 'The server is in quiesce mode and will shut down',
  189: 'Primary stepped down while waiting for replication',
  10107: 'not primary',
  11602: 'operation was interrupted because a client disconnected or the node stepped down',
  13435: 'not primary and secondaryOk=false',
};

/** The codes MongoDB labels `RetryableWriteError` on a retryable write (and drivers retry reads on). */
export const RETRYABLE_CODES = new Set([6, 7, 89, 91, 189, 262, 9001, 10107, 11600, 11602, 13435, 13436]);

/** Commands a primary alone accepts: refused during an election. */
export const WRITE_COMMANDS = new Set([
  'insert',
  'update',
  'delete',
  'findAndModify',
  'findandmodify',
  'bulkWrite',
  'create',
  'createIndexes',
  'drop',
  'dropIndexes',
  'dropDatabase',
  'collMod',
  'renameCollection',
]);

/** Reads a secondary refuses without `secondaryOk` (a `$readPreference` other than `primary`). */
export const READ_COMMANDS = new Set([
  'find',
  'aggregate',
  'count',
  'distinct',
  'listIndexes',
  'listCollections',
]);

/** Writes drivers retry (with a `txnNumber`), on which MongoDB adds the `RetryableWriteError` label. */
const RETRYABLE_WRITES = new Set([
  'insert',
  'update',
  'delete',
  'findAndModify',
  'findandmodify',
  'bulkWrite',
]);

export const HELLO_COMMANDS = new Set(['hello', 'isMaster', 'ismaster']);

/** The labels MongoDB puts on an error for this command: `RetryableWriteError` on a retryable write. */
export function serverLabels(code: number, command: string, isRetryableWrite: boolean): string[] {
  return isRetryableWrite && RETRYABLE_WRITES.has(command) && RETRYABLE_CODES.has(code)
    ? ['RetryableWriteError']
    : [];
}

/** A command's error answer, as MongoDB writes it. */
export function errorReply(code: number, labels: string[], errmsg?: string): Document {
  return {
    ok: 0,
    errmsg: errmsg ?? MESSAGES[code] ?? `Failing command via 'failCommand' failpoint`,
    code: new Int32(code),
    codeName: CODE_NAMES[code] ?? 'UnknownError',
    ...(labels.length > 0 ? { errorLabels: labels } : {}),
  };
}

/** A write concern error added to a command's answer (and the labels MongoDB puts on the answer for it). */
export function withWriteConcernError(
  reply: Document,
  wce: NonNullable<FailCommandData['writeConcernError']>,
  command: string,
  isRetryableWrite: boolean,
): Document {
  const { errorLabels, ...error } = wce;
  const labels = errorLabels ?? serverLabels(wce.code, command, isRetryableWrite);
  const out: Document = {
    ...reply,
    writeConcernError: {
      ...error,
      code: new Int32(wce.code),
      codeName: wce.codeName ?? CODE_NAMES[wce.code] ?? 'UnknownError',
    },
  };
  if (labels.length > 0) out.errorLabels = labels;
  return out;
}

/** MongoDB's one `failCommand` fail point: how often it fires, for which commands, counting what it did. */
export class FailPoint {
  private spec: FailCommandSpec = { mode: 'off' };
  private remaining = 0;
  private toSkip = 0;
  /** Times it fired since it was last configured. */
  entered = 0;

  constructor(private readonly random: () => number = Math.random) {}

  /** Sets the fail point (what `configureFailPoint` does); returns how often the previous one fired. */
  configure(spec: FailCommandSpec): number {
    const mode = spec.mode;
    if (mode !== 'off' && !spec.data?.failCommands?.length) {
      throw new Error('failCommand: data.failCommands must name at least one command');
    }
    if (typeof mode === 'object' && 'activationProbability' in mode) {
      const p = mode.activationProbability;
      if (!(p >= 0 && p <= 1)) throw new Error(`failCommand: activationProbability ${p} is not within 0..1`);
    }
    const before = this.entered;
    this.spec = spec;
    this.entered = 0;
    this.remaining = typeof mode === 'object' && 'times' in mode ? mode.times : 0;
    this.toSkip = typeof mode === 'object' && 'skip' in mode ? mode.skip : 0;
    return before;
  }

  get active(): boolean {
    const mode = this.spec.mode;
    return mode !== 'off' && !(typeof mode === 'object' && 'times' in mode && this.remaining <= 0);
  }

  /** Whether the fail point fires for this command (and counts it when it does); its data when it does. */
  fire(command: string, appName: string | undefined, collection?: string): FailCommandData | undefined {
    const { mode, data } = this.spec;
    if (mode === 'off' || !data || !data.failCommands.includes(command)) return undefined;
    if (data.appName !== undefined && data.appName !== appName) return undefined;
    if (data.collection !== undefined && data.collection !== collection) return undefined;
    if (typeof mode === 'object') {
      if ('times' in mode) {
        if (this.remaining <= 0) return undefined;
        this.remaining--;
      } else if ('skip' in mode) {
        if (this.toSkip > 0) {
          this.toSkip--;
          return undefined;
        }
      } else if (this.random() >= mode.activationProbability) {
        return undefined;
      }
    }
    this.entered++;
    return data;
  }
}

export interface ReplicaSetIdentity {
  /** `host:port` of the injector: the one member drivers must see. */
  me: string;
  setName: string;
  setVersion: number;
  /** The election term: a new primary (after an election) has a greater `electionId`. */
  term: number;
}

/** `electionId` as MongoDB makes it: 0x7fffffff then the term. */
export function electionId(term: number): ObjectId {
  return new ObjectId(`7fffffff${term.toString(16).padStart(16, '0')}`);
}

/**
 * The server's `hello` (or legacy `isMaster`) answer made that of a replica set's only member: the primary,
 * or (during an election) a secondary with no primary known. Compression is not offered (the injector
 * reads every message).
 */
export function asReplicaSetMember(reply: Document, rs: ReplicaSetIdentity, primary: boolean): Document {
  if (reply.ok !== undefined && Number(reply.ok) !== 1) return reply;
  const {
    compression: _compression,
    isWritablePrimary: _w,
    ismaster: _m,
    secondary: _s,
    primary: _p,
    electionId: _e,
    msg: _msg,
    topologyVersion: _t,
    ...rest
  } = reply;
  const legacy = 'ismaster' in reply;
  return {
    ...rest,
    [legacy ? 'ismaster' : 'isWritablePrimary']: primary,
    secondary: !primary,
    setName: rs.setName,
    setVersion: new Int32(rs.setVersion),
    hosts: [rs.me],
    me: rs.me,
    ...(primary ? { primary: rs.me, electionId: electionId(rs.term) } : {}),
    logicalSessionTimeoutMinutes: reply.logicalSessionTimeoutMinutes ?? new Int32(30),
  };
}
