/**
 * The messages of the tRPC v11 WebSocket protocol as trpc-lanyard speaks it, plus our
 * negotiated extension frames. `PROTOCOL.md` documents each one's direction and sequence.
 * It imports nothing outside `src/protocol`: it is shared by the server, the client and the adapters.
 */

/** A request id: the client picks it, the server echoes it. `null` only on connection-level frames. */
export type RequestId = number | string;

import type { GrantMessage, GrantRefreshRequest } from './grants.js';

/** The three procedure types a request may name. */
export type ProcedureType = 'query' | 'mutation' | 'subscription';

/** Text frames that are not JSON, whatever the encoder. */
export const PING = 'PING';
/** The answer to {@link PING}. */
export const PONG = 'PONG';

/** Query parameter a client adds to the URL when it will send a `connectionParams` frame first. */
export const CONNECTION_PARAMS_FLAG = 'connectionParams';
/** Query parameter a trpc-lanyard client adds to say it understands our extension frames. */
export const LANYARD_FLAG = 'lanyard';
/** The extension protocol version this build speaks. */
export const LANYARD_PROTOCOL_VERSION = 1;

/** Client → server: call a procedure. */
export interface RequestMessage {
  readonly id: RequestId;
  readonly jsonrpc?: '2.0';
  readonly method: ProcedureType;
  readonly params: {
    readonly path: string;
    readonly input?: unknown;
    /** The id of the last tracked event the client saw; only on `subscription`. */
    readonly lastEventId?: string;
    /**
     * Extension (only after `lanyard.hello`), `subscription` only: the subscription's grant token,
     * beside the input rather than in it (PROTOCOL.md § 5.2).
     */
    readonly grant?: string;
  };
}

/** Client → server: stop the subscription started with `id`. */
export interface SubscriptionStopMessage {
  readonly id: RequestId;
  readonly jsonrpc?: '2.0';
  readonly method: 'subscription.stop';
}

/** Client → server, first frame only, when the URL carries `connectionParams=1`. */
export interface ConnectionParamsMessage {
  readonly method: 'connectionParams';
  readonly data: Record<string, string> | null;
}

/** Any call a client may put in a frame (alone or in a batch array). */
export type ClientCallMessage = RequestMessage | SubscriptionStopMessage | AuthenticateMessage | GrantMessage;

/** The shape of a tRPC error on the wire, after `errorFormatter`. */
export interface ErrorShape {
  readonly code: number;
  readonly message: string;
  readonly data?: unknown;
}

/** Server → client: the result of a query or mutation, or one subscription event. */
export interface DataResultMessage {
  readonly id: RequestId;
  readonly jsonrpc?: '2.0';
  readonly result: {
    readonly type: 'data';
    readonly data: unknown;
    /** The id of a `tracked()` event. */
    readonly id?: string;
  };
}

/** Server → client: a subscription started or stopped. */
export interface LifecycleResultMessage {
  readonly id: RequestId;
  readonly jsonrpc?: '2.0';
  readonly result: { readonly type: 'started' | 'stopped' };
}

/** Server → client: a request failed, or (with `id: null`) the connection or a frame did. */
export interface ErrorMessage {
  readonly id: RequestId | null;
  readonly jsonrpc?: '2.0';
  readonly error: ErrorShape;
}

/** Server → client: reconnect (tRPC's own notification). */
export interface ReconnectNotification {
  readonly id: null;
  readonly method: 'reconnect';
}

/**
 * Server → client, extension: the first frame a trpc-lanyard server sends to a client that
 * put `lanyard=1` in its URL. Stock tRPC clients ignore frames with an unknown `method`.
 */
export interface HelloNotification {
  readonly id: null;
  readonly method: 'lanyard.hello';
  readonly params: {
    /** {@link LANYARD_PROTOCOL_VERSION} of the server. */
    readonly version: number;
    /** The largest frame the server accepts, in bytes. */
    readonly maxPayloadBytes: number;
    /** The most messages one batch frame may carry; absent when the server sets no limit. */
    readonly maxBatchSize?: number;
  };
}

/**
 * Client → server, extension (only after `lanyard.hello`): fresh credentials, in band, on the
 * same socket. The server runs `authenticate` again and answers `id` with an
 * {@link AuthenticatedResult} or an error (`UNAUTHORIZED` / `FORBIDDEN`).
 */
export interface AuthenticateMessage {
  readonly id: RequestId;
  readonly method: 'lanyard.authenticate';
  readonly params: {
    /** The same shape as the `connectionParams` frame's `data`. */
    readonly connectionParams: Record<string, string> | null;
    /**
     * The `seq` of the newest {@link RefreshRequest} the client had received when it began
     * fetching these credentials; absent when it had received none. A `requested` refresh is
     * satisfied only by credentials whose `answers` is at least its `seq`, so credentials
     * fetched before the server asked never count as the answer.
     */
    readonly answers?: number;
  };
}

/** What the server answers an accepted {@link AuthenticateMessage} with, as `result.data`. */
export interface AuthenticatedResult {
  /** When the new session expires (ms since the epoch, server clock), or null if it does not. */
  readonly expiresAt: number | null;
}

/** Why the server asks for fresh credentials. */
export type RefreshReason = 'expiring' | 'requested';

/**
 * Server → client, extension: send fresh credentials now (an {@link AuthenticateMessage}).
 * `expiring`: the session expires at `expiresAt`; without a refresh the socket closes with
 * 4419 at `expiresAt + expiryGraceMs`. `requested`: the server (e.g. after a role change)
 * wants them within `deadlineMs`, else it closes with 4408.
 */
export interface RefreshRequest {
  readonly id: null;
  readonly method: 'lanyard.refresh';
  readonly params: {
    readonly reason: RefreshReason;
    readonly expiresAt: number | null;
    /** Milliseconds the client has to answer before the server closes the socket. */
    readonly deadlineMs: number;
    /** Increases with every refresh request on this connection; echoed as `answers` (see {@link AuthenticateMessage}). */
    readonly seq: number;
  };
}

/**
 * Why the server refused a `lanyard.authenticate` while keeping the connection open: sent as
 * `error.data.lanyardReason` of the answer (added after the router's `errorFormatter`, so it is
 * always there). Clients read it to decide what to fetch next.
 */
export const AuthRefusalReason = {
  /** The credentials do not move `expiresAt` later than the current session's: fetch fresh ones (not a cached token). */
  NotFresher: 'not-fresher',
  /** Too many in-band authentications on this connection; wait before the next one (more close the socket with 4429). */
  RateLimited: 'rate-limited',
} as const;

/** One of the strings in {@link AuthRefusalReason}. */
export type AuthRefusalReason = (typeof AuthRefusalReason)[keyof typeof AuthRefusalReason];

/**
 * Server → client, extension: the connection is authenticated; sent once after connect-time
 * authentication (in-band re-authentication is answered on its own id instead).
 */
export interface SessionNotification {
  readonly id: null;
  readonly method: 'lanyard.session';
  readonly params: AuthenticatedResult;
}

/** Every frame a server may send. */
export type ServerMessage =
  | DataResultMessage
  | LifecycleResultMessage
  | ErrorMessage
  | ReconnectNotification
  | HelloNotification
  | RefreshRequest
  | SessionNotification
  | GrantRefreshRequest;
