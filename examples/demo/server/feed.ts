import { EventEmitter, on } from 'node:events';
import type { TrackedEnvelope } from '@trpc/server';
import { tracked } from '@trpc/server';

export type RoomName = 'public' | 'private';

export interface FeedMessage {
  /** Consecutive within its room, so a client can tell a gap. */
  readonly id: number;
  readonly room: RoomName;
  readonly author: string;
  readonly text: string;
  readonly at: number;
  readonly kind: 'chat' | 'bot' | 'system';
}

/** What a fresh subscriber (one with no last event id) is sent from the history. */
const REPLAY_ON_JOIN = 20;

/**
 * Two rooms with a bounded history each: what a tracked subscription resumes from after a
 * reconnect (`lastEventId`), so a client that was away misses nothing that is still kept.
 */
export class Feed {
  private readonly events = new EventEmitter();
  private readonly history: Record<RoomName, FeedMessage[]> = { public: [], private: [] };

  constructor(private readonly historyLimit = 500) {
    this.events.setMaxListeners(0);
  }

  public publish(room: RoomName, author: string, text: string, kind: FeedMessage['kind'] = 'chat'): FeedMessage {
    const kept = this.history[room];
    // Frozen: the server serialises a broadcast event once, however many sockets receive it.
    const message: FeedMessage = Object.freeze({ id: (kept.at(-1)?.id ?? 0) + 1, room, author, text, at: Date.now(), kind });
    kept.push(message);
    if (kept.length > this.historyLimit) kept.shift();
    this.events.emit(room, message);
    return message;
  }

  /** The room's messages after `lastEventId` (or the last few), then live ones, as tracked events. */
  public async *stream(room: RoomName, lastEventId: string | null | undefined, signal: AbortSignal | undefined): AsyncGenerator<TrackedEnvelope<FeedMessage>> {
    // Listen before replaying, so nothing published meanwhile falls between the two.
    const live = on(this.events, room, { signal }) as AsyncIterableIterator<[FeedMessage]>;
    const kept = this.history[room];
    const since = lastEventId ? Number(lastEventId) : (kept.at(-REPLAY_ON_JOIN - 1)?.id ?? 0);
    let last = since;
    for (const message of kept) {
      if (message.id > last) {
        last = message.id;
        yield tracked(String(message.id), message);
      }
    }
    for await (const [message] of live) {
      if (message.id > last) {
        last = message.id;
        yield tracked(String(message.id), message);
      }
    }
  }
}
