import type { AnyRouter, inferRouterContext } from '@trpc/server';
import { TRPCError } from '@trpc/server';
import { CloseCode, fitCloseReason } from '../protocol/closeCodes.js';
import type { ClientCallMessage, HelloNotification } from '../protocol/messages.js';
import { PING, PONG } from '../protocol/messages.js';
import type { AuthHost, AuthRequest } from './auth/authenticator.js';
import { Authenticator, closeCodeFor } from './auth/authenticator.js';
import type { SessionBase } from './auth/types.js';
import type { RevocationGate } from './cluster/revocationGate.js';
import { runCall } from './calls.js';
import { answerQueuedCall, sessionChangedWhileQueued } from './queuedCalls.js';
import { refuseOverLimit } from './refusals.js';
import { ErrorReporter } from './errors.js';
import type { IntakeHost, IntakeStage } from './frameIntake.js';
import { FrameIntake } from './frameIntake.js';
import type { Frame, FrameBuilder } from './frames.js';
import type { CoreHandlerOptions } from './options.js';
import { Outgoing } from './outgoing.js';
import type { CallAbort } from './procedureCall.js';
import type { CallScope } from './scope.js';
import type { ServerSocket } from './socket.js';
import { nextPhase, Phase } from './state.js';
import { SubscriptionRegistry } from './subscriptions.js';
import { turnFlush } from './turnFlush.js';

/** The authentication deadline's timer callback: one function for every connection, no closure each. */
function authDeadlinePassed(connection: { authDeadlinePassed(): void }): void {
  connection.authDeadlinePassed();
}

/** What a connection shares with every other connection of its handler. */
export interface ConnectionShared<TRouter extends AnyRouter, TReq, TRes, TSession extends SessionBase> {
  readonly options: CoreHandlerOptions<TRouter, TReq, TRes, TSession>;
  readonly frames: FrameBuilder;
  readonly authTimeoutMs: number;
  readonly maxPayloadBytes: number;
  readonly maxPayloadBytesBeforeAuth: number;
  /** `maxBatchSize` with its default: `Infinity` when lifted. */
  readonly maxBatchSize: number;
  /** What `lanyard.hello` says: the same for every connection. */
  readonly helloParams: HelloNotification['params'];
  readonly maxQueuedCallsBeforeReady: number;
  readonly maxSubscriptions: number;
  readonly maxConcurrentCalls: number;
  readonly maxBufferedBytes: number;
  /** The revocation records every session passes (cluster control), or null without them. Set once, before the first connection. */
  revocations: RevocationGate<TSession> | null;
  /** Called once when the connection is closed, so the handler can forget it. */
  onClosed(connection: Connection<TRouter, TReq, TRes, TSession>): void;
}

/** How a connection was opened, read from the upgrade request by the adapter. */
export interface ConnectionRequest<TReq, TRes> extends AuthRequest<TReq, TRes> {
  /** The URL had `connectionParams=1`: the first frame must be the params. */
  readonly expectsConnectionParams: boolean;
}

/**
 * One client connection on the server: its phase, the calls that wait for a valid session,
 * and the routing of each frame. Transport-agnostic: it talks to a {@link ServerSocket}; the
 * session is the {@link Authenticator}'s.
 */
