import type { AnyRouter } from '@trpc/server';
import { getTRPCErrorFromUnknown } from '@trpc/server';
import type { ClusterResult, ClusterRevokeOptions, SessionKeyTarget } from '../broker/control/clusterControl.js';
import type { CheckedSubscriptionTarget, EndSubscriptionsOptions, SubscriptionEnding, SubscriptionTarget } from '../broker/control/subscriptionTarget.js';
import { checkEnding, checkSubscriptionTarget, subscriptionMatches } from '../broker/control/subscriptionTarget.js';
import { CloseCode } from '../protocol/closeCodes.js';
import type { ReconnectNotification } from '../protocol/messages.js';
import { LANYARD_PROTOCOL_VERSION } from '../protocol/messages.js';
import type { RouterSession, SessionBase } from './auth/types.js';
import { authDefaults } from './auth/types.js';
import type { ClusterSide } from './cluster/setup.js';
import { setUpCluster } from './cluster/setup.js';
import type { ConnectionRequest, ConnectionShared } from './connection.js';
import { Connection } from './connection.js';
import type { SubscriptionFilter } from './endSubscriptions.js';
import { endSubscriptionsOn, FilterGuard } from './endSubscriptions.js';
import { ErrorReporter } from './errors.js';
import { FrameBuilder } from './frames.js';
import type { CoreHandlerOptions } from './options.js';
import { coreHandlerDefaults } from './options.js';
import type { ServerSocket } from './socket.js';
import type { StreamHolder, StreamRegistry } from './streamRegistry.js';

/** What `revoke` takes besides the filter. */
export interface RevokeOptions {
  /** The close reason the client sees; a longer one than a close frame holds (123 bytes of UTF-8) is cut at a character boundary. @default 'session revoked' */
  reason?: string;
}

/** The transport-agnostic server: every adapter wraps one. */
export interface CoreHandler<TRouter extends AnyRouter, TReq, TRes, TSession extends SessionBase = SessionBase> {
  /** Serves a newly opened socket; the adapter feeds it frames and tells it when the socket closes. */
  connect(socket: ServerSocket, request: ConnectionRequest<TReq, TRes>): Connection<TRouter, TReq, TRes, TSession>;
  /** The open connections. */
  readonly connections: ReadonlySet<Connection<TRouter, TReq, TRes, TSession>>;
  /** Where live sessions without a socket of ours (SSE streams, `createHttpAuth`) join the handler's. */
  readonly streams: StreamRegistry<TSession>;
  /**
   * Sends tRPC's `reconnect` notification, encoded once, to every open connection: at once on
   * this node, and with a `broker` on every node. Resolves with the count (it never needs awaiting:
   * a failure to reach the other nodes rejects a promise nobody has to handle).
   */
  broadcastReconnectNotification(): Promise<ClusterResult>;
  /**
   * Ends every authenticated session on this node for which `filter` is true (close 4410);
   * returns how many. A session still being authenticated when it is called is checked against
   * `filter` before it goes live (and closed with 4410 if it matches); those are not counted.
   */
  revoke(filter: (session: TSession) => boolean, options?: RevokeOptions): number;
  /**
   * Revokes every session with `key` among its `sessionKeys`, on every node, and writes a
   * revocation record (for `forMs`) that every node checks at connect, in-band re-authentication,
   * resume and revalidation. Resolves with the count across the nodes that answered; rejects
   * when the record could not be stored (this node's sessions are closed all the same).
   */
  revoke(target: SessionKeyTarget, options?: ClusterRevokeOptions): Promise<ClusterResult>;
  /**
   * Asks every client whose session matches `filter` for fresh credentials now (trpc-lanyard
   * clients in band, stock clients by tRPC's `reconnect`); one that has not re-authenticated
   * within `authTimeoutMs` is closed with 4408. Returns how many were asked.
   */
  requestReauthentication(filter: (session: TSession) => boolean): number;
  /** The same for every session with `key` among its `sessionKeys`, on every node; resolves with the count. */
  requestReauthentication(target: SessionKeyTarget): Promise<ClusterResult>;
  /**
   * Ends every live subscription on this node for which `filter` is true: the client gets an
   * error on the subscription's id (`options.code`, default `FORBIDDEN`; message `options.reason`;
   * `data.lanyardReason: 'subscription-ended'`), then `stopped`; the procedure's signal is aborted
   * and nothing more is sent for it. The socket and its other subscriptions go on. Not a ban: a
   * subscription started afterwards runs unless the app's middleware refuses it (for a ban, see
   * `revoke`). A filter that throws for a subscription leaves that one running (the others are
   * still looked at) and is reported to `onError` once per call. Returns how many ended.
   */
  endSubscriptions(filter: SubscriptionFilter<TSession>, options?: EndSubscriptionsOptions): number;
  /**
   * The same on every node, for the subscriptions `target` names: of the sessions with `key`
   * among their `sessionKeys`, at `path`, whose input contains the JSON pattern `input` (each
   * optional; `key` or `path` required). `key` needs `sessionKeys` (a TypeError otherwise);
   * without a broker it acts on this node. Resolves with the count across the nodes that answered.
   */
  endSubscriptions(target: SubscriptionTarget, options?: EndSubscriptionsOptions): Promise<ClusterResult>;
  /** Closes every connection with `code` (default 1001, going away), leaves the cluster and stops the handler's timers. */
  closeAll(code?: number, reason?: string): void;
}

