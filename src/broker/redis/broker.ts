import { randomBytes } from 'node:crypto';
import { tracked } from '@trpc/server';
import type { TrackedEnvelope } from '@trpc/server';
import { BrokerClosedError } from '../errors.js';
import { formatEventId } from '../eventId.js';
import { parseLastEventId } from '../recovery.js';
import type { Broker, BrokerOptions, PublishOptions, StreamOptions } from '../types.js';
import { resolveBrokerOptions } from '../types.js';
import { readCatchUp } from './catchUp.js';
import type { RedisClientLike } from './client.js';
import { createDriver } from './client.js';
import { encodePayload } from './codec.js';
import { createRedisControlBus } from './control.js';
import { describeDriverError, RedisBrokerError } from './errors.js';
import { Cursor } from './cursor.js';
import { PubSubHub } from './hub.js';
import { channelKeys } from './keys.js';
import type { ChannelKeys } from './keys.js';
import { checkPositionInterval, PositionCheck } from './position.js';
import { publishScript } from './scripts.js';

export { describeDriverError, RedisBrokerError } from './errors.js';

/** Options of {@link createRedisBroker}. */
export interface RedisBrokerOptions extends BrokerOptions {
  /**
   * A connected node-redis client (`await createClient({ url }).connect()`, `redis` v5/v6) or an ioredis
   * instance (v5/v6), standalone or Cluster. It runs the scripts; the broker makes one more connection from it
   * (`duplicate()`) for pub/sub, and closes only that one.
   */
  client: RedisClientLike;
  /**
   * Prefix of every key and pub/sub channel the broker uses (several apps can share one Redis).
   * @default 'lanyard'
   */
  prefix?: string;
  /**
   * How often the broker checks, for the channels this node has live streams of, whether Redis holds events
   * the node never got over pub/sub (which is at-most-once: a message can be lost without the connection
   * dropping). A channel that is ahead is caught up (one read per channel, shared by its local streams);
   * another epoch gives the gap signal. One timer per broker, at most 1 000 channels per tick (the rest
   * in the next ticks). 0 or Infinity: no check (a lost event then shows up only with the channel's next event).
   * @default 10_000 (10 seconds)
   */
  positionCheckIntervalMs?: number;
  /**
   * How often each node reads the control log (revoke, re-authenticate, reconnect) without being woken. A
   * post wakes every node over pub/sub at once; this poll is what delivers a command whose wake was lost,
   * and what notices that the command connection dropped.
   * @default 1_000 (1 second)
   */
  controlPollIntervalMs?: number;
  /**
   * How long this broker's nodes count as alive after their last heartbeat (sent every `nodeTtlMs / 3`,
   * timed by Redis's clock): a cluster-wide call waits for the answers of the nodes alive when it is made, so
   * a node that died is waited for (up to the call's timeout) for at most this long after its death.
   * @default 15_000 (15 seconds)
   */
  nodeTtlMs?: number;
  /**
   * Control commands kept in the log (at least this many: Redis trims whole blocks). A node cut off from Redis
   * while more are posted misses the oldest; it re-checks its sessions against the revocation records when it
   * is back either way.
   * @default 10_000 (commands)
   */
  controlLogLength?: number;
}

/** The defaults of the control options of {@link RedisBrokerOptions}. */
export const redisControlDefaults = {
  controlPollIntervalMs: 1_000,
  nodeTtlMs: 15_000,
  controlLogLength: 10_000,
} as const;

/** A {@link Broker} on Redis, plus an introspection helper. */
export interface RedisBroker extends Broker {
  /** Streams of this node currently reading `channel` (all of them share one Redis subscription). */
  subscriberCount(channel: string): number;
}

/**
 * A broker whose channels live in Redis, so any node can resume any client exactly: per channel a meta hash
 * (epoch, top offset) and a Stream whose entry ids are the offsets, appended and published by one Lua script;
 * live events reach each node over one pub/sub connection, one SUBSCRIBE per channel however many local streams.
 */
