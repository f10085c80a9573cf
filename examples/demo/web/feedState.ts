import type { FeedEvent, FeedMessage } from '../server/feed.js';

/** A room as the client saw it: the messages kept for display, and what arrived out of order. */
export interface FeedState {
  readonly messages: readonly FeedMessage[];
  /** Ids skipped between two messages received one after the other (a lost event). */
  readonly missed: number;
  /** Messages received again (an event delivered twice). */
  readonly duplicates: number;
}

export const emptyFeed: FeedState = { messages: [], missed: 0, duplicates: 0 };

/** Messages kept for display; the counters cover everything received. */
const DISPLAY_LIMIT = 200;

/** Adds a received message. Room ids are consecutive, so a jump is a gap and a step back a duplicate. */
export function receive(state: FeedState, message: FeedMessage): FeedState {
  const last = state.messages.at(-1);
  if (last !== undefined && message.id <= last.id) return { ...state, duplicates: state.duplicates + 1 };
  const gap = last === undefined ? 0 : message.id - last.id - 1;
  return { messages: [...state.messages, message].slice(-DISPLAY_LIMIT), missed: state.missed + gap, duplicates: state.duplicates };
}

/**
 * The message a tracked event stands for: its id is the broker event id's offset (`<epoch>.<offset>`),
 * consecutive within a room, on whichever node served it.
 */
export function messageOf({ id, data }: { id: string; data: FeedEvent }): FeedMessage {
  return { ...data, id: Number(id.slice(id.lastIndexOf('.') + 1)) };
}
