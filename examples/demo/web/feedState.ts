import type { FeedMessage } from '../server/feed.js';

/** What the feed counts by: an id consecutive within its channel. */
export interface Numbered {
  readonly id: number;
}

/** A room (or the document) as the client saw it: the messages kept for display, and what arrived out of order. */
export interface FeedState<T extends Numbered = FeedMessage> {
  readonly messages: readonly T[];
  /** Ids skipped between two messages received one after the other (a lost event). */
  readonly missed: number;
  /** Messages received again (an event delivered twice). */
  readonly duplicates: number;
}

const EMPTY: FeedState<never> = { messages: [], missed: 0, duplicates: 0 };

/** A room before its first message. */
export const emptyFeed: FeedState = EMPTY;

/** Any feed before its first message. */
export function emptyFeedOf<T extends Numbered>(): FeedState<T> {
  return EMPTY;
}

/** Messages kept for display; the counters cover everything received. */
const DISPLAY_LIMIT = 200;

/** Adds a received message. Ids are consecutive, so a jump is a gap and a step back a duplicate. */
export function receive<T extends Numbered>(state: FeedState<T>, message: T): FeedState<T> {
  const last = state.messages.at(-1);
  if (last !== undefined && message.id <= last.id) return { ...state, duplicates: state.duplicates + 1 };
  const gap = last === undefined ? 0 : message.id - last.id - 1;
  return { messages: [...state.messages, message].slice(-DISPLAY_LIMIT), missed: state.missed + gap, duplicates: state.duplicates };
}

/** What a feed's reducer is told: a message arrived, or the feed starts over (a rejoin). */
export type FeedAction<T extends Numbered> = { type: 'receive'; message: T } | { type: 'reset' };

/** The reducer of a feed shown by a component (`useReducer(feedReducer, emptyFeed)`). */
export function feedReducer<T extends Numbered>(state: FeedState<T>, action: FeedAction<T>): FeedState<T> {
  return action.type === 'reset' ? EMPTY : receive(state, action.message);
}

/**
 * The message a tracked event stands for: its id is the broker event id's offset (`<epoch>.<offset>`),
 * consecutive within a channel, on whichever node served it.
 */
export function messageOf<T extends object>({ id, data }: { id: string; data: T }): T & Numbered {
  return { ...data, id: Number(id.slice(id.lastIndexOf('.') + 1)) };
}
