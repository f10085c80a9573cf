/**
 * The client's authentication state, as `authState` (and `connectionState.get()`) reports it.
 * It is derived from the socket calls go to (and whether an in-band refresh runs on it); every
 * change goes through `ClientState.transitionAuth()` with one {@link AuthTransitionReason}.
 */
import type { Connection } from '../socket/connection.js';
import { ConnectionState } from '../socket/connection.js';
import { Negotiation } from '../socket/negotiation.js';

/** Where the client stands with the server's authentication. */
export const AuthState = {
  /** No socket is open (idle, or between sockets), or the server is stock tRPC and gives no signal. */
  None: 'none',
  /** A socket opened; its credentials are on their way or being checked (until `lanyard.session`). */
  Authenticating: 'authenticating',
  /** The server confirmed the session (`lanyard.session`, or an accepted re-authentication). */
  Authenticated: 'authenticated',
  /** An in-band re-authentication runs: fresh credentials are being fetched or checked. Calls still flow. */
  Refreshing: 'refreshing',
} as const;
/** One of {@link AuthState}. */
export type AuthState = (typeof AuthState)[keyof typeof AuthState];

/** Why `authState`'s `auth` changed: exactly one reason per change. */
export const AuthTransitionReason = {
  /** A socket opened, became the one in use, or went away. */
  SocketChanged: 'socket-changed',
  /** The first frame (or `PONG`) told whether the server speaks our extensions. */
  Negotiated: 'negotiated',
  /** `lanyard.session` arrived. */
  SessionConfirmed: 'session-confirmed',
  /** An in-band re-authentication started. */
  RefreshStarted: 'refresh-started',
  /** An in-band re-authentication ended (accepted, refused, or its socket went away). */
  RefreshEnded: 'refresh-ended',
} as const;
/** One of {@link AuthTransitionReason}. */
export type AuthTransitionReason = (typeof AuthTransitionReason)[keyof typeof AuthTransitionReason];

/** What `active` (the socket calls go to) says about authentication; `refreshingOn` is where an in-band refresh runs. */
export function authStateOf(active: Connection | null, refreshingOn: Connection | null): AuthState {
  if (active === null) return AuthState.None;
  switch (active.state) {
    case ConnectionState.Connecting:
    case ConnectionState.Closing:
    case ConnectionState.Closed:
      return AuthState.None;
    case ConnectionState.Authenticating:
      return AuthState.Authenticating;
    case ConnectionState.Ready:
      break;
  }
  switch (active.negotiation) {
    case Negotiation.Pending:
      return AuthState.Authenticating;
    case Negotiation.Stock:
      return AuthState.None;
    case Negotiation.Lanyard:
      if (refreshingOn === active) return AuthState.Refreshing;
      return active.session === null ? AuthState.Authenticating : AuthState.Authenticated;
  }
}
