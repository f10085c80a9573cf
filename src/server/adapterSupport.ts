import type { AnyRouter } from '@trpc/server';
import { TRPCError } from '@trpc/server';
import type { CredentialCarriers, SessionBase } from './auth/types.js';
import { ErrorReporter } from './errors.js';
import type { CoreHandler } from './handler.js';
import type { KeepAliveSweeper } from './keepAlive.js';
import type { CoreHandlerOptions } from './options.js';

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
}

/** Once per handler, at start-up: the configurations that invite an attack. */
export function warnOnRiskyOptions(credentials: CredentialCarriers | undefined, allowedOrigins: unknown): void {
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

/**
 * An adapter's {@link HandlerControls} over its core: `close` runs `beforeClose` (the adapter
 * starts refusing new sockets), stops the keep-alive sweeper, then closes every connection.
 */
export function handlerControls<TRouter extends AnyRouter, TReq, TRes, TSession extends SessionBase>(
  core: CoreHandler<TRouter, TReq, TRes, TSession>,
  sweeper: KeepAliveSweeper | null,
  beforeClose: () => void,
): HandlerControls<TSession> {
  return {
    broadcastReconnectNotification: core.broadcastReconnectNotification,
    revoke: core.revoke,
    requestReauthentication: core.requestReauthentication,
    endSubscriptions: core.endSubscriptions,
    close: () => {
      beforeClose();
      sweeper?.stop();
      core.closeAll();
    },
  };
}
