import type { FastifyInstance } from 'fastify';
import type { HandlerControls } from '../../server/adapterSupport.js';
import type { SessionBase } from '../../server/auth/types.js';

/** The name of the decorator that holds every WebSocket handler's controls. */
export const HANDLERS_DECORATOR = 'trpcLanyard';

/**
 * The controls of every trpc-lanyard WebSocket handler registered in a Fastify context, by
 * prefix: `app.trpcLanyard.get('/trpc')?.revoke(…)`. One registry per Fastify context tree: the
 * first registration decorates the context it is registered in (the plugin's own routes and
 * hooks stay encapsulated, as with stock's plugin), later ones, there or in child contexts, add
 * to it.
 */
export interface FastifyLanyardHandlers {
  /**
   * The controls of the handler serving WebSockets at `prefix`: the full route prefix (that of
   * enclosing registrations included), as the client's URL path has it, e.g. `'/trpc'`; `''`
   * (or `'/'`) for a registration without one. Trailing slashes are ignored.
   *
   * @typeParam TSession - the handler's session type (what its `authenticate` returns), for
   * typed `revoke` / `requestReauthentication` / `endSubscriptions` filters; not checked at run time.
   */
  get<TSession extends SessionBase = SessionBase>(prefix: string): HandlerControls<TSession> | undefined;
  /** The prefixes with a handler, in registration order. */
  readonly prefixes: readonly string[];
}

declare module 'fastify' {
  interface FastifyInstance {
    /**
     * trpc-lanyard's WebSocket handlers, by prefix (`revoke`, `requestReauthentication`,
     * `endSubscriptions`, `broadcastReconnectNotification`, `close`). Set by `trpc-lanyard/fastify`'s plugin with
     * `useWSS`.
     */
    trpcLanyard: FastifyLanyardHandlers;
  }
}

/** `/trpc/` and `/trpc` are one prefix, and so are `/` and ``. */
function normalise(prefix: string): string {
  return prefix.replace(/\/+$/, '');
}

class HandlerRegistry implements FastifyLanyardHandlers {
  private readonly byPrefix = new Map<string, HandlerControls<SessionBase>>();

  get<TSession extends SessionBase = SessionBase>(prefix: string): HandlerControls<TSession> | undefined {
    // The session type is the caller's word (see the interface); controls are filters over sessions.
    return this.byPrefix.get(normalise(prefix)) as HandlerControls<TSession> | undefined;
  }

  get prefixes(): readonly string[] {
    return [...this.byPrefix.keys()];
  }

  add(prefix: string, controls: HandlerControls<SessionBase>): void {
    const key = normalise(prefix);
    if (this.byPrefix.has(key)) throw new Error(`trpc-lanyard/fastify: a WebSocket handler is already registered at '${key || '/'}'`);
    this.byPrefix.set(key, controls);
  }
}

/** Decorates `fastify` (the context the plugin was registered in) with the registry, unless it or a parent already has it. */
export function ensureRegistry(fastify: FastifyInstance): void {
  if (!fastify.hasDecorator(HANDLERS_DECORATOR)) fastify.decorate(HANDLERS_DECORATOR, new HandlerRegistry());
}

/** Records a handler's controls under its route prefix. */
export function addHandler(fastify: FastifyInstance, prefix: string, controls: HandlerControls<SessionBase>): void {
  (fastify[HANDLERS_DECORATOR] as HandlerRegistry).add(prefix, controls);
}
