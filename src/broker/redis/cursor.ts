import { tracked } from '@trpc/server';
import type { TrackedEnvelope } from '@trpc/server';
import { formatEventId } from '../eventId.js';
import type { EventPosition } from '../eventId.js';
import { HistoryGapError } from '../errors.js';
import { resumeGap } from '../recovery.js';
import type { HistoryGap, HistoryGapReason } from '../types.js';
import { decodePayload } from './codec.js';
import type { HubListener, LiveEvent } from './hub.js';
import type { CatchUp } from './catchUp.js';

/** What a stream hands its consumer next. */
export type CursorItem =
  | { readonly kind: 'event'; readonly envelope: TrackedEnvelope<unknown>; readonly epoch: string; readonly offset: number }
  | { readonly kind: 'gap'; readonly gap: HistoryGap; readonly epoch: string; readonly offset: number }
  | { readonly kind: 'fail'; readonly error: unknown };

export interface CursorConfig {
  readonly channel: string;
  /** Reads the channel's position and the events after `since` (-1: position only). Rejects when Redis is down. */
  readonly read: (since: number) => Promise<CatchUp>;
  readonly recoveryLimit: number;
  /** Live events queued for a slow consumer before the cursor drops them and re-reads from Redis. */
  readonly maxQueued: number;
  /** Whether a gap is handed to the stream's `onGap` hook (else the stream fails with HistoryGapError). */
  readonly hasGapHook: boolean;
}

const RETRY_MIN_MS = 50;
const RETRY_MAX_MS = 2_000;

/**
 * One stream's position in a channel, fed by the node's pub/sub hub and by catch-up reads.
 *
 * Subscribe-then-read: live events that arrive while a read is running are buffered, then merged after the
 * read's entries by offset (lower or equal: a duplicate, dropped). On the live path an offset jump or another
 * epoch means events were missed: the cursor re-reads the range from Redis, and when Redis can't cover it,
 * it emits a gap (never part of the range). A read that fails (Redis down) is retried with backoff.
 */
export class Cursor implements HubListener {
  readonly #config: CursorConfig;
  /** Position of the last event queued for the consumer; epoch null until the first read. */
  #epoch: string | null;
  #offset: number;
  /** Position of the last item the consumer took, where a re-read starts after a queue overflow. */
  #taken: EventPosition | null;
  /** Live events are buffered, not applied, while true: from creation until the first read is merged. */
  #syncing = true;
  /** A read loop is running (never two at once). */
  #running = false;
  #again = false;
  #buffer: LiveEvent[] = [];
  #queue: (CursorItem | undefined)[] = [];
  #head = 0;
  #wake: (() => void) | null = null;
  #retryTimer: NodeJS.Timeout | null = null;
  #stopped = false;

  constructor(config: CursorConfig, from: EventPosition | null) {
    this.#config = config;
    this.#epoch = from?.epoch ?? null;
    this.#offset = from?.offset ?? 0;
    this.#taken = from;
  }

  /** Runs `fn` after `ms` unless the cursor stops first (one pending retry at a time). */
  later(fn: () => void, ms: number): void {
    if (this.#stopped) return;
    if (this.#retryTimer) clearTimeout(this.#retryTimer);
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = null;
      fn();
    }, ms);
  }

