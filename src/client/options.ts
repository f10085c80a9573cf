import type { Encoder } from '@trpc/client';
import type { TRPCRequestInfo } from '@trpc/server/http';
import { fullJitterBackoff } from './socket/backoff.js';
import type { CredentialsRequest } from './auth/credentials.js';

/** A value, or a function (sync or async) that returns it; functions are called for every new socket. */
export type CallbackOrValue<T> = T | (() => T | Promise<T>);

/** What `connectionParams` resolves to: an object of strings, or `null`. */
export type ConnectionParams = TRPCRequestInfo['connectionParams'];

/**
 * The `connectionParams` option: a value, or a function (sync or async) called whenever the
 * client needs credentials. The function receives why ({@link CredentialsRequest}); a stock
 * `() => params` function, which ignores it, is accepted as is.
 */
export type ConnectionParamsOption =
  | ConnectionParams
  | ((request: CredentialsRequest) => ConnectionParams | Promise<ConnectionParams>);

/** Options of lazy mode: open on the first request, close when idle. */
export interface LazyOptions {
  /**
   * Open the socket on the first request instead of at once, and close it after
   * {@link LazyOptions.closeMs} with no request or subscription in flight.
   * @default false ({@link lazyDefaults})
   */
  enabled: boolean;
  /**
   * How long the socket may stay idle, in milliseconds, before lazy mode closes it.
   * @default 0 ({@link lazyDefaults})
   */
  closeMs?: number;
}

/** Options of the client's keep-alive: PING after a quiet spell, give up without a PONG. */
export interface KeepAliveOptions {
  /**
   * Send `PING` after {@link KeepAliveOptions.intervalMs} without a frame from the server.
   * The client answers the server's `PING` with `PONG` whatever this says.
   * @default false ({@link keepAliveDefaults})
   */
  enabled: boolean;
  /**
   * Milliseconds without any frame from the server before the client sends `PING`.
   * @default 5_000 ({@link keepAliveDefaults})
   */
  intervalMs?: number;
  /**
   * Milliseconds to wait for `PONG` before the socket is given up and replaced.
   * @default 1_000 ({@link keepAliveDefaults})
   */
  pongTimeoutMs?: number;
}

/**
 * Options of `createWSClient`: every option of tRPC's own `createWSClient`, same names,
 * same meaning.
 */
export interface WebSocketClientOptions {
  /**
   * The server's URL, or a function (sync or async) returning it, called for every new socket.
   * The client appends `lanyard=1` (and `connectionParams=1` when
   * {@link WebSocketClientOptions.connectionParams} is set) to its query.
   */
  url: CallbackOrValue<string>;
  /**
   * The client's credentials. Sent as the first frame of every socket,
   * `{"method":"connectionParams","data":…}` (handed to the server's `authenticate` /
   * `createContext`), and in-band (`lanyard.authenticate`) on every re-authentication — see
   * `WsClient.reauthenticate()`. A function is called afresh each time, never cached: concurrent
   * requests share one call in flight, and nothing more. It receives
   * `{ reason }` ({@link CredentialsRequest}): `'refused'` and `'refresh'` mean the credentials the
   * app holds are stale (the server refused or is expiring them) and new ones are needed.
   * When it throws or rejects, the socket is given up and retried with backoff; queued queries
   * and mutations fail at once with a `TRPCClientError` whose `cause` is that error (also shown as
   * `connectionState.error` and `authError`, and passed to `onError`); subscriptions wait and resume.
   * @default undefined (no `connectionParams` frame; re-authentication sends `null`)
   */
  connectionParams?: ConnectionParamsOption;
  /**
   * The `WebSocket` class, for runtimes without a global one (Node 20: pass `WebSocket` from `ws`).
   * @default globalThis.WebSocket
   */
  WebSocket?: typeof WebSocket;
  /**
   * Milliseconds to wait before connection attempt `attemptIndex` (0 for the first retry
   * after a loss).
   * @default full-jitter exponential backoff, {@link fullJitterBackoff} with {@link backoffDefaults}
   */
  retryDelayMs?: (attemptIndex: number) => number;
  /** Called when a socket opens (before its `connectionParams` frame is sent). */
  onOpen?: () => void;
  /**
   * Called with the socket's `error` event; and, whenever `connectionParams` throws or rejects (for a new socket or in band), with
   * an `error` event whose `error` is what it threw (as a browser's `ErrorEvent` carries it).
   */
  onError?: (evt?: Event) => void;
  /** Called when a socket closes, with its close code. */
  onClose?: (cause?: { code?: number }) => void;
  /**
   * Lazy mode.
   * @default {@link lazyDefaults}
   */
  lazy?: LazyOptions;
  /**
   * Client-side keep-alive.
   * @default {@link keepAliveDefaults}
   */
  keepAlive?: KeepAliveOptions;
  /**
   * Encodes and decodes frames; `PING`/`PONG` stay text whatever it is.
   * @default {@link jsonEncoder}
   */
  experimental_encoder?: Encoder;
}

