/**
 * The client's side of the auth lifecycle, wired to the socket manager (`WsClient`): the
 * credential source, re-authentication, the extension frames `lanyard.session` /
 * `lanyard.refresh`, `authState`, and the counters.
 */
import { TRPCClientError } from '@trpc/client';
import type { AuthenticatedResult } from '../../protocol/index.js';
import { isRefreshRequest, readSession, refreshSeqOf } from './authFrames.js';
import { AuthTransitionReason, authStateOf } from './authState.js';
import type { ResponseMessage } from '../calls/call.js';
import type { ClientState } from '../clientState.js';
import type { CloseDecision } from '../socket/closePolicy.js';
import type { Connection } from '../socket/connection.js';
import { Credentials, CredentialsReason } from './credentials.js';
import { Negotiation } from '../socket/negotiation.js';
import type { ConnectionParams, ConnectionParamsOption } from '../options.js';
import { Reauthentication } from './reauthentication.js';

/** Counters of the client's life, for UIs and demos. */
export interface ClientStats {
  /** Sockets that completed the WebSocket handshake, since the client was created. */
  readonly socketsOpened: number;
  /** In-band re-authentications the server accepted (`lanyard.authenticate` answered with data). */
  readonly refreshes: number;
  /** In-band grant refreshes the server accepted (`lanyard.grant` answered with data), all subscriptions together. */
  readonly grantRefreshes: number;
}

/** The session the server confirmed on the socket in use. */
export interface SessionInfo {
  /** When it expires, in milliseconds since the epoch on the server's clock; `null`: it does not. */
  readonly expiresAt: number | null;
}

/** What the auth lifecycle needs from the socket manager. */
export interface ClientAuthHost {
  /** The socket new calls go to, or `null`. */
  active(): Connection | null;
  /** Makes sure a socket is wanted and on its way, as a request would. */
  wantSocket(): void;
  /** Opens a replacement for the ready socket in use, make-before-break. */
  replaceActive(): void;
  /** A wire id from the request counter. */
  nextWireId(): number;
  /** A re-authentication ended, either way. */
  onReauthenticationLanded(): void;
  /** The credential source threw or rejected with `error` (for `onError`). */
  onCredentialsError(error: unknown): void;
}

export class ClientAuth {
  private readonly credentials: Credentials;
  private readonly reauth: Reauthentication;
  /** The last close said the credentials were refused or expired: the next socket asks for new ones. */
  private credentialsRefused = false;
  private socketsOpened = 0;

  constructor(
    connectionParams: ConnectionParamsOption | undefined,
    private readonly state: ClientState,
    private readonly host: ClientAuthHost,
  ) {
    this.credentials = new Credentials(connectionParams);
    this.reauth = new Reauthentication({
      active: () => host.active(),
      wantSocket: () => host.wantSocket(),
      replaceActive: () => host.replaceActive(),
      nextWireId: () => host.nextWireId(),
      credentials: (reason) => this.inBandCredentials(reason),
      onRefreshingChanged: (started) => this.update(started ? AuthTransitionReason.RefreshStarted : AuthTransitionReason.RefreshEnded),
      onFailed: (error) => state.setAuthError(error),
      onLanded: () => host.onReauthenticationLanded(),
    });
  }

  /** Whether a re-authentication is under way (the client must keep a socket meanwhile). */
  public get reauthenticating(): boolean {
    return this.reauth.inFlight;
  }

  /** See `WsClient.reauthenticate()`. */
  public reauthenticate(): Promise<AuthenticatedResult> {
    return this.reauth.run(CredentialsReason.Reauthenticate);
  }

  /** The client gave up its sockets: a re-authentication under way fails with `error`. */
  public fail(error: Error): void {
    this.reauth.fail(error);
  }

  /**
   * `connectionParams` failed for a socket (`error`'s `cause` is what it threw): reported to the
   * host (`onError`), shown as `authError`; a re-authentication waiting for that socket fails too.
   */
  public credentialsFailed(error: Error): void {
    this.host.onCredentialsError(error.cause ?? error);
    this.state.setAuthError(TRPCClientError.from(error));
    this.reauth.fail(error);
  }

  /** Credentials for an in-band re-authentication; a failure is also reported to the host. */
  private async inBandCredentials(reason: CredentialsReason): Promise<ConnectionParams> {
    try {
      return await this.credentials.get(reason);
    } catch (error) {
      this.host.onCredentialsError(error);
      throw error;
    }
  }

  /** A new socket's `connectionParams`: new ones after a refusal, else what a flight under way asked for. */
  public readonly credentialsForSocket = (): ConnectionParams | Promise<ConnectionParams> => {
    const reason = this.credentialsRefused ? CredentialsReason.Refused : (this.reauth.reason ?? CredentialsReason.Connect);
    return this.credentials.get(reason);
  };

  public onSocketOpened(): void {
    this.socketsOpened++;
  }

  /** A socket sent its credentials and is in use. */
  public onSocketReady(): void {
    this.credentialsRefused = false;
  }

  /** A socket closed; `inUse`: it was the active one or its replacement. */
  public onSocketClosed(connection: Connection, decision: CloseDecision, inUse: boolean): void {
    if (decision === 'refresh-then-retry' && inUse) this.credentialsRefused = true;
    this.reauth.connectionClosed(connection);
  }

  /** A socket changed state or negotiated: look again. */
  public onSocketChanged(reason: AuthTransitionReason): void {
    this.reauth.notify();
    this.update(reason);
  }

  /** Takes the answer to our `lanyard.authenticate`; `false` for anything else. */
  public handleAnswer(connection: Connection, message: ResponseMessage): boolean {
    return this.reauth.handleAnswer(connection, message);
  }

  /** An `id: null` message with a `method` from a server that said hello: `lanyard.session` or `lanyard.refresh`. */
  public onExtensionFrame(connection: Connection, message: object): void {
    if (connection.negotiation !== Negotiation.Lanyard) return;
    const session = readSession(message);
    if (session !== null) {
      connection.session = session;
      this.onSocketChanged(AuthTransitionReason.SessionConfirmed);
    } else if (isRefreshRequest(message) && connection === this.host.active()) {
      this.reauth.refreshRequested(connection, refreshSeqOf(message));
      // Nobody to throw to: a failure shows in `authState.authError`.
      this.reauth.run(CredentialsReason.Refresh).catch(() => undefined);
    }
  }

  /** See `WsClient.session`. */
  public get session(): SessionInfo | null {
    const active = this.host.active();
    if (active?.negotiation !== Negotiation.Lanyard || active.session === null) return null;
    return { expiresAt: active.session.expiresAt };
  }

  /** See `WsClient.stats`. */
  public get stats(): Omit<ClientStats, 'grantRefreshes'> {
    return { socketsOpened: this.socketsOpened, refreshes: this.reauth.accepted };
  }

  private update(reason: AuthTransitionReason): void {
    this.state.transitionAuth(authStateOf(this.host.active(), this.reauth.refreshingOn), reason);
  }
}
