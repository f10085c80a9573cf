import type { OperationResultEnvelope, TRPCClientError } from '@trpc/client';
import type { AnyTRPCRouter } from '@trpc/server';
import type { BehaviorSubject, Observable } from '@trpc/server/observable';
import type { AuthenticatedResult } from '../protocol/index.js';
import { AuthTransitionReason } from './auth/authState.js';
import type { ClientStats, SessionInfo } from './auth/clientAuth.js';
import { ClientAuth } from './auth/clientAuth.js';
import type { StockConnectionState, WsAuthState, WsConnectionState } from './clientState.js';
import { ClientState, CONNECTING, connectingWith, IDLE, PENDING } from './clientState.js';
import { decideAfterClose, wasAccepted } from './socket/closePolicy.js';
import type { ConnectionListener, ConnectionTransition, WsConnectionInfo } from './socket/connection.js';
import type { ServerInfo } from './socket/negotiation.js';
import { Connection, ConnectionState, TransitionReason } from './socket/connection.js';
import { closeErrorOf, errorEventOf, TRPCWebSocketClosedError } from './errors.js';
import type { ResolvedOptions, WebSocketClientOptions } from './options.js';
import { resolveOptions } from './options.js';
import type { Call } from './calls/call.js';
import type { InboundTargets } from './inbound.js';
import { routeInbound } from './inbound.js';
import type { CallHost, WsRequestOptions } from './calls/callObservable.js';
import { callObservable } from './calls/callObservable.js';
import { IdleTimer } from './socket/idleTimer.js';
import { RequestManager } from './calls/requestManager.js';
import { Dialer } from './socket/dialer.js';
import { SocketSlots } from './socket/socketSlots.js';
import { callSafely } from './userCallback.js';
import { ClientGrants } from './grants/clientGrants.js';

type ClientError = TRPCClientError<AnyTRPCRouter>;

export type { WsAuthState, WsConnectionState } from './clientState.js';
export type { ClientStats, SessionInfo } from './auth/clientAuth.js';
export type { WsRequestOptions } from './calls/callObservable.js';

/**
 * A WebSocket client for tRPC: one socket in use at a time (two while a server-requested
 * reconnect makes the new one before breaking the old), calls sent at once when the socket is
 * ready and batched into one frame when it is not, reconnects with backoff, subscriptions
 * resumed from their last tracked event.
 */
export class WsClient {
  /**
   * The connection state: tRPC's own `{ type, state, error }`, emitted exactly when its client
   * would emit it, plus `auth` and `authError` (see {@link WsConnectionState}), current in `get()`.
   * Their changes are emitted on {@link WsClient.authState}, not here.
   */
  public readonly connectionState: BehaviorSubject<WsConnectionState>;
  /** The auth lifecycle (`auth`, `authError`); emits on every change of either. */
  public readonly authState: BehaviorSubject<WsAuthState>;

  private readonly options: ResolvedOptions;
  private readonly state: ClientState;
  private readonly requests: RequestManager;
  private readonly auth: ClientAuth;
  private readonly grants: ClientGrants;
  private readonly sockets = new SocketSlots();
  private readonly dialer: Dialer;
  /** Lazy mode's close after `lazy.closeMs` without calls. */
  private readonly lazyClose: IdleTimer;

  private readonly listener: ConnectionListener = {
    onTransition: (connection, change) => this.onTransition(connection, change),
    onMessage: (connection, message) => routeInbound(connection, message, this.inbound),
    onSocketError: (_connection, event) => {
      if (this.options.onError) callSafely(this.options.onError, event);
    },
    onNegotiated: (connection) => {
      this.auth.onSocketChanged(AuthTransitionReason.Negotiated);
      // Grant subscriptions wait to learn whether the token goes beside the input or in it.
      if (this.requests.grantSends.holds && connection === this.sockets.active && connection.isReady) this.requests.flushTo(connection);
    },
  };

  private readonly inbound: InboundTargets;
  /** What every call needs from the client, made once. */
  private readonly callHost: CallHost;

