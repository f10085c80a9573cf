import { randomUUID } from 'node:crypto';
import type { ControlBus, ControlReply, RevocationRecord } from '../control/types.js';
import { BrokerClosedError } from '../errors.js';
import type { RedisDriver } from './client.js';
import { decodeRecord, decodeReply, encodeEnvelope, encodeRecord } from './controlCodec.js';
import { ControlReader } from './controlReader.js';
import { describeDriverError, RedisBrokerError } from './errors.js';
import type { PubSubHub, RawListener } from './hub.js';
import { controlKeys } from './keys.js';
import { controlHeartbeatScript, controlNodesScript, controlPostScript } from './scripts.js';

/** Keys one MGET of revocation records asks for at most. */
export const MGET_CHUNK = 500;
/** The control log expires this long after the last post, so a prefix no longer used leaves nothing behind. */
const LOG_TTL_MS = 86_400_000;
/**
 * The longest `post` waits for the SUBSCRIBE of its replies' channel. Without it (the pub/sub connection
 * down) the command is posted anyway: its delivery must not depend on hearing the answers.
 */
const REPLY_SUBSCRIBE_WAIT_MS = 2_000;
/** The longest `close` waits for Redis to forget this bus's nodes. */
const LEAVE_WAIT_MS = 1_000;

export interface RedisControlConfig {
  readonly driver: RedisDriver;
  readonly hub: PubSubHub;
  readonly prefix: string;
  readonly pollIntervalMs: number;
  readonly nodeTtlMs: number;
  readonly logLength: number;
}

/** A control bus and the way its broker closes it. */
export type RedisControlBus = ControlBus & { close(): Promise<void> };

/** Resolves true when `promise` settled (either way) within `ms`, false otherwise. */
function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    const done = (): void => {
      clearTimeout(timer);
      resolve(true);
    };
    promise.then(done, done);
  });
}

/**
 * The control bus on Redis (see `ControlKeys` for the names).
 *
 * - `post`: one script XADDs the envelope to the log (trimmed to about `logLength`) and PUBLISHes a wake.
 *   It first makes sure this bus is subscribed to its replies' channel, so a reply can't beat the SUBSCRIBE.
 * - Nodes: each joined node has a {@link ControlReader}; they read on every wake, every `pollIntervalMs`
 *   (the wake is at-most-once pub/sub; the log is the truth), and after the pub/sub connection came back.
 * - Liveness: a heartbeat every `nodeTtlMs / 3` scores each joined node with the time its liveness expires
 *   (Redis's clock plus this broker's `nodeTtlMs`); `nodes()` lists the unexpired ones, by the same clock, so
 *   nodes' clocks don't matter and each node's own `nodeTtlMs` applies to it.
 * - Records: one string per key with a PX TTL, read with MGET (the keys share a hash tag: one slot).
 */
