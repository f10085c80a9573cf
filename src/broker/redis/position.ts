import type { CatchUp } from './catchUp.js';
import type { RedisDriver } from './client.js';
import { LiveEvent } from './hub.js';
import type { HubListener, PubSubHub } from './hub.js';
import type { ChannelKeys } from './keys.js';
import { positionScript } from './scripts.js';

/** Channels whose position one tick reads at most; with more, the next ticks take the rest in turn. */
export const MAX_CHANNELS_PER_TICK = 1_000;
/** setInterval's longest delay; a longer finite interval is refused (Node would run it every 1 ms). */
const MAX_INTERVAL_MS = 2_147_483_647;

export interface PositionCheckConfig {
  readonly driver: RedisDriver;
  readonly hub: PubSubHub;
  /** 0 or Infinity: no check. */
  readonly intervalMs: number;
  /** The Redis keys of a pub/sub channel that has local subscribers. */
  readonly keysOf: (pubsub: string) => ChannelKeys | undefined;
  /** Reads the events after `since` (the catch-up script). */
  readonly read: (keys: ChannelKeys, since: number) => Promise<CatchUp>;
}

/** Checks `positionCheckIntervalMs`: a number of milliseconds, 0 or Infinity (off). */
export function checkPositionInterval(ms: number): number {
  if (typeof ms !== 'number' || Number.isNaN(ms) || ms < 0 || (Number.isFinite(ms) && ms > MAX_INTERVAL_MS)) {
    throw new RangeError(`trpc-lanyard/broker: positionCheckIntervalMs must be 0, Infinity or 1..${MAX_INTERVAL_MS} ms`);
  }
  return ms;
}

/**
 * The periodic position check (PUB/SUB is at-most-once): one timer per broker; each tick reads the meta of
 * the channels this node has live streams of (one small read-only script per channel, sent together), and
 * when a channel's top offset is ahead of what a local stream applied, reads the missing events ONCE for the
 * channel and hands them to its streams as if they had come live (duplicates are dropped, a jump makes a
 * stream re-read as usual). Another epoch (or the meta gone) makes the stream re-read, which finds the gap.
 */
export class PositionCheck {
  readonly #config: PositionCheckConfig;
  readonly #timer: NodeJS.Timeout | null = null;
  #running = false;
  #closed = false;
  /** Where the next tick starts when there are more channels than one tick reads. */
  #start = 0;

  constructor(config: PositionCheckConfig) {
    this.#config = config;
    const ms = config.intervalMs;
    if (ms > 0 && Number.isFinite(ms)) {
      this.#timer = setInterval(() => void this.tick(), ms);
      this.#timer.unref();
    }
  }

  close(): void {
    this.#closed = true;
    if (this.#timer) clearInterval(this.#timer);
  }

  /** One check of (up to MAX_CHANNELS_PER_TICK) channels; a tick still running makes the next one a no-op. */
  async tick(): Promise<void> {
    if (this.#running || this.#closed) return;
    this.#running = true;
    try {
      await Promise.all(this.#batch().map(([pubsub, listeners]) => this.#check(pubsub, listeners).catch(() => {})));
    } finally {
      this.#running = false;
    }
  }

  #batch(): [string, ReadonlySet<HubListener>][] {
    const all = [...this.#config.hub.channels()];
    if (all.length <= MAX_CHANNELS_PER_TICK) return all;
    const start = this.#start % all.length;
    this.#start = start + MAX_CHANNELS_PER_TICK;
    const batch = all.slice(start, start + MAX_CHANNELS_PER_TICK);
    return batch.concat(all.slice(0, MAX_CHANNELS_PER_TICK - batch.length));
  }

  async #check(pubsub: string, listeners: ReadonlySet<HubListener>): Promise<void> {
    const keys = this.#config.keysOf(pubsub);
    if (!keys) return;
    const reply = await this.#config.driver.runScript(positionScript, [keys.meta], []);
    if (this.#closed || !Array.isArray(reply)) return;
    const [rawEpoch, rawTop] = reply as unknown[];
    const epoch = typeof rawEpoch === 'string' ? rawEpoch : null;
    const top = Number(rawTop);
    const behind: HubListener[] = [];
    let since = Number.POSITIVE_INFINITY;
    for (const listener of listeners) {
      const position = listener.position();
      if (position === null) continue;
      if (position.epoch !== epoch) listener.resync();
      else if (position.offset < top) {
        behind.push(listener);
        since = Math.min(since, position.offset);
      }
    }
    if (behind.length === 0) return;
    const read = await this.#config.read(keys, since);
    if (this.#closed) return;
    const entries = read.entries;
    if (read.epoch !== epoch || entries[0]?.offset !== since + 1 || entries.length !== read.top - since) {
      // Redis can't cover the range in one read (evicted, recoveryLimit): each stream finds out on its own.
      for (const listener of behind) listener.resync();
      return;
    }
    for (const entry of entries) this.#config.hub.deliver(pubsub, new LiveEvent(read.epoch, entry.offset, entry.payload));
  }
}
