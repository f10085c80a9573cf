import type { WsConnectionState } from 'trpc-lanyard/client';
import { decideAfterClose, TRPCWebSocketClosedError } from 'trpc-lanyard/client';

/** What the status panel calls the connection. */
export type ConnectionLabel = 'idle' | 'connecting' | 'authenticating' | 'open' | 'refreshing' | 'reconnecting' | 'stopped' | 'signed out';

/** Why the client stopped for good: the close code and the server's reason. */
export interface StopInfo {
  readonly code: number | undefined;
  readonly reason: string | undefined;
  readonly message: string;
}

/** The `TRPCWebSocketClosedError` somewhere in `error`'s cause chain. */
function closedErrorOf(error: unknown): TRPCWebSocketClosedError | null {
  for (let current = error, depth = 0; current instanceof Error && depth < 5; current = current.cause, depth++) {
    if (current instanceof TRPCWebSocketClosedError) return current;
  }
  return null;
}

/**
 * The close that stopped the client (e.g. 4410 Revoked, 4403 Forbidden), or null while it
 * still connects or retries. After a `'stop'` close tRPC's state is `connecting` with the error
 * and no attempt scheduled.
 */
export function stopOf(state: WsConnectionState): StopInfo | null {
  if (state.state !== 'connecting' || state.error === null) return null;
  const closed = closedErrorOf(state.error);
  if (closed === null || decideAfterClose(closed.code) !== 'stop') return null;
  return { code: closed.code, reason: closed.reason, message: closed.message };
}

/**
 * One word for the connection, from tRPC's `state`, our `auth`, whether a socket ever opened,
 * and whether the token endpoint said the user is signed out (then the page closed the client).
 */
export function connectionLabel(state: WsConnectionState, socketsOpened: number, signedOut = false): ConnectionLabel {
  // A stop carries the server's close code and reason (e.g. a revocation's): it says more.
  if (stopOf(state) !== null) return 'stopped';
  if (signedOut) return 'signed out';
  if (state.auth === 'refreshing') return 'refreshing';
  if (state.auth === 'authenticating') return 'authenticating';
  switch (state.state) {
    case 'idle':
      return 'idle';
    case 'connecting':
      return socketsOpened > 0 ? 'reconnecting' : 'connecting';
    case 'pending':
      return 'open';
  }
}
