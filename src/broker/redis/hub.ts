import { tracked } from '@trpc/server';
import type { TrackedEnvelope } from '@trpc/server';
import { formatEventId } from '../eventId.js';
import type { PubSubConnection, RedisDriver } from './client.js';
import { decodePayload } from './codec.js';

/**
 * One live event as it came over pub/sub, shared by every local subscriber of its channel: its id is
 * formatted and its payload parsed at most once per node, on first use.
 */
export class LiveEvent {
  readonly epoch: string;
  readonly offset: number;
  readonly #payload: string;
  #id: string | undefined;
  #decoded: { readonly value: unknown } | undefined;
  #envelope: TrackedEnvelope<unknown> | undefined;

  constructor(epoch: string, offset: number, payload: string) {
    this.epoch = epoch;
    this.offset = offset;
    this.#payload = payload;
  }

  get id(): string {
    this.#id ??= formatEventId(this.epoch, this.offset);
    return this.#id;
  }

  /** The published data; parsed once, then the same value for every subscriber (don't mutate it). */
  get data(): unknown {
    this.#decoded ??= { value: decodePayload(this.#payload) };
    return this.#decoded.value;
  }

  /** `tracked(id, data)`, made once and yielded by every local stream. */
  get envelope(): TrackedEnvelope<unknown> {
    this.#envelope ??= tracked(this.id, this.data);
    return this.#envelope;
  }
}

/** A local subscriber of one channel. */
export interface HubListener {
  live(event: LiveEvent): void;
  /** The pub/sub connection dropped and came back: live messages may have been missed, re-read the range. */
  resync(): void;
  /** Position of the last event the listener has applied, or null while it is reading from Redis (or stopped). */
  position(): { readonly epoch: string; readonly offset: number } | null;
}

/** A local subscriber of a channel whose messages are not live events (the control bus's): it gets the raw text. */
export interface RawListener {
  message(text: string): void;
  /** The pub/sub connection dropped and came back: messages may have been missed. */
  resync(): void;
}

interface Channel<L> {
  readonly listeners: Set<L>;
  /** Settles when Redis acknowledged the SUBSCRIBE. */
  readonly subscribed: Promise<void>;
}

/** Parses `epoch:offset:payload` (the publish script's PUBLISH body); null when it is not one. */
export function parseLiveMessage(message: string): LiveEvent | null {
  const first = message.indexOf(':');
  const second = first < 0 ? -1 : message.indexOf(':', first + 1);
  if (second < 0) return null;
  const offset = Number(message.slice(first + 1, second));
  if (!Number.isSafeInteger(offset) || offset < 1) return null;
  return new LiveEvent(message.slice(0, first), offset, message.slice(second + 1));
}

/**
 * The node's one Redis pub/sub connection, reference-counted per channel: N local subscribers of a channel
 * cost one SUBSCRIBE, and each message is parsed once and handed to all of them. SUBSCRIBE/UNSUBSCRIBE of a
 * channel are issued in order (one chain per channel), so a quick unsubscribe/subscribe never ends unsubscribed.
 * Raw channels (the control bus's) share the connection; their listeners get each message's text.
 */
export class PubSubHub {
  readonly #channels = new Map<string, Channel<HubListener>>();
  readonly #raw = new Map<string, Channel<RawListener>>();
  readonly #chains = new Map<string, Promise<void>>();
  readonly #connection: PubSubConnection;
  #closed = false;

  constructor(driver: RedisDriver) {
    this.#connection = driver.createSubscriber({
      message: (channel, message) => this.#dispatch(channel, message),
      resubscribed: () => {
        for (const entry of this.#channels.values()) for (const listener of [...entry.listeners]) listener.resync();
        for (const entry of this.#raw.values()) for (const listener of [...entry.listeners]) listener.resync();
      },
    });
  }

  /** Adds a local subscriber; resolves once the channel's SUBSCRIBE is acknowledged (messages are then flowing). */
  add(channel: string, listener: HubListener): Promise<void> {
    return this.#add(this.#channels, channel, listener);
  }

  remove(channel: string, listener: HubListener): void {
    this.#remove(this.#channels, channel, listener);
  }

  /** Adds a subscriber of a raw channel (never the channel of a broker stream); resolves once subscribed. */
  addRaw(channel: string, listener: RawListener): Promise<void> {
    return this.#add(this.#raw, channel, listener);
  }

  removeRaw(channel: string, listener: RawListener): void {
    this.#remove(this.#raw, channel, listener);
  }

  /** The pub/sub connection is up with its channels subscribed (false while it reconnects). */
  connected(): boolean {
    return !this.#closed && this.#connection.ready();
  }

  /** Local subscribers of a channel (for tests and metrics). */
  listenerCount(channel: string): number {
    return this.#channels.get(channel)?.listeners.size ?? 0;
  }

  /** Channels with local subscribers, and those subscribers (the periodic position check walks them). */
  channels(): IterableIterator<[channel: string, listeners: ReadonlySet<HubListener>]> {
    return this.#listenerEntries();
  }

  /** Hands an event to every local subscriber of a channel, as if it had come over pub/sub. */
  deliver(channel: string, event: LiveEvent): void {
    const entry = this.#channels.get(channel);
    if (!entry) return;
    for (const listener of [...entry.listeners]) listener.live(event);
  }

  close(): void {
    this.#closed = true;
    this.#channels.clear();
    this.#raw.clear();
    this.#connection.close();
  }

  #add<L>(map: Map<string, Channel<L>>, channel: string, listener: L): Promise<void> {
    let entry = map.get(channel);
    if (!entry) {
      const subscribed = this.#enqueue(channel, () => this.#connection.subscribe(channel));
      entry = { listeners: new Set(), subscribed };
      map.set(channel, entry);
      const created = entry;
      // A failed SUBSCRIBE forgets the channel, so the next add tries again.
      subscribed.catch(() => {
        if (map.get(channel) === created) map.delete(channel);
      });
    }
    entry.listeners.add(listener);
    return entry.subscribed;
  }

  #remove<L>(map: Map<string, Channel<L>>, channel: string, listener: L): void {
    const entry = map.get(channel);
    if (!entry?.listeners.delete(listener) || entry.listeners.size > 0) return;
    map.delete(channel);
    if (!this.#closed) this.#enqueue(channel, () => this.#connection.unsubscribe(channel)).catch(() => {});
  }

  #enqueue(channel: string, op: () => Promise<void>): Promise<void> {
    const previous = this.#chains.get(channel) ?? Promise.resolve();
    const next = previous.catch(() => {}).then(op);
    const tail = next.catch(() => {});
    this.#chains.set(channel, tail);
    void tail.then(() => {
      if (this.#chains.get(channel) === tail) this.#chains.delete(channel);
    });
    return next;
  }

  *#listenerEntries(): IterableIterator<[string, ReadonlySet<HubListener>]> {
    for (const [channel, entry] of this.#channels) yield [channel, entry.listeners];
  }

  #dispatch(channel: string, message: string): void {
    const raw = this.#raw.get(channel);
    if (raw) {
      for (const listener of [...raw.listeners]) listener.message(message);
      return;
    }
    const entry = this.#channels.get(channel);
    if (!entry) return;
    const event = parseLiveMessage(message);
    if (!event) return;
    for (const listener of entry.listeners) listener.live(event);
  }
}