  constructor(opts: WebSocketClientOptions) {
    this.options = resolveOptions(opts);
    this.requests = new RequestManager({
      onRouteRemoved: (connection) => {
        if (this.sockets.retiring.size !== 0 && this.sockets.retiring.has(connection)) this.closeIfDrained(connection);
      },
      onIdle: () => this.armLazyClose(),
      onGrantRequeued: (call, reason) => this.grants.prepare(call, reason),
      renewsGrant: (call, message) => this.grants.renews(call, message),
    });
    this.grants = new ClientGrants({
      requests: this.requests,
      retryDelayMs: (attemptIndex) => this.options.retryDelayMs(attemptIndex),
      send: (call) => {
        const { active } = this.sockets;
        if (active?.isReady) this.requests.grantSends.send(call, active);
      },
    });
    this.callHost = { requests: this.requests, submit: (call) => this.submit(call) };
    this.lazyClose = new IdleTimer(
      this.options.lazy.closeMs,
      () => this.requests.size > 0 || this.auth.reauthenticating || !this.dialer.wanted,
      () => this.stopWanting(IDLE), // lazy: the next request opens a socket
    );
    const lazy = this.options.lazy.enabled;
    this.state = new ClientState(lazy ? IDLE : CONNECTING);
    this.connectionState = this.state.connectionState;
    this.authState = this.state.authState;
    this.auth = new ClientAuth(this.options.connectionParams, this.state, {
      active: () => this.sockets.active,
      wantSocket: () => this.wantSocket(),
      replaceActive: () => this.dialer.replaceActive(),
      nextWireId: () => this.requests.nextWireId(),
      onReauthenticationLanded: () => {
        if (this.requests.size === 0) this.armLazyClose();
      },
      onCredentialsError: (error) => {
        if (this.options.onError) callSafely(this.options.onError, errorEventOf(error));
      },
    });
    this.inbound = {
      requests: this.requests,
      auth: this.auth,
      grants: this.grants,
      // Make-before-break: the new socket opens before this one is let go.
      onReconnectRequested: (connection) => {
        if (connection === this.sockets.active) this.dialer.replaceActive();
      },
    };
    this.dialer = new Dialer(
      this.sockets,
      this.options.retryDelayMs,
      () => new Connection(this.options, this.listener, this.auth.credentialsForSocket),
      !lazy,
    );
    if (!lazy) this.dialer.dial();
  }

  /**
   * Sends one call; each subscriber to the returned observable is a new call with a new wire
   * id. Emits `{ result }` envelopes, errors with `TRPCClientError`, like tRPC's own client.
   */
  public request(opts: WsRequestOptions): Observable<OperationResultEnvelope<unknown, ClientError>, ClientError> {
    return callObservable(this.callHost, opts);
  }

  /**
   * Stops reconnecting, fails calls not yet sent (those made in this tick included: they are
   * never sent) with `Closed before connection was established`, completes subscriptions, waits
   * for queries and mutations in flight, then closes every socket. A later request opens a new one.
   */
  public async close(): Promise<void> {
    this.clearTimers();
    const closed = new TRPCWebSocketClosedError({ message: 'Closed before connection was established' });
    this.auth.fail(closed);
    // Calls made in this tick still wait in their socket's frame: unsent, like those still queued.
    for (const connection of this.sockets.all()) this.requests.unsend(connection, connection.takeUnsentCalls());
    this.requests.failQueued(closed);
    this.requests.completeSubscriptions();
    await this.requests.whenOneShotsSettled();
    this.stopWanting(IDLE);
  }

  /**
   * The socket in use: `null` when there is none, as until the URL has settled (never within the
   * call that asked for a socket). Same shape and timing as tRPC's own client.
   */
  public get connection(): WsConnectionInfo | null {
    return this.sockets.shown?.describe() ?? null;
  }

  /** What the server said in `lanyard.hello`, or `null` (a stock tRPC server never says it). */
  public get serverInfo(): ServerInfo | null {
    return this.sockets.active?.serverInfo ?? null;
  }

  /**
   * Sends fresh credentials — `connectionParams`, evaluated afresh — and resolves once the server
   * accepted them, with the new session's expiry. With a trpc-lanyard server (it said
   * `lanyard.hello`) they go in-band on the open socket (`lanyard.authenticate`): nothing is
   * interrupted. With a stock tRPC server the client reconnects make-before-break (as on tRPC's
   * `reconnect` notification) and resolves `{ expiresAt: null }` once the new socket is ready.
   * With no socket open, the next one carries the fresh credentials (one is opened if none is
   * wanted) and it resolves once that one is confirmed. Concurrent calls share one flight.
   *
   * @throws TRPCClientError — `data.code` `UNAUTHORIZED` or `FORBIDDEN` when the server refused
   * the credentials (after `FORBIDDEN` the server also closes with 4403 and the client stops);
   * the credential source's own error; or, when the client is closed or stopped meanwhile, the
   * close error.
   */
  public reauthenticate(): Promise<AuthenticatedResult> {
    return this.auth.reauthenticate();
  }

  /**
   * The session the server confirmed on the socket in use (`lanyard.session`, updated by every
   * accepted re-authentication); `null` against a stock server, or while no socket is confirmed.
   */
  public get session(): SessionInfo | null {
    return this.auth.session;
  }

