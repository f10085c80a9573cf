import type { TRPCError } from '@trpc/server';
import type { SessionBase } from './auth/types.js';
import type { RevocationGate } from './cluster/revocationGate.js';

/**
 * A live session that is not a socket of ours: an SSE stream served by tRPC's HTTP adapters
 * (`createHttpAuth`). A handler's controls (`revoke`, `requestReauthentication`,
 * `endSubscriptions`, by filter or, with cluster control, by key on every node) reach it as they
 * reach the handler's connections.
 */
export interface StreamHolder<TSession extends SessionBase> {
  readonly isOpen: boolean;
  readonly auth: { readonly session: TSession | null };
  /** Ends the stream: the client is told it was revoked (`reason`) and does not open it again. */
  revoke(reason: string): void;
  /** Ends the stream so that the client opens it again with fresh credentials. */
  requestReauthentication(): void;
  /** Ends it when `match` picks its path and input; 1 if it did, else 0. */
  endSubscriptions(match: (path: string, input: unknown) => boolean, error: TRPCError): number;
}

/** What an HTTP helper gets from a handler: where its streams join the handler's live sessions. */
export interface StreamRegistry<TSession extends SessionBase> {
  add(holder: StreamHolder<TSession>): void;
  delete(holder: StreamHolder<TSession>): void;
  /** The handler's revocation records (cluster control), checked for every HTTP request; null without them. */
  readonly revocations: RevocationGate<TSession> | null;
  /** Reports a failure of the handler's own (to `onError`, else the console). */
  report(cause: unknown): void;
}

/** Where a handler's controls carry their {@link StreamRegistry} (for `createHttpAuth({ handler })`). */
export const STREAM_REGISTRY: unique symbol = Symbol.for('trpc-lanyard.streamRegistry');
