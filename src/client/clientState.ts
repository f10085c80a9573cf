/**
 * `connectionState`: tRPC's own `{ type, state, error }` (unchanged, so stock consumers such as
 * `useSubscription` read it as before) plus the auth lifecycle (`auth`, `authError`).
 */
import { TRPCClientError } from '@trpc/client';
import type { AnyTRPCRouter } from '@trpc/server';
import type { BehaviorSubject } from '@trpc/server/observable';
import { behaviorSubject } from '@trpc/server/observable';
import type { AuthTransitionReason } from './authState.js';
import { AuthState } from './authState.js';
import type { TRPCConnectionState } from './trpcInternals.js';

type ClientError = TRPCClientError<AnyTRPCRouter>;

/** tRPC's own connection state: `idle`, `connecting` (the only one that may carry an error) or `pending`. */
export type StockConnectionState = TRPCConnectionState<ClientError>;

/**
 * The client's connection state: tRPC's own shape (`state` and `error` mean exactly what they
 * mean in tRPC) plus two fields of the auth lifecycle. A new object is emitted whenever any of
 * them changes.
 */
export type WsConnectionState = StockConnectionState & {
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
   * Why the last re-authentication failed (e.g. `data.code` `UNAUTHORIZED`, or the credential
   * source threw) — including one the server asked for, which has no caller to throw to.
   * `null` again once a session is confirmed. A refusal that ends the socket (4403) shows in
   * `error` as well, like every close.
   */
  readonly authError: ClientError | null;
};

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

/** Holds the parts of {@link WsConnectionState} and emits the whole whenever one changes. */
export class ClientState {
  public readonly subject: BehaviorSubject<WsConnectionState>;
  /** The last change of `auth`, for debugging. */
  public lastAuthTransition: AuthTransition | null = null;
  private stock: StockConnectionState;
  private auth: AuthState = AuthState.None;
  private authError: ClientError | null = null;

  constructor(initial: StockConnectionState) {
    this.stock = initial;
    this.subject = behaviorSubject(this.compose());
  }

  /** Sets tRPC's part; a change to the same error-free state is not a change. */
  public setStock(next: StockConnectionState): void {
    const current = this.stock;
    if (current === next || (next.error === null && current.state === next.state && current.error === null)) return;
    this.stock = next;
    this.publish();
  }

  /** The one way `auth` changes. */
  public transitionAuth(newState: AuthState, reason: AuthTransitionReason): void {
    const oldState = this.auth;
    if (oldState === newState) return;
    this.auth = newState;
    this.lastAuthTransition = { oldState, newState, reason };
    if (newState === AuthState.Authenticated) this.authError = null;
    this.publish();
  }

  /** Records why a re-authentication failed. */
  public setAuthError(error: ClientError): void {
    this.authError = error;
    this.publish();
  }

  private compose(): WsConnectionState {
    return { ...this.stock, auth: this.auth, authError: this.authError };
  }

  private publish(): void {
    this.subject.next(this.compose());
  }
}