/** Defaults of {@link LazyOptions}. */
export const lazyDefaults: Readonly<Required<LazyOptions>> = Object.freeze({
  enabled: false,
  closeMs: 0,
});

/** Defaults of {@link KeepAliveOptions}. */
export const keepAliveDefaults: Readonly<Required<KeepAliveOptions>> = Object.freeze({
  enabled: false,
  intervalMs: 5_000,
  pongTimeoutMs: 1_000,
});

/** The default encoder: JSON in text frames. */
export const jsonEncoder: Encoder = {
  encode: (data) => JSON.stringify(data),
  decode: (data) => {
    if (typeof data !== 'string') {
      throw new TypeError('jsonEncoder received a binary frame; JSON uses text frames');
    }
    return JSON.parse(data) as unknown;
  },
};

/** {@link WebSocketClientOptions} with every default filled in, computed once per client. */
export interface ResolvedOptions {
  readonly WebSocket: typeof WebSocket;
  readonly url: CallbackOrValue<string>;
  readonly connectionParams: ConnectionParamsOption | undefined;
  readonly encoder: Encoder;
  readonly retryDelayMs: (attemptIndex: number) => number;
  readonly lazy: Readonly<Required<LazyOptions>>;
  readonly keepAlive: Readonly<Required<KeepAliveOptions>>;
  readonly onOpen: (() => void) | undefined;
  readonly onError: ((evt?: Event) => void) | undefined;
  readonly onClose: ((cause?: { code?: number }) => void) | undefined;
}

/** Fills in the defaults; throws when there is no `WebSocket` implementation. */
export function resolveOptions(opts: WebSocketClientOptions): ResolvedOptions {
  const WebSocketImpl = opts.WebSocket ?? (globalThis as { WebSocket?: typeof WebSocket }).WebSocket;
  if (!WebSocketImpl) {
    throw new Error('No WebSocket implementation found: pass one as the `WebSocket` option (e.g. from `ws`)');
  }
  return {
    WebSocket: WebSocketImpl,
    url: opts.url,
    connectionParams: opts.connectionParams,
    encoder: opts.experimental_encoder ?? jsonEncoder,
    retryDelayMs: opts.retryDelayMs ?? fullJitterBackoff(),
    lazy: { ...lazyDefaults, ...opts.lazy },
    keepAlive: { ...keepAliveDefaults, ...opts.keepAlive },
    onOpen: opts.onOpen,
    onError: opts.onError,
    onClose: opts.onClose,
  };
}

/** Calls `value` when it is a function, else returns it. */
export function resultOf<T>(value: CallbackOrValue<T>): T | Promise<T> {
  return typeof value === 'function' ? (value as () => T | Promise<T>)() : value;
}

/** Whether `value` is a promise (or any thenable). */
export function isPromiseLike<T>(value: T | PromiseLike<T>): value is PromiseLike<T> {
  return typeof (value as { then?: unknown } | null)?.then === 'function';
}
