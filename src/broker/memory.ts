import { randomBytes } from 'node:crypto';
import type { TrackedEnvelope } from '@trpc/server';
import { ChannelLog } from './channelLog.js';
import { createMemoryControlBus } from './control/memory.js';
import { BrokerClosedError } from './errors.js';
import type { StreamSource } from './memoryStream.js';
import { MemoryStream } from './memoryStream.js';
import type { Broker, BrokerOptions, PublishOptions, StreamOptions } from './types.js';
import { resolveBrokerOptions } from './types.js';

/** The memory broker: a {@link Broker} for one process, plus an introspection helper. */
export interface MemoryBroker extends Broker {
  /** Streams currently reading `channel` (for metrics and leak tests). */
  subscriberCount(channel: string): number;
  /**
   * Drops `channel`'s history, meta and idempotency keys, as a store losing them would: its
   * readers get an `epoch` history gap (or their `onGap` snapshot) at once, and its next event
   * starts a new epoch. For resetting a channel, and for tests of the gap path.
   */
  forget(channel: string): void;
  /** Channels this broker holds (history, meta or readers): bounded by use, for metrics and leak tests. */
  channelCount(): number;
}

const NO_OPTIONS: StreamOptions<never> = Object.freeze({});

/** Longest pause between sweeps of idle channels and expired idempotency keys. */
const MAX_SWEEP_INTERVAL_MS = 60_000;

/**
 * A broker that keeps each channel's recent history in this process's memory: the embedded
 * default for one node, tests and `npm start`. Every instance has its own epochs, so ids from
 * another process (or an earlier one) resume as a history gap, never as silent loss.
 */
export function createMemoryBroker(options?: BrokerOptions): MemoryBroker {
  const opts = resolveBrokerOptions(options);
  const channels = new Map<string, ChannelLog>();
  const epochPrefix = randomBytes(6).toString('base64url');
  let epochCounter = 0;
  const control = createMemoryControlBus();
  let closed = false;

  const sweep = (): void => {
    const now = Date.now();
    for (const [name, log] of channels) {
      log.evict(now, opts.historyTtlMs);
      log.pruneIdempotency(now, opts.idempotencyWindowMs);
      if (log.subscribers === 0 && (log.top === 0 || now - log.lastUsedMs >= opts.metaTtlMs)) channels.delete(name);
    }
  };
  const sweeper = setInterval(sweep, Math.min(opts.historyTtlMs, MAX_SWEEP_INTERVAL_MS));
  sweeper.unref();

  const channelFor = (name: string, now: number): ChannelLog => {
    checkChannel(name);
    const existing = channels.get(name);
    if (existing !== undefined && (existing.subscribers > 0 || now - existing.lastUsedMs < opts.metaTtlMs)) {
      return existing;
    }
    epochCounter += 1;
    const log = new ChannelLog(`${epochPrefix}${epochCounter.toString(36)}`, opts.historySize, now);
    channels.set(name, log);
    return log;
  };

  const source: StreamSource = {
    get closed() {
      return closed;
    },
    historyTtlMs: opts.historyTtlMs,
    recoveryLimit: opts.recoveryLimit,
    logFor: channelFor,
    left(channel, log) {
      // A channel nobody published to holds nothing worth keeping: forget it with its last reader,
      // so subscribing to many names leaves no trace (its next use starts a new epoch: a gap at worst).
      if (log.subscribers === 0 && log.top === 0 && channels.get(channel) === log) channels.delete(channel);
    },
  };
  const stream = <TData, TSnapshot>(channel: string, streamOptions?: StreamOptions<TSnapshot>): AsyncIterableIterator<TrackedEnvelope<TData | TSnapshot>> =>
    new MemoryStream<TData | TSnapshot>(source, channel, (streamOptions ?? NO_OPTIONS) as StreamOptions<unknown>);

  return {
    publish(channel: string, data: unknown, publishOptions?: PublishOptions): Promise<string> {
      if (closed) return Promise.reject(new BrokerClosedError());
      try {
        const now = Date.now();
        const log = channelFor(channel, now);
        const key = publishOptions?.idempotencyKey;
        if (key !== undefined) {
          const earlier = log.idempotentId(key, now, opts.idempotencyWindowMs);
          if (earlier !== undefined) return Promise.resolve(earlier);
        }
        return Promise.resolve(log.append(data, now, key));
      } catch (error) {
        return Promise.reject(error);
      }
    },
    stream,
    control,
    close(): Promise<void> {
      if (closed) return Promise.resolve();
      closed = true;
      clearInterval(sweeper);
      control.close();
      for (const log of channels.values()) log.wakeAll();
      return Promise.resolve();
    },
    forget(channel: string): void {
      const log = channels.get(channel);
      if (log === undefined) return;
      channels.delete(channel);
      log.retired = true;
      log.wakeAll();
    },
    channelCount(): number {
      return channels.size;
    },
    subscriberCount(channel: string): number {
      return channels.get(channel)?.subscribers ?? 0;
    },
  };
}

function checkChannel(channel: string): void {
  if (typeof channel !== 'string' || channel.length === 0) {
    throw new TypeError('trpc-lanyard/broker: channel must be a non-empty string');
  }
}
