import type { MiddlewareFunction } from '@trpc/server/unstable-core-do-not-import';
import { StreamEndReason } from '../../protocol/streamEnd.js';
import { httpSessionOf } from './record.js';
import { SseStream, streamEndError } from './sseStream.js';

/** The options of a middleware, as far as {@link sessionLifecycle} reads them. */
interface MiddlewareOptions {
  ctx: unknown;
  path: string;
  type: 'query' | 'mutation' | 'subscription';
  getRawInput(): Promise<unknown>;
  next(): Promise<{ ok: boolean; data?: unknown }>;
}

async function lifecycle(opts: MiddlewareOptions): Promise<unknown> {
  const record = httpSessionOf(opts.ctx);
  // Not a request `createHttpAuth` authenticated (our WebSocket handler governs its own sessions).
  if (record === undefined) return opts.next();
  if (record.expiresAt !== null && Date.now() >= record.expiresAt) throw streamEndError(StreamEndReason.CredentialsExpired, 'the credentials have expired');
  if (opts.type !== 'subscription') return opts.next();
  const input = await opts.getRawInput();
  const result = await opts.next();
  if (!result.ok) return result;
  const stream = new SseStream(record, opts.path, input);
  return { ...result, data: stream.govern(result.data) };
}

/**
 * A middleware for procedures served over HTTP with `createHttpAuth`: a call whose session has
 * expired is refused (`UNAUTHORIZED`, `credentials-expired`), and an SSE subscription's stream ends when
 * its session is about to expire, is revoked, or is asked for fresh credentials (PROTOCOL.md § 10).
 * Put it on your base procedure: `t.procedure.use(sessionLifecycle)`. Under our WebSocket handler
 * (which governs its own sessions) and for contexts `createHttpAuth` did not make, it does nothing.
 */
export const sessionLifecycle = lifecycle as unknown as MiddlewareFunction<object, unknown, object, object, unknown>;