/**
 * A failure of the handler's own (not one connection's): a cluster re-check that could not
 * read the store. To `onError` (with `req` undefined), else to the console.
 */
function reportHandlerError<TRouter extends AnyRouter, TReq, TRes, TSession extends SessionBase>(
  options: CoreHandlerOptions<TRouter, TReq, TRes, TSession>,
  cause: unknown,
): void {
  if (!options.onError) {
    console.error('[trpc-lanyard]', cause);
    return;
  }
  const error = getTRPCErrorFromUnknown(cause);
  new ErrorReporter(options.router, undefined as TReq, options.onError).notify({ error, type: 'unknown', path: undefined, input: undefined });
}

/** Builds the core of a handler from the options shared by every adapter. */
export function createCoreHandler<TRouter extends AnyRouter, TReq, TRes, TSession extends SessionBase = RouterSession<TRouter>>(
  options: CoreHandlerOptions<TRouter, TReq, TRes, TSession>,
): CoreHandler<TRouter, TReq, TRes, TSession> {
  const connections = new Set<Connection<TRouter, TReq, TRes, TSession>>();
  const streams = new Set<StreamHolder<TSession>>();
  const frames = new FrameBuilder(options.router, options.experimental_encoder);
  const maxPayloadBytes = options.maxPayloadBytes ?? coreHandlerDefaults.maxPayloadBytes;
  const maxBatchSize = options.maxBatchSize ?? coreHandlerDefaults.maxBatchSize;
  const shared: ConnectionShared<TRouter, TReq, TRes, TSession> = {
    options,
    frames,
    authTimeoutMs: options.authTimeoutMs ?? coreHandlerDefaults.authTimeoutMs,
    maxPayloadBytes,
    maxBatchSize,
    helloParams: Object.freeze({
      version: LANYARD_PROTOCOL_VERSION,
      maxPayloadBytes,
      ...(Number.isFinite(maxBatchSize) ? { maxBatchSize } : {}),
    }),
    // Without `authenticate` there is no "before auth": the one limit applies throughout.
    maxPayloadBytesBeforeAuth: options.authenticate
      ? (options.maxPayloadBytesBeforeAuth ?? authDefaults.maxPayloadBytesBeforeAuth)
      : maxPayloadBytes,
    maxQueuedCallsBeforeReady: options.maxQueuedCallsBeforeReady ?? coreHandlerDefaults.maxQueuedCallsBeforeReady,
    maxSubscriptions: options.maxSubscriptionsPerConnection ?? coreHandlerDefaults.maxSubscriptionsPerConnection,
    maxConcurrentCalls: options.maxConcurrentCallsPerConnection ?? coreHandlerDefaults.maxConcurrentCallsPerConnection,
    maxBufferedBytes: options.maxBufferedBytes ?? coreHandlerDefaults.maxBufferedBytes,
    revocations: null,
    onClosed: (connection) => connections.delete(connection),
  };
  // One timer for every connection's revalidation, not one per connection.
  const revalidation = options.revalidate
    ? setInterval(() => {
        for (const connection of connections) connection.auth.revalidate().catch((cause: unknown) => connection.reportUnexpected(cause));
      }, options.revalidateIntervalMs ?? authDefaults.revalidateIntervalMs)
    : undefined;
  revalidation?.unref?.();

  // Filters only ever see a session: connections without one (not yet authenticated, or no
  // `authenticate`) are skipped; what `authenticate` returns is a checked object (`checkSession`).
  const matching = (filter: (session: TSession) => boolean) =>
    [...connections].filter((connection) => {
      const session = connection.auth.session;
      return session !== null && connection.isOpen && filter(session);
    });
  const matchingStreams = (filter: (session: TSession) => boolean) =>
    [...streams].filter((stream) => {
      const session = stream.auth.session;
      return session !== null && stream.isOpen && filter(session);
    });
  const revokeWhere = (filter: (session: TSession) => boolean, reason: string): number => {
    const revoked = matching(filter);
    for (const connection of revoked) connection.close(CloseCode.Revoked, reason);
    // Sessions still being authenticated (or replaced) are checked against it before they go live.
    for (const connection of connections) connection.auth.noteRevocation(filter, reason);
    const revokedStreams = matchingStreams(filter);
    for (const stream of revokedStreams) stream.revoke(reason);
    return revoked.length + revokedStreams.length;
  };
  const reauthenticateWhere = (filter: (session: TSession) => boolean): number => {
    const asked = matching(filter);
    for (const connection of asked) connection.auth.requestReauthentication();
    const askedStreams = matchingStreams(filter);
    for (const stream of askedStreams) stream.requestReauthentication();
    return asked.length + askedStreams.length;
  };
  const endWhere = (sessionMatches: (session: TSession | null) => boolean, target: CheckedSubscriptionTarget, ending: SubscriptionEnding): number =>
    endSubscriptionsOn(
      [...connections, ...streams],
      (session) => (sessionMatches(session) ? (path: string, input: unknown) => subscriptionMatches(target, path, input) : null),
      ending,
    );
  const broadcastReconnect = (): number => {
    const notification: ReconnectNotification = { id: null, method: 'reconnect' };
    const frame = frames.message(notification);
    let count = 0;
    for (const connection of connections) {
      if (!connection.isOpen) continue;
      connection.send(frame);
      count++;
    }
    return count;
  };

  const cluster: ClusterSide<TSession> | null = setUpCluster<TSession>(
    options,
    {
      revoke: revokeWhere,
      requestReauthentication: reauthenticateWhere,
      broadcastReconnect,
      endSubscriptions: endWhere,
      *sessions() {
        for (const connection of connections) if (connection.auth.session !== null) yield connection.auth.session;
        for (const stream of streams) if (stream.auth.session !== null) yield stream.auth.session;
      },
      report: (cause) => reportHandlerError(options, cause),
    },
    options.revalidateIntervalMs ?? authDefaults.revalidateIntervalMs,
  );
  shared.revocations = cluster?.gate ?? null;
  const localNode = 'local';
  const needCluster = (call: string): NonNullable<typeof cluster> => {
    if (cluster === null || !cluster.gate.keyed) {
      throw new TypeError(`trpc-lanyard: ${call}({ key }) needs the sessionKeys option (and a broker to reach other nodes)`);
    }
    return cluster;
  };

  function revoke(filter: (session: TSession) => boolean, options?: RevokeOptions): number;
  function revoke(target: SessionKeyTarget, options?: ClusterRevokeOptions): Promise<ClusterResult>;
  function revoke(target: ((session: TSession) => boolean) | SessionKeyTarget, revokeOptions: RevokeOptions & ClusterRevokeOptions = {}): number | Promise<ClusterResult> {
    if (typeof target === 'function') return revokeWhere(target, revokeOptions.reason ?? 'session revoked');
    return needCluster('revoke').control.revoke(target, revokeOptions);
  }
  function requestReauthentication(filter: (session: TSession) => boolean): number;
  function requestReauthentication(target: SessionKeyTarget): Promise<ClusterResult>;
  function requestReauthentication(target: ((session: TSession) => boolean) | SessionKeyTarget): number | Promise<ClusterResult> {
    if (typeof target === 'function') return reauthenticateWhere(target);
    return needCluster('requestReauthentication').control.requestReauthentication(target);
  }

  function endSubscriptions(filter: SubscriptionFilter<TSession>, options?: EndSubscriptionsOptions): number;
  function endSubscriptions(target: SubscriptionTarget, options?: EndSubscriptionsOptions): Promise<ClusterResult>;
  function endSubscriptions(target: SubscriptionFilter<TSession> | SubscriptionTarget, endOptions?: EndSubscriptionsOptions): number | Promise<ClusterResult> {
    if (typeof target === 'function') {
      const ending = checkEnding(endOptions);
      const guard = new FilterGuard(target);
      const ended = endSubscriptionsOn([...connections, ...streams], (session) => guard.forSession(session), ending);
      const failure = guard.failure();
      if (failure !== null) reportHandlerError(options, failure);
      return ended;
    }
    if (target?.key !== undefined) return needCluster('endSubscriptions').control.endSubscriptions(target, endOptions);
    if (cluster !== null) return cluster.control.endSubscriptions(target, endOptions);
    // No broker and no sessionKeys: this node is the whole cluster.
    try {
      const affected = endWhere(() => true, checkSubscriptionTarget(target), checkEnding(endOptions));
      return Promise.resolve({ affected, waitedFor: [localNode], answered: [localNode] });
    } catch (cause) {
      return Promise.reject(cause as Error);
    }
  }

  return {
    connections,
    streams: {
      add: (stream) => void streams.add(stream),
      delete: (stream) => void streams.delete(stream),
      get revocations() {
        return shared.revocations;
      },
      report: (cause) => reportHandlerError(options, cause),
    },
    connect(socket, request) {
      const connection = new Connection(socket, request, shared);
      connections.add(connection);
      connection.start();
      return connection;
    },
    broadcastReconnectNotification() {
      if (cluster === null) {
        const affected = broadcastReconnect();
        return Promise.resolve({ affected, waitedFor: [localNode], answered: [localNode] });
      }
      const result = cluster.control.broadcastReconnectNotification();
      result.catch(() => {}); // stock's signature returns nothing: nobody has to await this
      return result;
    },
    revoke,
    requestReauthentication,
    endSubscriptions,
    closeAll(code = CloseCode.GoingAway, reason = 'server shutting down') {
      clearInterval(revalidation);
      cluster?.member.leave();
      for (const connection of [...connections]) connection.close(code, reason);
    },
  };
}
