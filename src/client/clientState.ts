/**
 * `connectionState`: tRPC's own `{ type, state, error }` (unchanged, so stock consumers such as
 * `useSubscription` read it as before) plus the auth lifecycle (`auth`, `authError`).
 */
import { TRPCClientError } from '@trpc/client';
import type { AnyTRPCRouter } from '@trpc/server';
import { AuthState, AuthTransitionReason } from './auth/authState.js';
import type { StateSubject } from './stateSubject.js';
import { stateSubject } from './stateSubject.js';
import type { TRPCConnectionState } from './trpcInternals.js';

type ClientError = TRPCClientError<AnyTRPCRouter>;

/** tRPC's own connection state: `idle`, `connecting` (the only one that may carry an error) or `pending`. */
export type StockConnectionState = TRPCConnectionState<ClientError>;

/** The auth lifecycle, as `WsClient.authState` reports it. */
export interface WsAuthState {
  /**
   * - `'none'`: no socket is open (idle, or between sockets), or the server is stock tRPC,
   *   which gives no signal;
   * - `'authenticating'`: from the moment a socket opens until the server confirms the session
   *   (`lanyard.session`; with a stock server, until its first frame shows it is one);
   * - `'authenticated'`: the server confirmed the session;
   * - `'refreshing'`: an in-band re-authentication is in flight; calls keep flowing meanwhile.
   */
  readonly auth: AuthState;
  /**
   * Why the credentials last failed: a refused re-authentication (e.g. `data.code`
   * `UNAUTHORIZED`), including one the server asked for, which has no caller to throw to; or the
   * credential source threw (its error is the `cause`). `null` again once a session is confirmed
   * (or a stock server accepted the socket). A refusal that ends the socket (4403) shows in
   * `connectionState.error` as well, like every close.
   */
  readonly authError: ClientError | null;
}

/**
 * The client's connection state: tRPC's own shape (`state` and `error` mean exactly what they
 * mean in tRPC) plus the auth lifecycle ({@link WsAuthState}). `connectionState` emits only when
 * tRPC's own part changes, as tRPC's does; its `get()` is always current, `auth` included.
 */
export type WsConnectionState = StockConnectionState & WsAuthState;

export const IDLE: StockConnectionState = Object.freeze({ type: 'state', state: 'idle', error: null });
export const PENDING: StockConnectionState = Object.freeze({ type: 'state', state: 'pending', error: null });
export const CONNECTING: StockConnectionState = Object.freeze({ type: 'state', state: 'connecting', error: null });

/** `connecting`, after a socket was lost with `error`. */
export function connectingWith(error: Error): StockConnectionState {
  return { type: 'state', state: 'connecting', error: TRPCClientError.from(error) };
}

/** One change of `auth`, with its reason. */
export interface AuthTransition {
  readonly oldState: AuthState;
  readonly newState: AuthState;
  readonly reason: AuthTransitionReason;
}

/**
 * Holds the parts of {@link WsConnectionState}: `connectionState` emits when tRPC's part
 * changes, `authState` when the auth part does; each `get()` is current.
 */
export class ClientState {
  public readonly connectionState: StateSubject<WsConnectionState>;
  public readonly authState: StateSubject<WsAuthState>;
  /** The last change of `auth`, for debugging. */
  public lastAuthTransition: AuthTransition | null = null;
  private stock: StockConnectionState;

  constructor(initial: StockConnectionState) {
    this.stock = initial;
    this.authState = stateSubject<WsAuthState>(Object.freeze({ auth: AuthState.None, authError: null }));
    this.connectionState = stateSubject(this.compose());
  }

  /** Sets tRPC's part; a change to the same error-free state is not a change. */
  public setStock(next: StockConnectionState): void {
    const current = this.stock;
    if (current === next || (next.error === null && current.state === next.state && current.error === null)) return;
    this.stock = next;
    this.connectionState.next(this.compose());
  }

  /** The one way `auth` changes. */
  public transitionAuth(newState: AuthState, reason: AuthTransitionReason): void {
    const { auth: oldState, authError } = this.authState.get();
    if (oldState === newState) return;
    this.lastAuthTransition = { oldState, newState, reason };
    const accepted = newState === AuthState.Authenticated || (newState === AuthState.None && reason === AuthTransitionReason.Negotiated);
    this.setAuth({ auth: newState, authError: accepted ? null : authError });
  }

  /** Records why the credentials failed. */
  public setAuthError(error: ClientError): void {
    this.setAuth({ auth: this.authState.get().auth, authError: error });
  }

  private setAuth(next: WsAuthState): void {
    this.authState.next(Object.freeze(next));
    this.connectionState.setQuietly(this.compose()); // not a change of tRPC's part: no emission
  }

  private compose(): WsConnectionState {
    return { ...this.stock, ...this.authState.get() };
  }
}
