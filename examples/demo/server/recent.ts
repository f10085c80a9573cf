import type { TrackedEnvelope } from '@trpc/server';
import type { Broker } from 'trpc-lanyard/broker';
import { formatEventId, parseEventId } from 'trpc-lanyard/broker';

/** What {@link recentThenLive} needs to know about one channel. */
export interface RecentStream<TEvent> {
  readonly broker: Broker;
  readonly channel: string;
  /** The newest event id this node published to the channel, if any: where "recent" is counted back from. */
  readonly newest: string | undefined;
  /** How many of the newest events a fresh subscriber (one with no last event id) is sent first. */
  readonly replay: number;
  /** The note a fresh subscriber gets instead when those events are no longer kept. */
  readonly gapNote: () => TEvent;
}

/**
 * A channel's events after `lastEventId`, then live ones, as tracked events: a resume the broker
 * cannot serve exactly fails with its typed history gap. A fresh subscriber gets the last few
 * events first; if those are gone, the channel's `gapNote` says history starts here.
 */
export async function* recentThenLive<TEvent>(
  { broker, channel, newest, replay, gapNote }: RecentStream<TEvent>,
  lastEventId: string | null | undefined,
  signal: AbortSignal | undefined,
): AsyncGenerator<TrackedEnvelope<TEvent>> {
  if (lastEventId) {
    yield* broker.stream<TEvent>(channel, { lastEventId, signal });
    return;
  }
  const from = parseEventId(newest ?? '');
  if (from === null) {
    yield* broker.stream<TEvent>(channel, { signal });
    return;
  }
  const lastSeen = formatEventId(from.epoch, Math.max(0, from.offset - replay));
  yield* broker.stream<TEvent, TEvent>(channel, { lastEventId: lastSeen, signal, onGap: gapNote });
}
