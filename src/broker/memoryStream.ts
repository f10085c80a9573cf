import { tracked } from '@trpc/server';
import type { TrackedEnvelope } from '@trpc/server';
import type { ChannelLog, LogReader } from './channelLog.js';
import { BrokerClosedError, HistoryGapError } from './errors.js';
import { formatEventId } from './eventId.js';
import { parseLastEventId, resumeGap } from './recovery.js';
import type { HistoryGapReason, StreamOptions } from './types.js';

/** What a {@link MemoryStream} needs from its broker. */
export interface StreamSource {
  readonly closed: boolean;
  readonly historyTtlMs: number;
  readonly recoveryLimit: number;
  /** The channel's current log, made if need be; throws on a bad channel name. */
  logFor(channel: string, nowMs: number): ChannelLog;
  /** A stream stopped reading `log`: the broker may forget a channel that holds nothing. */
  left(channel: string, log: ChannelLog): void;
}

type Step<T> = IteratorResult<TrackedEnvelope<T>, void>;
/** Settles one `next()`; a failure is passed as a rejected promise, so no reject function is kept. */
type Resolve<T> = (step: Step<T> | Promise<never>) => void;

const DONE: IteratorReturnResult<void> = Object.freeze({ done: true, value: undefined });

/**
 * One `broker.stream()` of the memory broker, written as a plain async iterator rather than an
 * async generator so that a stream waiting for its next event holds only this object and the
 * promise its reader awaits: no generator frame, no wake-up closure, no abort closure (the
 * stream is its own abort listener). It behaves as the generator did: nothing happens before
 * the first `next()`; errors (a malformed id, a gap without `onGap`, a closed broker) reject a
 * `next()` and end the stream; abort and `return()` end it and release its channel at once, even
 * while it waits.
 */
export class MemoryStream<T> implements AsyncIterableIterator<TrackedEnvelope<T>>, LogReader {
  /** The log read from, once the first `next()` subscribed. */
  private log: ChannelLog | null = null;
  /** Offset of the last event delivered (or skipped past). */
  private cursor = 0;
  private ended = false;
  /** A snapshot from `onGap` is being awaited: the answer waits for it. */
  private snapshotting = false;
  /** The oldest unanswered `next()`; later ones wait in `queued`. */
  private resolve: Resolve<T> | null = null;
  private queued: Array<Resolve<T>> | null = null;

  constructor(
    private readonly source: StreamSource,
    private readonly channel: string,
    private readonly options: StreamOptions<unknown>,
  ) {}

  [Symbol.asyncIterator](): this {
    return this;
  }

  next(): Promise<Step<T>> {
    if (this.ended && this.resolve === null) return Promise.resolve(DONE);
    return new Promise<Step<T>>((resolve) => {
      if (this.resolve === null) {
        this.resolve = resolve;
        this.pump();
      } else {
        (this.queued ??= []).push(resolve);
      }
    });
  }

  return(): Promise<IteratorReturnResult<void>> {
    this.end();
    return Promise.resolve(DONE);
  }

  throw(cause: unknown): Promise<never> {
    this.end();
    return Promise.reject(cause);
  }

  /** LogReader: the log this stream waits on has a new event (or is closing, or was forgotten). */
  wake(): void {
    this.pump();
  }

  /** The signal aborted (the stream listens with itself): end now, even while waiting. */
  handleEvent(): void {
    this.end();
  }

  /** Answers waiting `next()` calls for as long as there are events (or an ending) to answer with. */
  private pump(): void {
    while (this.resolve !== null && !this.snapshotting) {
      let step: Step<T> | Promise<Step<T>> | null;
      try {
        step = this.advance();
      } catch (cause) {
        this.release();
        this.settle(null, cause);
        continue;
      }
      if (step === null) return; // parked on the log: `wake` pumps again
      if (step instanceof Promise) {
        this.snapshotting = true;
        step.then(
          (snapshot) => {
            this.snapshotting = false;
            this.settle(snapshot, undefined);
            this.pump();
          },
          (cause: unknown) => {
            this.snapshotting = false;
            this.release();
            this.settle(null, cause);
            this.pump();
          },
        );
        return;
      }
      this.settle(step, undefined);
    }
  }