export class Connection<TRouter extends AnyRouter, TReq, TRes, TSession extends SessionBase = SessionBase>
  implements CallScope<TRouter>, AuthHost, IntakeHost<TRouter>
{
  readonly router: TRouter;
  readonly frames: FrameBuilder;
  readonly errors: ErrorReporter<TRouter, unknown>;
  readonly auth: Authenticator<TRouter, TReq, TRes, TSession>;
  private phase: Phase;
  private readonly subscriptions: SubscriptionRegistry<TRouter>;
  /** The calls waiting for a valid session; null when none waits. */
  private queue: Array<{ message: ClientCallMessage; batchIndex: number }> | null = null;
  /** The authentication deadline, until it fires or a session is accepted. */
  private authTimer: ReturnType<typeof setTimeout> | undefined;
  /** Made at the first query or mutation (a subscription-only connection never needs it). */
  private calls: Set<CallAbort> | null = null;
  private readonly outgoing: Outgoing;
  private readonly intake: FrameIntake<TRouter>;

  constructor(
    private readonly socket: ServerSocket,
    private readonly request: ConnectionRequest<TReq, TRes>,
    private readonly shared: ConnectionShared<TRouter, TReq, TRes, TSession>,
  ) {
    this.router = shared.options.router;
    this.frames = shared.frames;
    this.errors = new ErrorReporter<TRouter, unknown>(this.router, request.req, shared.options.onError as never);
    this.subscriptions = new SubscriptionRegistry(this);
    this.auth = new Authenticator(shared.options, request, this, shared.authTimeoutMs, shared.revocations);
    this.phase = request.expectsConnectionParams ? Phase.AwaitingParams : Phase.Authenticating;
    this.outgoing = new Outgoing(socket, shared.maxBufferedBytes, !shared.options.experimental_encoder, () =>
      this.close(CloseCode.SlowConsumer, `more than ${shared.maxBufferedBytes} bytes waiting to be sent`),
    );
    this.intake = new FrameIntake(this, shared.options.experimental_encoder, shared.maxBatchSize);
  }

  /** CallScope: the signals of the queries and mutations in flight. */
  get inFlightCalls(): Set<CallAbort> {
    return (this.calls ??= new Set());
  }

  get ctx(): inferRouterContext<TRouter> | undefined {
    return this.errors.ctx;
  }

  /** SubscriptionHost: whether the client negotiated our extensions (`lanyard=1`). */
  get negotiated(): boolean {
    return this.request.speaksLanyard;
  }

  get isOpen(): boolean {
    return this.phase !== Phase.Closed && this.socket.isOpen;
  }

  /**
   * Sends the hello (if negotiated), starts the auth deadline, and authenticates unless params
   * must come first. The hello goes out from a microtask, ahead of everything else the
   * connection sends: a session (and anything else) made in the same turn then shares its
   * write instead of following in a write of its own.
   */
  start(): void {
    this.socket.limitIncomingFrames?.(this.payloadLimit);
    if (this.request.speaksLanyard) queueMicrotask(() => this.sayHello());
    this.authTimer = setTimeout(authDeadlinePassed, this.shared.authTimeoutMs, this);
    if (this.phase === Phase.Authenticating) this.auth.connect(null).catch((cause: unknown) => this.reportUnexpected(cause));
  }

  private sayHello(): void {
    const hello: HelloNotification = { id: null, method: 'lanyard.hello', params: this.shared.helloParams };
    this.send(this.frames.message(hello));
  }

  /**
   * Sends a frame if the socket is open. Every byte the server sends goes through here (answers,
   * events, `PONG`, keep-alive `PING`), so a client that stops reading meets `maxBufferedBytes`.
   */
  send(frame: Frame): void {
    if (this.isOpen) this.outgoing.send(frame);
  }

  /** One frame from the client: `byteLength` is its size on the wire. */
  receive(data: string | Uint8Array, byteLength: number): void {
    turnFlush.releaseEarlier(this.socket);
    if (!this.isOpen) return;
    if (typeof data === 'string') {
      if (data === PING) {
        if (!this.shared.options.dangerouslyDisablePong) this.outgoing.pong();
        return;
      }
      if (data === PONG) return;
    }
    const limit = this.payloadLimit;
    if (byteLength > limit) {
      this.close(CloseCode.PayloadTooLarge, `frame exceeds ${limit} bytes`);
      return;
    }
    this.intake.accept(data);
  }

  /** The socket closed (either side): stop everything, forget the queue. */
  closed(): void {
    if (this.phase === Phase.Closed) return;
    this.phase = nextPhase(this.phase, Phase.Closed);
    this.clearAuthTimer();
    this.queue = null;
    this.subscriptions.stopAll();
    if (this.calls !== null) for (const call of this.calls) call.abort();
    this.calls = null;
    this.auth.dispose();
    this.shared.onClosed(this);
  }

  /** Closes the socket with `code` (and `reason`, cut to what a close frame holds) and ends the connection at once. */
  close(code: number, reason: string): void {
    if (this.phase === Phase.Closed) return;
    this.socket.close(code, fitCloseReason(reason));
    this.closed();
  }

  /** AuthHost: the context calls run with from now on. */
  setContext(ctx: unknown): void {
    this.errors.ctx = ctx as inferRouterContext<TRouter>;
  }

  /**
   * AuthHost: a valid session is in place; run what waited. Calls queued under an expired
   * session belong to it: when the new session grants something else (`grantChanged`, per
   * `sameAuthorization`), each is refused with `UNAUTHORIZED` instead of running as someone else.
   */
  ready(grantChanged: boolean): void {
    if (this.phase === Phase.Ready || this.phase === Phase.Closed) return;
    this.clearAuthTimer();
    const refuseQueued = grantChanged && this.phase === Phase.Stale;
    this.phase = nextPhase(this.phase, Phase.Ready);
    this.socket.limitIncomingFrames?.(this.payloadLimit);
    const queued = this.queue;
    if (queued === null) return;
    this.queue = null;
    for (const { message, batchIndex } of queued) {
      if (refuseQueued && message.method !== 'subscription.stop') answerQueuedCall(this, message, sessionChangedWhileQueued());
      else this.route(message, batchIndex);
    }
  }

  /** AuthHost: the session expired; calls wait for a refresh and subscriptions deliver nothing. */
  stale(): void {
    if (this.phase !== Phase.Ready) return;
    this.phase = nextPhase(this.phase, Phase.Stale);
    this.subscriptions.suspend();
  }

  /**
   * Ends the live subscriptions `match` picks (by path and input) with `error` and
   * `lanyardReason: 'subscription-ended'`, then `stopped`; the socket stays. Returns how many.
   */
  endSubscriptions(match: (path: string, input: unknown) => boolean, error: TRPCError): number {
    if (!this.isOpen || this.subscriptions.size === 0) return 0;
    return this.subscriptions.endWhere(match, error);
  }

  /** AuthHost: hold every subscription's events until they are re-run. */
  suspendSubscriptions(): void {
    this.subscriptions.suspend();
  }

  /** AuthHost: whether subscriptions wait to be re-run (after an expiry or a grant change). */
  get subscriptionsSuspended(): boolean {
    return this.subscriptions.suspended;
  }

  /** AuthHost: re-run every live subscription under the new context. */
  reauthorizeSubscriptions(): Promise<void> {
    return this.subscriptions.reauthorize();
  }

  /**
   * AuthHost: connect-time authentication failed. As stock tRPC answers a failed `createContext`:
   * an `{ id: null }` error frame (reported once), then every waiting call gets the error as its
   * own (with its path, reported to `onError` once per call); then the close code for the error.
   */
  refuse(cause: unknown): void {
    const shape = this.errors.report(cause, 'unknown', undefined, undefined);
    this.send(this.frames.error(null, shape));
    for (const { message } of this.queue ?? []) answerQueuedCall(this, message, cause);
    this.queue = null;
    this.close(closeCodeFor(cause), cause instanceof TRPCError ? cause.code : 'createContext failed');
  }

  /**
   * SubscriptionHost: whether a subscription event may go out now: not once the session has
   * expired, even when the expiry timer has not fired yet (a busy loop). Reads the clock only
   * for sessions that expire. On expiry the connection goes stale at once, which holds the
   * event for replay.
   */
  deliverable(): boolean {
    if (!this.auth.hasExpired()) return true;
    this.stale();
    return false;
  }

  /** A failure the auth lifecycle did not expect: reported, never an unhandled rejection. */
  reportUnexpected(cause: unknown): void {
    this.errors.report(cause, 'unknown', undefined, undefined);
  }

  /** The authentication deadline passed before a session was accepted. */
  authDeadlinePassed(): void {
    this.authTimer = undefined;
    const why = this.phase === Phase.AwaitingParams ? 'connectionParams not received in time' : 'no valid credentials in time';
    this.close(CloseCode.AuthTimeout, why);
  }

  private clearAuthTimer(): void {
    if (this.authTimer === undefined) return;
    clearTimeout(this.authTimer);
    this.authTimer = undefined; // a cleared timer is not kept for the connection's life
  }

  /** The largest frame accepted now: smaller until the connection is first authenticated. */
  private get payloadLimit(): number {
    return this.beforeAuthentication ? this.shared.maxPayloadBytesBeforeAuth : this.shared.maxPayloadBytes;
  }

  /** Whether no session has been accepted yet (an expired one waiting for its refresh has been). */
  private get beforeAuthentication(): boolean {
    return this.phase === Phase.AwaitingParams || this.phase === Phase.Authenticating;
  }

  /** IntakeHost: where the connection stands for its frames (a closed one answers nothing anyway). */
  get stage(): IntakeStage {
    if (this.phase === Phase.AwaitingParams) return 'params';
    return this.phase === Phase.Authenticating ? 'unauthenticated' : 'authenticated';
  }

  /** IntakeHost: the `connectionParams` frame was valid; authenticate with it. */
  acceptParams(data: Record<string, string> | null): void {
    this.phase = nextPhase(this.phase, Phase.Authenticating);
    this.auth.connect(data).catch((cause: unknown) => this.reportUnexpected(cause));
  }

  /**
   * IntakeHost: runs a call now if the session is valid; otherwise it waits (before authentication, or
   * between expiry and refresh). Fresh credentials themselves never wait behind an expired session.
   */
  route(message: ClientCallMessage, batchIndex: number): void {
    if (this.phase === Phase.Ready && this.auth.hasExpired()) this.stale();
    const ready = this.phase === Phase.Ready;
    if (ready || (this.phase === Phase.Stale && message.method === 'lanyard.authenticate')) {
      this.run(message, batchIndex);
      return;
    }
    const queue = (this.queue ??= []);
    queue.push({ message, batchIndex });
    if (queue.length > this.shared.maxQueuedCallsBeforeReady) {
      this.close(CloseCode.RateLimited, 'too many calls waiting for a valid session');
    }
  }

  private run(message: ClientCallMessage, batchIndex: number): void {
    switch (message.method) {
      case 'subscription.stop':
        this.subscriptions.stop(message.id);
        return;
      case 'subscription':
        if (this.subscriptions.size >= this.shared.maxSubscriptions) refuseOverLimit(this, message, `subscriptions (max ${this.shared.maxSubscriptions})`);
        else void this.subscriptions.start(message, batchIndex);
        return;
      case 'query':
      case 'mutation':
        if ((this.calls?.size ?? 0) >= this.shared.maxConcurrentCalls) refuseOverLimit(this, message, `calls in flight (max ${this.shared.maxConcurrentCalls})`);
        else void runCall(this, message, batchIndex);
        return;
      case 'lanyard.authenticate':
        this.auth.reauthenticate(message).catch((cause: unknown) => this.reportUnexpected(cause));
        return;
      case 'lanyard.grant':
        this.subscriptions.presentGrant(message).catch((cause: unknown) => this.reportUnexpected(cause));
        return;
      default: {
        const unreachable: never = message;
        throw new Error(`unhandled method ${String(unreachable)}`);
      }
    }
  }
}