  /** Counters since the client was created: a fresh snapshot on every read. */
  public get stats(): ClientStats {
    return { ...this.auth.stats, grantRefreshes: this.grants.accepted };
  }

  private submit(call: Call): void {
    if (call.grant !== null) {
      // It waits, queued (so a socket is wanted), until the provider gave its token.
      this.requests.enqueue(call);
      this.wantSocket();
      this.grants.prepare(call, 'subscribe');
      return;
    }
    const { active } = this.sockets;
    if (active !== null && active.isReady) {
      this.requests.sendNow(call, active);
      return;
    }
    this.requests.enqueue(call);
    this.wantSocket();
  }

  /** Makes sure a socket is wanted and on its way. */
  private wantSocket(): void {
    if (!this.dialer.want()) return;
    this.state.setStock(CONNECTING);
    this.dialer.dial();
  }

  private onTransition(connection: Connection, change: ConnectionTransition): void {
    if (change.reason === TransitionReason.SocketOpened) {
      this.auth.onSocketOpened();
      if (this.options.onOpen) callSafely(this.options.onOpen, undefined);
    }
    if (change.newState === ConnectionState.Ready) this.onReady(connection);
    else if (change.newState === ConnectionState.Closed) this.onClosed(connection, change);
    this.auth.onSocketChanged(AuthTransitionReason.SocketChanged);
  }

  private onReady(connection: Connection): void {
    // Make-before-break: a replacement takes over; the old socket finishes what it carries.
    if (!this.sockets.promote(connection)) {
      connection.close(); // opened for a client that no longer wants it
      return;
    }
    this.auth.onSocketReady();
    this.state.setStock(PENDING);
    this.requests.flushTo(connection);
    // Their answers will say whether the server speaks our extensions; with nothing to answer, ask.
    if (!this.requests.hasRoutesOn(connection)) connection.probe();
    for (const old of this.sockets.retiring) this.closeIfDrained(old);
    if (this.requests.size === 0) this.armLazyClose();
  }

  private onClosed(connection: Connection, change: ConnectionTransition): void {
    const { wasActive, wasReplacement } = this.sockets.release(connection);
    if (connection.ws !== null && this.options.onClose) callSafely(this.options.onClose, { code: change.closeCode });

    const decision = decideAfterClose(change.closeCode);
    const error = closeErrorOf(connection, change);
    this.auth.onSocketClosed(connection, decision, wasActive || wasReplacement);
    this.grants.connectionClosed(connection);
    this.requests.connectionLost(connection, error);
    if (change.reason === TransitionReason.ParamsFailed) {
      // What waits on credentials fails at once, not through the retries; subscriptions stay queued.
      this.auth.credentialsFailed(error);
      this.requests.failQueued(error);
    }
    if (!this.dialer.wanted) return;
    const { active } = this.sockets;
    if (active?.isReady && this.requests.hasQueued()) this.requests.flushTo(active);
    if (!wasActive && !wasReplacement) return;

    if (decision === 'stop') {
      this.stop(error);
      return;
    }
    if (wasAccepted(connection, decision, Date.now())) this.dialer.resetBackoff();
    if (wasActive && this.sockets.replacement !== null) {
      this.state.setStock(connectingWith(error)); // the replacement, still opening, takes over
      return;
    }
    if (wasReplacement && this.sockets.active !== null) {
      this.dialer.schedule(); // the active socket keeps serving; try to replace it again later
      return;
    }
    if (this.options.lazy.enabled && !this.requests.hasSubscriptions() && !this.requests.hasQueued() && !this.auth.reauthenticating) {
      this.dialer.wanted = false; // lazy: the next request opens a socket
      this.state.setStock(IDLE);
      return;
    }
    this.state.setStock(connectingWith(error));
    this.dialer.schedule();
  }

  /** A `'stop'` close: no reconnect; every call fails; the state keeps the error. */
  private stop(error: Error): void {
    this.auth.fail(error);
    this.requests.failAll(error);
    this.stopWanting(connectingWith(error));
  }

  private closeIfDrained(connection: Connection): void {
    if (!this.requests.hasRoutesOn(connection)) connection.close();
  }

  /** No more sockets until the next request: close them all and show `state`. */
  private stopWanting(state: StockConnectionState): void {
    this.clearTimers();
    for (const connection of this.sockets.clear()) connection.close();
    this.state.setStock(state);
  }

  /** Wants no socket until the next request: no dial scheduled, no lazy close pending. */
  private clearTimers(): void {
    this.dialer.stop();
    this.lazyClose.cancel();
  }

  private armLazyClose(): void {
    if (this.options.lazy.enabled && this.dialer.wanted) this.lazyClose.arm();
  }
}