  /** Starts the first read; call once the channel's SUBSCRIBE is acknowledged. */
  start(): void {
    if (!this.#running) this.#beginSync();
  }

  live(event: LiveEvent): void {
    if (this.#stopped) return;
    if (this.#syncing) {
      this.#buffer.push(event);
      // The read after this one covers anything dropped here (or finds the gap).
      if (this.#buffer.length > this.#config.maxQueued) this.#buffer.shift();
      return;
    }
    if (!this.#apply(event)) {
      this.#buffer = [event];
      this.#beginSync();
    }
  }

  resync(): void {
    if (this.#stopped) return;
    if (this.#syncing) this.#again = true;
    else this.#beginSync();
  }

  position(): EventPosition | null {
    if (this.#stopped || this.#syncing || this.#epoch === null) return null;
    return { epoch: this.#epoch, offset: this.#offset };
  }

  /** Ends the cursor with an item delivered after everything already queued. */
  fail(error: unknown): void {
    if (this.#stopped) return;
    this.#push({ kind: 'fail', error });
    this.stop();
  }

  stop(): void {
    this.#stopped = true;
    this.#buffer = [];
    if (this.#retryTimer) clearTimeout(this.#retryTimer);
    this.#retryTimer = null;
    this.#notify();
  }

  /** The next item, or null once the cursor is stopped and drained. Wakes on `stop()`/`interrupt()`. */
  async next(): Promise<CursorItem | null> {
    for (;;) {
      const item = this.#queue[this.#head];
      if (item !== undefined) {
        this.#queue[this.#head] = undefined;
        this.#head += 1;
        if (this.#head === this.#queue.length) {
          this.#queue = [];
          this.#head = 0;
        }
        if (item.kind !== 'fail') this.#taken = { epoch: item.epoch, offset: item.offset };
        return item;
      }
      if (this.#stopped) return null;
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
      });
    }
  }

  /** Wakes a pending `next()` (e.g. on abort) without an item; the caller checks why. */
  interrupt(): void {
    this.#notify();
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = null;
    wake?.();
  }

  #push(item: CursorItem): void {
    this.#queue.push(item);
    this.#notify();
  }

  /** Queues a live event when it is the next one; false when events were missed (a re-read is needed). */
  #apply(event: LiveEvent): boolean {
    if (event.epoch === this.#epoch) {
      if (event.offset <= this.#offset) return true;
      if (event.offset === this.#offset + 1) {
        if (this.#queue.length - this.#head >= this.#config.maxQueued) return this.#overflow();
        this.#offset = event.offset;
        this.#push({ kind: 'event', envelope: event.envelope, epoch: event.epoch, offset: event.offset });
        return true;
      }
    }
    return false;
  }

  /** The consumer is too slow: forget what it has not taken and re-read from where it is (or find the gap). */
  #overflow(): false {
    this.#queue = [];
    this.#head = 0;
    if (this.#taken) {
      this.#epoch = this.#taken.epoch;
      this.#offset = this.#taken.offset;
    }
    return false;
  }

  #beginSync(): void {
    this.#syncing = true;
    if (this.#running) {
      this.#again = true;
      return;
    }
    this.#running = true;
    this.#again = false;
    void this.#sync(RETRY_MIN_MS);
  }

  /** The read loop: runs until the buffered live events follow the read without a hole (or the cursor stops). */
  async #sync(retryMs: number): Promise<void> {
    for (;;) {
      if (this.#stopped) return;
      this.#again = false;
      let read: CatchUp;
      try {
        read = await this.#config.read(this.#epoch === null ? -1 : this.#offset);
      } catch {
        // Redis is down: keep buffering and try again later (the loop stays 'running' meanwhile).
        this.later(() => void this.#sync(Math.min(retryMs * 2, RETRY_MAX_MS)), retryMs);
        return;
      }
      if (this.#stopped) return;
      if (this.#again) continue;
      if (!this.#merge(read)) return;
      const buffered = this.#buffer;
      this.#buffer = [];
      this.#syncing = false;
      this.#running = false;
      let missed = -1;
      for (let i = 0; i < buffered.length; i += 1) {
        if (!this.#apply(buffered[i] as LiveEvent)) {
          missed = i;
          break;
        }
      }
      if (missed < 0) return;
      this.#syncing = true;
      this.#running = true;
      this.#buffer = buffered.slice(missed);
      retryMs = RETRY_MIN_MS;
    }
  }

  /** Applies a read: queues the missed entries, or a gap. False when the cursor stopped (gap without a hook). */
  #merge(read: CatchUp): boolean {
    if (this.#epoch === null) {
      this.#epoch = read.epoch;
      this.#offset = read.top;
      return true;
    }
    const from = { epoch: this.#epoch, offset: this.#offset };
    const first = read.entries[0]?.offset ?? read.top + 1;
    let reason: HistoryGapReason | null = resumeGap({ epoch: read.epoch, top: read.top, first }, from, this.#config.recoveryLimit);
    if (reason === null && read.entries.length !== read.top - from.offset) reason = 'evicted';
    if (reason !== null) return this.#gap(reason, from, read);
    for (const entry of read.entries) {
      this.#offset = entry.offset;
      const envelope = tracked(formatEventId(read.epoch, entry.offset), decodePayload(entry.payload));
      this.#push({ kind: 'event', envelope, epoch: read.epoch, offset: entry.offset });
    }
    return true;
  }

  #gap(reason: HistoryGapReason, from: EventPosition, read: CatchUp): boolean {
    const lastEventId = formatEventId(from.epoch, from.offset);
    if (!this.#config.hasGapHook) {
      this.fail(new HistoryGapError(reason, lastEventId));
      return false;
    }
    this.#epoch = read.epoch;
    this.#offset = read.top;
    const position = formatEventId(read.epoch, read.top);
    const gap: HistoryGap = { channel: this.#config.channel, reason, lastEventId, position };
    this.#push({ kind: 'gap', gap, epoch: read.epoch, offset: read.top });
    return true;
  }
}
