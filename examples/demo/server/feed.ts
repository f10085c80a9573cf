import type { TrackedEnvelope } from '@trpc/server';
import type { Broker } from 'trpc-lanyard/broker';
import { recentThenLive } from './recent.js';

export type RoomName = 'public' | 'private';

/** What is published to a room's broker channel. */
export interface FeedEvent {
  readonly room: RoomName;
  readonly author: string;
  readonly text: string;
  readonly at: number;
  readonly kind: 'chat' | 'bot' | 'system';
}

/** A room's message as the page shows it: the event plus its offset in the channel. */
export interface FeedMessage extends FeedEvent {
  /** The broker event id's offset: consecutive within its room, so a client can tell a gap. */
  readonly id: number;
}

/** How many of a room's newest messages a fresh subscriber (one with no last event id) is sent. */
const REPLAY_ON_JOIN = 20;

/**
 * Two rooms, each a channel of the broker (memory for `npm start`, Redis for the cluster): what a
 * tracked subscription resumes from after a reconnect (`lastEventId`), on this node or another.
 */
export class Feed {
  /** The newest event id this node published per room: where a fresh subscriber starts from. */
  private readonly newest = new Map<RoomName, string>();

  constructor(private readonly broker: Broker) {}

  /** Publishes to the room; resolves with the broker's event id. */
  public async publish(room: RoomName, author: string, text: string, kind: FeedEvent['kind'] = 'chat'): Promise<string> {
    // Frozen: the server serialises a broadcast event once, however many sockets receive it.
    const event: FeedEvent = Object.freeze({ room, author, text, at: Date.now(), kind });
    const id = await this.broker.publish(room, event);
    this.newest.set(room, id);
    return id;
  }

  /**
   * The room's events after `lastEventId`, then live ones, as tracked events. A resume the
   * broker cannot serve exactly fails with its typed history gap (the page shows it). A fresh
   * subscriber gets the last few events first; if those are gone, a note says history starts here.
   */
  public stream(room: RoomName, lastEventId: string | null | undefined, signal: AbortSignal | undefined): AsyncGenerator<TrackedEnvelope<FeedEvent>> {
    const gapNote = (): FeedEvent => ({ room, author: 'server', text: 'older messages are no longer kept', at: Date.now(), kind: 'system' });
    return recentThenLive({ broker: this.broker, channel: room, newest: this.newest.get(room), replay: REPLAY_ON_JOIN, gapNote }, lastEventId, signal);
  }
}
