import type { AnyRouter, inferRouterContext } from '@trpc/server';
import type { ErrorReporter } from './errors.js';
import type { Frame, FrameBuilder } from './frames.js';
import type { CallAbort } from './procedureCall.js';

/**
 * What running a call needs from its connection. Calls and subscriptions see only this,
 * never the socket or the connection's state machine.
 */
export interface CallScope<TRouter extends AnyRouter> {
  readonly router: TRouter;
  readonly frames: FrameBuilder;
  readonly errors: ErrorReporter<TRouter, unknown>;
  /** The context new calls run with. */
  readonly ctx: inferRouterContext<TRouter> | undefined;
  /**
   * The signals of queries and mutations in flight; the connection aborts them when it
   * ends. Each call gets its own signal, as in stock tRPC, so listeners a procedure adds to
   * it are dropped with the call instead of piling up on a signal that lives as long as the
   * connection.
   */
  readonly inFlightCalls: Set<CallAbort>;
  /** Whether frames can still be sent. */
  readonly isOpen: boolean;
  /** Sends a frame if the socket is open; drops it otherwise. */
  send(frame: Frame): void;
}