  /** The next step: an event, the end, a snapshot being made, or null after parking on the log. Throws to fail the stream. */
  private advance(): Step<T> | Promise<Step<T>> | null {
    if (this.ended) return DONE;
    const { signal } = this.options;
    let log = this.log;
    if (log === null) {
      const from = parseLastEventId(this.options.lastEventId);
      if (this.source.closed) throw new BrokerClosedError();
      if (signal?.aborted) {
        this.ended = true;
        return DONE;
      }
      log = this.source.logFor(this.channel, Date.now());
      this.log = log;
      log.subscribers += 1;
      signal?.addEventListener('abort', this, { once: true });
      this.cursor = log.top;
      if (from !== null) {
        log.evict(Date.now(), this.source.historyTtlMs);
        const reason = resumeGap(log, from, this.source.recoveryLimit);
        if (reason !== null) return this.gap(reason, this.options.lastEventId as string);
        this.cursor = from.offset;
      }
    }
    if (signal?.aborted) {
      this.release();
      return DONE;
    }
    if (this.source.closed) throw new BrokerClosedError();
    if (log.retired) {
      // The channel was forgotten under this reader: its history is gone, a new epoch starts.
      const lost = formatEventId(log.epoch, this.cursor);
      log.subscribers -= 1;
      log = this.source.logFor(this.channel, Date.now());
      this.log = log;
      log.subscribers += 1;
      return this.gap('epoch', lost);
    }
    if (this.cursor < log.top) {
      // No TTL check per event: an event still in the ring may be delivered a little past its
      // TTL (the window is a floor); one overwritten by newer ones is the gap below.
      const entry = log.entryAt(this.cursor + 1);
      if (entry === undefined) return this.gap('evicted', formatEventId(log.epoch, this.cursor)); // fell behind the history
      this.cursor = entry.offset;
      return { done: false, value: entry.envelope as TrackedEnvelope<T> };
    }
    log.park(this);
    return null;
  }

  /** A history gap: the `onGap` snapshot at the channel's newest event, from which the stream goes on live; without `onGap`, the stream fails. */
  private gap(reason: HistoryGapReason, lastEventId: string): Step<T> | Promise<Step<T>> {
    const { onGap } = this.options;
    if (onGap === undefined) throw new HistoryGapError(reason, lastEventId);
    const log = this.log as ChannelLog;
    const top = log.top;
    const position = formatEventId(log.epoch, top);
    const snapshot = onGap({ channel: this.channel, reason, lastEventId, position });
    this.cursor = top;
    if (typeof (snapshot as PromiseLike<unknown> | null)?.then !== 'function') {
      return { done: false, value: tracked(position, snapshot) as TrackedEnvelope<T> };
    }
    return Promise.resolve(snapshot).then((value): Step<T> => ({ done: false, value: tracked(position, value) as TrackedEnvelope<T> }));
  }

  /** Ends the stream: released at once, and every unanswered `next()` is done. */
  private end(): void {
    this.release();
    while (this.resolve !== null) this.settle(DONE, undefined);
  }

  /** Stops reading: leaves the log's wake-up list, the signal and the channel's readers. */
  private release(): void {
    if (this.ended) return;
    this.ended = true;
    const log = this.log;
    if (log === null) return;
    log.unpark(this);
    this.options.signal?.removeEventListener('abort', this);
    log.subscribers -= 1;
    log.lastUsedMs = Math.max(log.lastUsedMs, Date.now());
    this.source.left(this.channel, log);
  }

  /** Answers the oldest waiting `next()` with `step`, or rejects it with `cause` when `step` is null. */
  private settle(step: Step<T> | null, cause: unknown): void {
    const { resolve } = this;
    if (resolve === null) return;
    this.resolve = this.queued?.shift() ?? null;
    if (this.queued?.length === 0) this.queued = null;
    resolve(step ?? Promise.reject(cause));
  }
}
