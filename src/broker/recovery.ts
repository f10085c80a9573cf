import type { EventPosition } from './eventId.js';
import { parseEventId } from './eventId.js';
import { MalformedEventIdError } from './errors.js';
import type { HistoryGapReason } from './types.js';

/** What a store knows about a channel's history when a stream resumes. */
export interface HistoryState {
  readonly epoch: string;
  /** Offset of the newest event; 0 before the first. */
  readonly top: number;
  /** Offset of the oldest retained event (`top + 1` when none is retained). */
  readonly first: number;
}

/**
 * Decides whether every event after `from` can be replayed from `state` (shared by the backends,
 * so they agree): `null` when it can, else the reason of the gap. Never a partial replay.
 */
export function resumeGap(
  state: HistoryState,
  from: EventPosition,
  recoveryLimit: number,
): HistoryGapReason | null {
  if (from.epoch !== state.epoch || from.offset > state.top) return 'epoch';
  if (from.offset === state.top) return null;
  if (from.offset + 1 < state.first) return 'evicted';
  if (state.top - from.offset > recoveryLimit) return 'recovery-limit';
  return null;
}

/** Parses a stream's `lastEventId`: `null` for none, or throws {@link MalformedEventIdError}. */
export function parseLastEventId(lastEventId: string | null | undefined): EventPosition | null {
  if (lastEventId === null || lastEventId === undefined) return null;
  const position = typeof lastEventId === 'string' ? parseEventId(lastEventId) : null;
  if (position === null) throw new MalformedEventIdError();
  return position;
}
