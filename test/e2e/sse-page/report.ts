import type { StreamEndReason } from 'trpc-lanyard';

/** What the SSE test page saw, on `window.sseReport`: the page's whole output. */
export interface SsePageReport {
  /** The `feed` events, in the order they arrived. */
  readonly events: number[];
  /** The errors that ended the subscription (the retryLink recipe let them through). */
  readonly errors: Array<{ reason: StreamEndReason | null; code: string | null; message: string }>;
  /** How many times the link opened a stream (each after a `/refresh`). */
  opens: number;
  /** How many `/refresh` calls succeeded. */
  refreshes: number;
}
