/**
 * Broker event ids: `<epoch>.<offset>`, opaque to clients, shared by every backend.
 *
 * - `epoch`: 1-64 characters of `[A-Za-z0-9_-]`, chosen when a channel's history is created in a
 *   store; it changes whenever the store may have lost the channel's history (a new process for
 *   the memory broker, deleted or evicted keys for Redis).
 * - `offset`: the channel's event counter in that epoch, a decimal integer without leading zeros;
 *   the first event is 1, and `<epoch>.0` names the position before it. Offsets are contiguous.
 */

/** A parsed event id. */
export interface EventPosition {
  readonly epoch: string;
  readonly offset: number;
}

const EPOCH = /^[A-Za-z0-9_-]{1,64}$/;
const OFFSET = /^(0|[1-9][0-9]{0,15})$/;

/** Formats a position as an event id. */
export function formatEventId(epoch: string, offset: number): string {
  return `${epoch}.${offset}`;
}

/** Parses an event id; returns `null` when `id` is not one (see {@link formatEventId}). */
export function parseEventId(id: string): EventPosition | null {
  const dot = id.lastIndexOf('.');
  if (dot <= 0) return null;
  const epoch = id.slice(0, dot);
  const digits = id.slice(dot + 1);
  if (!EPOCH.test(epoch) || !OFFSET.test(digits)) return null;
  const offset = Number(digits);
  return Number.isSafeInteger(offset) ? { epoch, offset } : null;
}

/** True when `epoch` may be used in an event id. */
export function isValidEpoch(epoch: string): boolean {
  return EPOCH.test(epoch);
}