export function createRedisBroker(options: RedisBrokerOptions): RedisBroker {
  const {
    client,
    prefix = 'lanyard',
    positionCheckIntervalMs = 10_000,
    controlPollIntervalMs = redisControlDefaults.controlPollIntervalMs,
    nodeTtlMs = redisControlDefaults.nodeTtlMs,
    controlLogLength = redisControlDefaults.controlLogLength,
    ...retention
  } = options;
  if (typeof prefix !== 'string' || prefix.length === 0) {
    throw new TypeError('trpc-lanyard/broker: prefix must be a non-empty string');
  }
  const opts = resolveBrokerOptions(retention);
  const intervalMs = checkPositionInterval(positionCheckIntervalMs);
  checkControlOption('controlPollIntervalMs', controlPollIntervalMs, 2_147_483_647);
  checkControlOption('nodeTtlMs', nodeTtlMs, 2_147_483_647);
  checkControlOption('controlLogLength', controlLogLength, Number.MAX_SAFE_INTEGER);
  const driver = createDriver(client);
  const hub = new PubSubHub(driver);
  const cursors = new Set<Cursor>();
  /** Keys of the channels with local streams, by pub/sub channel (for the position check). */
  const liveKeys = new Map<string, ChannelKeys>();
  const epochPrefix = randomBytes(6).toString('base64url');
  let epochCounter = 0;
  let closed = false;
  const newEpoch = (): string => {
    epochCounter += 1;
    return `${epochPrefix}${epochCounter.toString(36)}`;
  };
  const positionCheck = new PositionCheck({
    driver,
    hub,
    intervalMs,
    keysOf: (pubsub) => liveKeys.get(pubsub),
    read: (keys, since) => readCatchUp(driver, keys, since, opts.recoveryLimit, newEpoch(), opts.metaTtlMs),
  });

  async function publish(channel: string, data: unknown, publishOptions?: PublishOptions): Promise<string> {
    if (closed) throw new BrokerClosedError();
    checkChannel(channel);
    const keys = channelKeys(prefix, channel);
    const payload = encodePayload(data);
    const key = publishOptions?.idempotencyKey;
    const scriptKeys = key === undefined ? [keys.meta, keys.stream] : [keys.meta, keys.stream, keys.idempotency(key)];
    const args = [
      payload,
      String(opts.historySize),
      String(opts.historyTtlMs),
      String(opts.metaTtlMs),
      newEpoch(),
      keys.pubsub,
      String(opts.idempotencyWindowMs),
    ];
    if (!driver.ready()) throw new RedisBrokerError(`Redis is not connected: publish to "${channel}" failed`);
    let reply: unknown;
    try {
      reply = await driver.runScript(publishScript, scriptKeys, args);
    } catch (error) {
      throw new RedisBrokerError(`publish to "${channel}" failed: ${describeDriverError(error)}`, error);
    }
    const [epoch, offset] = Array.isArray(reply) ? (reply as unknown[]) : [];
    if (typeof epoch !== 'string' || !Number.isSafeInteger(Number(offset))) {
      throw new RedisBrokerError(`publish to "${channel}" got an unexpected reply`);
    }
    return formatEventId(epoch, Number(offset));
  }

  async function* stream<TData, TSnapshot>(
    channel: string,
    streamOptions: StreamOptions<TSnapshot> = {},
  ): AsyncGenerator<TrackedEnvelope<TData | TSnapshot>, void, undefined> {
    const { signal, onGap } = streamOptions;
    const from = parseLastEventId(streamOptions.lastEventId);
    if (closed) throw new BrokerClosedError();
    checkChannel(channel);
    if (signal?.aborted) return;
    const keys = channelKeys(prefix, channel);
    const cursor = new Cursor(
      {
        channel,
        read: (since) => readCatchUp(driver, keys, since, opts.recoveryLimit, newEpoch(), opts.metaTtlMs),
        recoveryLimit: opts.recoveryLimit,
        maxQueued: opts.historySize,
        hasGapHook: onGap !== undefined,
      },
      from,
    );
    const onAbort = (): void => cursor.stop();
    signal?.addEventListener('abort', onAbort, { once: true });
    cursors.add(cursor);
    liveKeys.set(keys.pubsub, keys);
    try {
      subscribeThenRead(hub, keys.pubsub, cursor);
      for (;;) {
        const item = await cursor.next();
        if (item === null) {
          if (closed && !signal?.aborted) throw new BrokerClosedError();
          return;
        }
        if (item.kind === 'event') yield item.envelope as TrackedEnvelope<TData>;
        else if (item.kind === 'gap') {
          const snapshot = await (onGap as NonNullable<typeof onGap>)(item.gap);
          yield tracked(item.gap.position, snapshot);
        } else throw item.error;
      }
    } finally {
      cursor.stop();
      cursors.delete(cursor);
      hub.remove(keys.pubsub, cursor);
      if (hub.listenerCount(keys.pubsub) === 0) liveKeys.delete(keys.pubsub);
      signal?.removeEventListener('abort', onAbort);
    }
  }

  const control = createRedisControlBus({ driver, hub, prefix, pollIntervalMs: controlPollIntervalMs, nodeTtlMs, logLength: controlLogLength });
  return {
    publish,
    stream,
    control,
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      positionCheck.close();
      for (const cursor of cursors) cursor.fail(new BrokerClosedError());
      await control.close();
      hub.close();
    },
    subscriberCount: (channel) => hub.listenerCount(channelKeys(prefix, channel).pubsub),
  };
}

/** Subscribes the cursor to the channel's live events, then starts its first read; retries a failed SUBSCRIBE. */
function subscribeThenRead(hub: PubSubHub, pubsub: string, cursor: Cursor, retryMs = 50): void {
  hub.add(pubsub, cursor).then(
    () => cursor.start(),
    () => {
      hub.remove(pubsub, cursor);
      cursor.later(() => subscribeThenRead(hub, pubsub, cursor, Math.min(retryMs * 2, 2_000)), retryMs);
    },
  );
}

function checkChannel(channel: string): void {
  if (typeof channel !== 'string' || channel.length === 0) {
    throw new TypeError('trpc-lanyard/broker: channel must be a non-empty string');
  }
}

/** Checks a control option: a positive integer no larger than `max`. */
function checkControlOption(name: string, value: number, max: number): void {
  if (!Number.isSafeInteger(value) || value < 1 || value > max) {
    throw new RangeError(`trpc-lanyard/broker: ${name} must be a positive integer no larger than ${max}, got ${String(value)}`);
  }
}
