/**
 * The few parts of uWebSockets.js the adapter uses, typed structurally: the package depends on no
 * uWS distribution, and a user's `uWS.App()` or `uWS.SSLApp()` (v20.30 and later) fits these
 * shapes. Only the members called here are listed; return values nobody reads are `unknown`.
 */

/** A uWS WebSocket, valid from its `open` to its `close` event; any call after `close` throws. */
export interface UWSWebSocket<TUserData> {
  /** Sends one frame: text unless `isBinary`; returns uWS's send status (ignored here). */
  send(message: string | Uint8Array, isBinary?: boolean, compress?: boolean): unknown;
  /** Sends a close frame with `code` and a reason of at most 123 bytes; calls the `close` handler at once. */
  end(code?: number, shortMessage?: string): unknown;
  /** Closes the TCP connection without a close frame (the client sees 1006); calls the `close` handler at once. */
  close(): unknown;
  /** Bytes uWS holds for this socket because the kernel would not take them yet. */
  getBufferedAmount(): number;
  /** What the upgrade passed to `res.upgrade` (uWS copies its own properties onto the socket object). */
  getUserData(): TUserData;
  /** Runs `cb` with this socket's writes gathered into one system call. */
  cork(cb: () => void): unknown;
}

/** The response half of an upgrade request; valid during the synchronous `upgrade` handler. */
export interface UWSHttpResponse {
  /** Accepts the upgrade: `userData` becomes the socket's {@link UWSWebSocket.getUserData}. */
  upgrade<TUserData>(
    userData: TUserData,
    secWebSocketKey: string,
    secWebSocketProtocol: string,
    secWebSocketExtensions: string,
    context: UWSSocketContext,
  ): void;
  /** Writes the status line, e.g. `'403 Forbidden'`. */
  writeStatus(status: string): unknown;
  /** Ends the response; `closeConnection` closes the TCP connection after it. */
  end(body?: string, closeConnection?: boolean): unknown;
  /** The peer's IP address as UTF-8 text. */
  getRemoteAddressAsText(): ArrayBuffer;
}

/** The request half of an upgrade request: stack memory, readable only during the synchronous `upgrade` handler. */
export interface UWSHttpRequest {
  /** The path, without the query string. */
  getUrl(): string;
  /** The raw query string (after `?`), or `''`. */
  getQuery(): string;
  /** A header's value (lower-case name), or `''`. */
  getHeader(lowerCaseKey: string): string;
  /** Every header, names lower-case, one call per header line. */
  forEach(cb: (key: string, value: string) => void): void;
  /** The method, lower-case in uWS v20 (`'get'`). */
  getMethod(): string;
}

/** uWS's socket context of an upgrade (`us_socket_context_t`): opaque, passed back to `res.upgrade`. */
export type UWSSocketContext = object;

/** The settings and handlers of one `app.ws(pattern, behavior)` route, as far as the adapter sets them. */
export interface UWSBehavior<TUserData> {
  /** The largest incoming frame, in bytes; uWS closes the TCP connection on a larger one. uWS's default: 16 KiB. */
  maxPayloadLength?: number;
  /** Bytes a socket may buffer before uWS drops further sends; 0: no limit. uWS's default: 64 KiB. */
  maxBackpressure?: number;
  /** Seconds without incoming data before uWS closes the socket; 0: never. uWS's default: 120. */
  idleTimeout?: number;
  /** Whether uWS pings a quiet socket before its idle timeout runs out. uWS's default: true. */
  sendPingsAutomatically?: boolean;
  /** uWS's permessage-deflate setting (`CompressOptions`). uWS's default: 0 (disabled). */
  compression?: number;
  upgrade?: (res: UWSHttpResponse, req: UWSHttpRequest, context: UWSSocketContext) => void;
  open?: (ws: UWSWebSocket<TUserData>) => void;
  message?: (ws: UWSWebSocket<TUserData>, message: ArrayBuffer, isBinary: boolean) => void;
  drain?: (ws: UWSWebSocket<TUserData>) => void;
  close?: (ws: UWSWebSocket<TUserData>, code: number, message: ArrayBuffer) => void;
}

/** A uWS app (`uWS.App()` or `uWS.SSLApp()`): the adapter only adds a WebSocket route to it. */
export interface UWSApp {
  ws<TUserData>(pattern: string, behavior: UWSBehavior<TUserData>): unknown;
}

/**
 * What `createContext`, `authenticate`, `onError` and the `allowedOrigins` predicate get as `req`:
 * a copy of the upgrade request made while uWS's `HttpRequest` was still valid (it is not once
 * the `upgrade` handler returns).
 */
export interface UWSUpgradeRequest {
  /** The HTTP method, upper-case (`'GET'`). */
  readonly method: string;
  /** The path and query string, with the query-parameter token (`credentials.queryParam`) replaced by `REDACTED`. */
  readonly url: string;
  /**
   * Every header, names lower-case. A header sent more than once is joined with `', '`
   * (`'; '` for `cookie`). The record has no prototype.
   */
  readonly headers: Readonly<Record<string, string>>;
  /** The peer's IP address as text (the TCP peer: behind a proxy, the proxy). */
  readonly remoteAddress: string;
}