export function createRedisControlBus(config: RedisControlConfig): RedisControlBus {
  const { driver, hub, pollIntervalMs, nodeTtlMs, logLength } = config;
  const keys = controlKeys(config.prefix);
  const id = randomUUID();
  const readers = new Set<ControlReader>();
  const replyListeners = new Set<(reply: ControlReply) => void>();
  let closed = false;
  let pollTimer: NodeJS.Timeout | null = null;
  let heartbeatTimer: NodeJS.Timeout | null = null;
  let replies: Promise<void> | null = null;
  let wake: Promise<void> | null = null;

  const ctx = { driver, keys, pubsubUp: () => hub.connected() };
  const scheduleAll = (): void => {
    for (const reader of readers) reader.schedule();
  };

  const wakeListener: RawListener = {
    message: scheduleAll,
    resync: () => {
      for (const reader of readers) reader.markLost();
      scheduleAll();
    },
  };
  const replyListener: RawListener = {
    message(text) {
      const reply = decodeReply(text);
      if (reply === null) return;
      for (const listener of [...replyListeners]) listener(reply);
    },
    resync: () => {},
  };

  /** Subscribes to the wake channel (again, after a failure); a read follows the acknowledgement. */
  const ensureWake = (): void => {
    if (wake !== null || closed || readers.size === 0) return;
    const subscribing = hub.addRaw(keys.wake, wakeListener);
    wake = subscribing;
    subscribing.then(scheduleAll, () => {
      if (wake === subscribing) wake = null;
    });
  };
  const ensureReplies = (): Promise<void> => {
    if (closed) return Promise.resolve();
    if (replies === null) {
      const subscribing = hub.addRaw(keys.replies(id), replyListener);
      replies = subscribing;
      subscribing.catch(() => {
        if (replies === subscribing) replies = null;
      });
    }
    return replies;
  };

  const heartbeat = (): void => {
    if (closed || readers.size === 0 || !driver.ready()) return;
    const ids = [...readers].map((reader) => reader.node.id);
    driver.runScript(controlHeartbeatScript, [keys.nodes], [String(nodeTtlMs), ...ids]).catch(() => {});
  };
  let down = false;
  const poll = (): void => {
    if (!driver.ready()) {
      down = true;
      for (const reader of readers) reader.markLost();
      return;
    }
    if (down) heartbeat(); // back: show signs of life at once, not at the next heartbeat
    down = false;
    ensureWake();
    scheduleAll();
  };
  const startTimers = (): void => {
    if (pollTimer !== null) return;
    pollTimer = setInterval(poll, pollIntervalMs);
    pollTimer.unref();
    heartbeatTimer = setInterval(heartbeat, Math.max(1, Math.floor(nodeTtlMs / 3)));
    heartbeatTimer.unref();
  };
  const stopTimers = (): void => {
    if (pollTimer !== null) clearInterval(pollTimer);
    if (heartbeatTimer !== null) clearInterval(heartbeatTimer);
    pollTimer = heartbeatTimer = null;
  };
  /** ZREMs in flight: close waits for them, so a node that left is unlisted once its broker closed. */
  const forgetting = new Set<Promise<unknown>>();
  const forget = (nodeIds: readonly string[]): void => {
    if (nodeIds.length === 0 || !driver.ready()) return;
    const done = driver.command(['ZREM', keys.nodes, ...nodeIds], keys.nodes).catch(() => {});
    forgetting.add(done);
    void done.then(() => forgetting.delete(done));
  };

  /** Runs a command for a public method: RedisBrokerError when Redis is not connected or fails. */
  const run = async (what: string, send: () => Promise<unknown>): Promise<unknown> => {
    if (closed) throw new BrokerClosedError();
    if (!driver.ready()) throw new RedisBrokerError(`Redis is not connected: ${what} failed`);
    try {
      return await send();
    } catch (error) {
      throw new RedisBrokerError(`${what} failed: ${describeDriverError(error)}`, error);
    }
  };

  return {
    id,
    async writeRevocation(record: RevocationRecord, ttlMs: number) {
      if (!(ttlMs > 0) || !Number.isFinite(ttlMs)) throw new RangeError(`trpc-lanyard/broker: a revocation's ttlMs must be a positive number, got ${String(ttlMs)}`);
      const args = ['SET', keys.revocation(record.key), encodeRecord(record), 'PX', String(Math.ceil(ttlMs))];
      await run('writing a revocation record', () => driver.command(args, args[1]));
    },
    async liftRevocation(key) {
      const reply = await run('lifting a revocation record', () => driver.command(['DEL', keys.revocation(key)], keys.revocation(key)));
      return Number(reply) > 0;
    },
    async readRevocations(requested) {
      const unique = [...new Set(requested)];
      const found: RevocationRecord[] = [];
      for (let i = 0; i < unique.length; i += MGET_CHUNK) {
        const chunk = unique.slice(i, i + MGET_CHUNK);
        const names = chunk.map((key) => keys.revocation(key));
        const reply = await run('reading revocation records', () => driver.command(['MGET', ...names], names[0]));
        const values = Array.isArray(reply) ? (reply as unknown[]) : [];
        chunk.forEach((key, index) => {
          const record = decodeRecord(key, values[index]);
          if (record !== null) found.push(record);
        });
      }
      return found;
    },
    async post(envelope) {
      if (closed) throw new BrokerClosedError();
      const json = encodeEnvelope(envelope);
      await settlesWithin(ensureReplies(), REPLY_SUBSCRIBE_WAIT_MS);
      await run('posting a control command', () =>
        driver.runScript(controlPostScript, [keys.log], [json, String(logLength), keys.wake, String(LOG_TTL_MS)]),
      );
    },
    async nodes() {
      const reply = await run('listing the nodes', () => driver.runScript(controlNodesScript, [keys.nodes], []));
      return Array.isArray(reply) ? (reply as unknown[]).filter((node): node is string => typeof node === 'string') : [];
    },
    join(node) {
      if (closed) throw new BrokerClosedError();
      const reader = new ControlReader(ctx, node);
      readers.add(reader);
      heartbeat();
      ensureWake();
      startTimers();
      reader.schedule();
      let left = false;
      return {
        leave() {
          if (left) return;
          left = true;
          reader.stop();
          readers.delete(reader);
          forget([node.id]);
          if (readers.size > 0 || closed) return;
          stopTimers();
          if (wake !== null) hub.removeRaw(keys.wake, wakeListener);
          wake = null;
        },
      };
    },
    onReply(listener) {
      replyListeners.add(listener);
      ensureReplies().catch(() => {});
      return () => void replyListeners.delete(listener);
    },
    async close() {
      if (closed) return;
      closed = true;
      stopTimers();
      const nodeIds = [...readers].map((reader) => reader.node.id);
      for (const reader of readers) reader.stop();
      readers.clear();
      replyListeners.clear();
      if (wake !== null) hub.removeRaw(keys.wake, wakeListener);
      if (replies !== null) hub.removeRaw(keys.replies(id), replyListener);
      wake = replies = null;
      forget(nodeIds);
      await settlesWithin(Promise.all(forgetting), LEAVE_WAIT_MS);
    },
  };
}
