import { tracked } from '@trpc/server';
import type { TrackedEnvelope } from '@trpc/server';
import { formatEventId } from './eventId.js';

/** One retained event; its envelope is built once and shared by every subscriber. */
export interface LogEntry {
  readonly offset: number;
  readonly atMs: number;
  readonly envelope: TrackedEnvelope<unknown>;
}

/** A stream waiting on a {@link ChannelLog} for its next event. */
export interface LogReader {
  /** Called once per {@link ChannelLog.park}: at the next append, or when the log is closing or forgotten. */
  wake(): void;
}

/**
 * One channel of the memory broker: its epoch, contiguous offsets, a ring of the last
 * `capacity` events, the idempotency keys of its window, and the wake-up list of the streams
 * waiting for its next event (one list per channel, however many subscribers).
 */
export class ChannelLog {
  /** Offset of the newest event; 0 before the first. */
  top = 0;
  /** Offset of the oldest retained event (`top + 1` when none is retained). */
  first = 1;
  /** Set when the broker forgot this channel; its readers move to the channel's next log. */
  retired = false;
  /** Streams currently reading this channel. */
  subscribers = 0;
  lastUsedMs: number;
  private readonly ring: (LogEntry | undefined)[];
  private readonly waiters = new Set<LogReader>();
  private readonly idempotency = new Map<string, { readonly id: string; readonly atMs: number }>();

  constructor(
    readonly epoch: string,
    private readonly capacity: number,
    nowMs: number,
  ) {
    this.ring = new Array<LogEntry | undefined>(capacity);
    this.lastUsedMs = nowMs;
  }

  /** Appends an event and wakes the waiting streams; returns its id. */
  append(data: unknown, nowMs: number, idempotencyKey: string | undefined): string {
    const offset = this.top + 1;
    const id = formatEventId(this.epoch, offset);
    this.ring[offset % this.capacity] = { offset, atMs: nowMs, envelope: tracked(id, data) };
    this.top = offset;
    this.first = Math.max(this.first, offset - this.capacity + 1);
    this.lastUsedMs = nowMs;
    if (idempotencyKey !== undefined) this.idempotency.set(idempotencyKey, { id, atMs: nowMs });
    if (this.waiters.size > 0) {
      const woken = [...this.waiters];
      this.waiters.clear();
      for (const reader of woken) reader.wake();
    }
    return id;
  }

  /** The id a publish with this key got within the window, if any. */
  idempotentId(key: string, nowMs: number, windowMs: number): string | undefined {
    this.pruneIdempotency(nowMs, windowMs);
    return this.idempotency.get(key)?.id;
  }

  /** Drops keys older than the window; the map is in publish order, so this stops early. */
  pruneIdempotency(nowMs: number, windowMs: number): void {
    for (const [key, record] of this.idempotency) {
      if (nowMs - record.atMs < windowMs) break;
      this.idempotency.delete(key);
    }
  }

  /** Forgets events older than `ttlMs`. */
  evict(nowMs: number, ttlMs: number): void {
    while (this.first <= this.top) {
      const slot = this.first % this.capacity;
      const entry = this.ring[slot];
      if (entry !== undefined && entry.offset === this.first && nowMs - entry.atMs < ttlMs) return;
      this.ring[slot] = undefined;
      this.first += 1;
    }
  }

  /** The retained event at `offset` (callers check `first <= offset <= top`). */
  entryAt(offset: number): LogEntry | undefined {
    const entry = this.ring[offset % this.capacity];
    return entry?.offset === offset ? entry : undefined;
  }

  /** Wakes `reader` once, at the next append (or `wakeAll`). */
  park(reader: LogReader): void {
    this.waiters.add(reader);
  }

  /** Forgets a parked reader that stopped waiting. */
  unpark(reader: LogReader): void {
    this.waiters.delete(reader);
  }

  /** Wakes every waiting stream (the broker is closing, or forgot the channel). */
  wakeAll(): void {
    const woken = [...this.waiters];
    this.waiters.clear();
    for (const reader of woken) reader.wake();
  }

  get waiterCount(): number {
    return this.waiters.size;
  }
}
