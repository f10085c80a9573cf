import type { AnyRouter } from '@trpc/server';
import { TRPCError } from '@trpc/server';
import type { CredentialCarriers, SessionBase } from './auth/types.js';
import { ErrorReporter } from './errors.js';
import type { CoreHandler } from './handler.js';
import { createCoreHandler } from './handler.js';
import type { KeepAliveOptions } from './keepAlive.js';
import { keepAliveDefaults, KeepAliveSweeper } from './keepAlive.js';
import type { CoreHandlerOptions } from './options.js';
import type { StreamRegistry } from './streamRegistry.js';
import { STREAM_REGISTRY } from './streamRegistry.js';

/**
 * What every adapter's entry point returns: the core's controls (`broadcastReconnectNotification`,
 * `revoke`, `requestReauthentication` and `endSubscriptions`, each by filter on this node or by
 * session key on every node), plus `close`.
 */
export interface HandlerControls<TSession extends SessionBase = SessionBase>
  extends Pick<CoreHandler<AnyRouter, unknown, unknown, TSession>, 'broadcastReconnectNotification' | 'revoke' | 'requestReauthentication' | 'endSubscriptions'> {
  /**
   * Closes every connection with 1001 (going away), leaves the cluster and stops the handler's
   * timers. Sockets that open later are closed at once with 1001 'server shutting down'; stop
   * the server from accepting them too (`wss.close()`, `app.close()`, …).
   */
  close(): void;
  /** @internal Where `createHttpAuth({ handler })` joins its SSE streams to this handler's live sessions. */
  readonly [STREAM_REGISTRY]: StreamRegistry<TSession>;
}

/** Once per handler, at start-up: the configurations that invite an attack. */
function warnOnRiskyOptions(credentials: CredentialCarriers | undefined, allowedOrigins: unknown): void {
  if (credentials?.cookies && !allowedOrigins) {
    console.warn(
      '[trpc-lanyard] credentials.cookies is on but allowedOrigins is not set: any web page can open an authenticated socket with your users\' cookies (cross-site WebSocket hijacking). Set allowedOrigins.',
    );
  }
}

/** A throwing `allowedOrigins` predicate refused an upgrade: the app hears of it through `onError`. */
export function reportOriginPredicateError<TRouter extends AnyRouter, TReq, TRes, TSession extends SessionBase>(
  opts: CoreHandlerOptions<TRouter, TReq, TRes, TSession>,
  cause: unknown,
  req: TReq,
): void {
  const error = new TRPCError({ code: 'INTERNAL_SERVER_ERROR', message: 'allowedOrigins threw; the upgrade was refused', cause });
  new ErrorReporter(opts.router, req, opts.onError as never).notify({ error, type: 'unknown', path: undefined, input: undefined });
}

/** What every adapter sets up once per handler (see {@link createAdapterCore}). */
export interface AdapterCore<TRouter extends AnyRouter, TReq, TRes, TSession extends SessionBase> {
  readonly core: CoreHandler<TRouter, TReq, TRes, TSession>;
  /** The one keep-alive timer of the handler; null with `keepAlive` off. */
  readonly sweeper: KeepAliveSweeper | null;
  /** What the adapter's entry point returns. */
  readonly controls: HandlerControls<TSession>;
  /** Whether `controls.close()` ran: sockets that open from then on are closed with 1001. */
  readonly closed: boolean;
}

/**
 * The set-up every adapter shares: the start-up warning, the core, the keep-alive sweeper and
 * the controls, whose `close` marks the handler closed, stops the sweeper and closes every
 * connection.
 */
export function createAdapterCore<TRouter extends AnyRouter, TReq, TRes, TSession extends SessionBase>(
  opts: CoreHandlerOptions<TRouter, TReq, TRes, TSession> & { keepAlive?: KeepAliveOptions },
): AdapterCore<TRouter, TReq, TRes, TSession> {
  warnOnRiskyOptions(opts.credentials, opts.allowedOrigins);
  const core = createCoreHandler<TRouter, TReq, TRes, TSession>(opts);
  const keepAlive = { ...keepAliveDefaults, ...opts.keepAlive };
  const sweeper = keepAlive.enabled ? new KeepAliveSweeper(keepAlive.pingMs, keepAlive.pongWaitMs) : null;
  let closed = false;
  const controls: HandlerControls<TSession> = {
    broadcastReconnectNotification: core.broadcastReconnectNotification,
    revoke: core.revoke,
    requestReauthentication: core.requestReauthentication,
    endSubscriptions: core.endSubscriptions,
    [STREAM_REGISTRY]: core.streams,
    close: () => {
      closed = true;
      sweeper?.stop();
      core.closeAll();
    },
  };
  return {
    core,
    sweeper,
    controls,
    get closed() {
      return closed;
    },
  };
}
