/**
 * The states of one client socket and what its owner hears of them; `Connection` moves
 * between them through its one `transition()`.
 */
import type { Connection } from './connection.js';

/** The life of one socket. Every change goes through `Connection.transition()`. */
export const ConnectionState = {
  /** Resolving the URL, then waiting for the WebSocket handshake. */
  Connecting: 'connecting',
  /** Open; `connectionParams` are being resolved to go out as the first frame. */
  Authenticating: 'authenticating',
  /** Open, `connectionParams` sent: calls may be sent. */
  Ready: 'ready',
  /** The client asked the socket to close and waits for the close handshake. */
  Closing: 'closing',
  /** Gone, for good. Terminal. */
  Closed: 'closed',
} as const;
/** One of {@link ConnectionState}. */
export type ConnectionState = (typeof ConnectionState)[keyof typeof ConnectionState];

/** Why a connection changed state: exactly one reason per transition. */
export const TransitionReason = {
  /** The handshake completed. */
  SocketOpened: 'socket-opened',
  /** The `connectionParams` frame went out. */
  ParamsSent: 'params-sent',
  /** `close()` was called. */
  CloseRequested: 'close-requested',
  /** The socket reported `close` (the peer closed it, or the network failed). */
  SocketClosed: 'socket-closed',
  /** `url()` threw or the `WebSocket` constructor did. */
  DialFailed: 'dial-failed',
  /** `connectionParams()` threw or rejected. */
  ParamsFailed: 'params-failed',
  /** Keep-alive sent `PING` and no `PONG` came back in time. */
  PongTimeout: 'pong-timeout',
} as const;
/** One of {@link TransitionReason}. */
export type TransitionReason = (typeof TransitionReason)[keyof typeof TransitionReason];

/** What `Connection.transition()` emits. */
export interface ConnectionTransition {
  readonly oldState: ConnectionState;
  readonly newState: ConnectionState;
  readonly reason: TransitionReason;
  /**
   * On `closed`: the socket's close code; 1006 (closed abnormally) when the client gave up
   * on an open socket itself; `undefined` when no socket was ever created.
   */
  readonly closeCode?: number | undefined;
  /** What went wrong, when something did: the close event, a thrown error. */
  readonly cause?: unknown;
}

/** A socket as tRPC's own `WsClient.connection` describes it. */
export interface WsConnectionInfo {
  readonly id: number;
  readonly state: 'open' | 'closed' | 'connecting';
  readonly ws: WebSocket;
}

/** The owner of a connection: it hears every transition and every decoded message. */
export interface ConnectionListener {
  onTransition(connection: Connection, change: ConnectionTransition): void;
  /** One decoded message (a batch frame arrives as one call per element). Never PING/PONG or hello. */
  onMessage(connection: Connection, message: unknown): void;
  /** The socket's `error` event; `close` follows. Not called for a socket the client is closing. */
  onSocketError(connection: Connection, event: Event): void;
  /** {@link Connection.negotiation} was decided. */
  onNegotiated(connection: Connection): void;
}

/** The moves `Connection.transition()` allows. */
export const nextStates: Readonly<Record<ConnectionState, readonly ConnectionState[]>> = {
  connecting: ['authenticating', 'ready', 'closing', 'closed'],
  authenticating: ['ready', 'closing', 'closed'],
  ready: ['closing', 'closed'],
  closing: ['closed'],
  closed: [],
};
