import { TRPCError } from '@trpc/server';
import { STREAM_END_MESSAGE_PREFIX, StreamEndReason } from '../../protocol/streamEnd.js';
import { SUBSCRIPTION_ENDED_REASON } from '../../protocol/subscriptionEnded.js';
import type { SessionBase } from '../auth/types.js';
import { endStreamWhen } from '../streamEnd.js';
import type { StreamHolder, StreamRegistry } from '../streamRegistry.js';

/** The error an SSE stream (or an HTTP call) ends with, its message saying why (`lanyard.<reason>: …`). */
export function streamEndError(reason: StreamEndReason, detail: string): TRPCError {
  const code = reason === StreamEndReason.Revoked ? 'FORBIDDEN' : 'UNAUTHORIZED';
  return new TRPCError({ code, message: `${STREAM_END_MESSAGE_PREFIX}${reason}: ${detail}` });
}

/** What one SSE subscription knows of its session. */
export interface StreamTerms<TSession extends SessionBase> {
  readonly session: TSession;
  readonly expiresAt: number | null;
  readonly refreshAheadMs: number;
  readonly registry: StreamRegistry<TSession>;
}

/**
 * One subscription streamed over SSE by tRPC's HTTP adapters, under a session `createHttpAuth`
 * accepted, and a live session of the handler's registry while it runs. It ends with an error
 * whose message says why (PROTOCOL.md § 10), so `httpSubscriptionLink` fails it and a `retryLink`
 * opens it again (fresh credentials, last event id) or not:
 * - `session-expired` at the refresh point, `refreshAheadMs` before `expiresAt` (at most half the
 *   session's lifetime, counted from `issuedAt` when the session has one), while that point is
 *   still ahead when the stream starts; at `expiresAt` otherwise (a client that presented the same
 *   credentials again gets the rest of their life, not a storm of ever shorter streams);
 * - `revoked` or `reauthentication-requested` when the handler revokes the session or asks for
 *   fresh credentials; `subscription-ended` when it ends the subscription (`endSubscriptions`).
 */
export class SseStream<TSession extends SessionBase> implements StreamHolder<TSession> {
  private ended = false;
  private end: (error: Error) => void = () => {};
  private timer: ReturnType<typeof setTimeout> | undefined;
  readonly auth: { readonly session: TSession };

  constructor(
    private readonly terms: StreamTerms<TSession>,
    private readonly path: string,
    private readonly input: unknown,
  ) {
    this.auth = { session: terms.session };
  }

  get isOpen(): boolean {
    return !this.ended;
  }

  /** `stream` (the procedure's result), ending as described above; registers this stream until it ends. */
  govern(stream: unknown): unknown {
    const ending = new Promise<Error>((resolve) => (this.end = resolve));
    this.terms.registry.add(this);
    this.schedule();
    return endStreamWhen(stream, ending, () => this.dispose());
  }

  revoke(reason: string): void {
    this.finish(streamEndError(StreamEndReason.Revoked, reason));
  }

  requestReauthentication(): void {
    this.finish(streamEndError(StreamEndReason.ReauthenticationRequested, 'the server asked for fresh credentials'));
  }

  endSubscriptions(match: (path: string, input: unknown) => boolean, error: TRPCError): number {
    if (this.ended || !match(this.path, this.input)) return 0;
    this.finish(new TRPCError({ code: error.code, message: `${STREAM_END_MESSAGE_PREFIX}${SUBSCRIPTION_ENDED_REASON}: ${error.message}` }));
    return 1;
  }

  private schedule(): void {
    const { expiresAt, refreshAheadMs, session } = this.terms;
    if (expiresAt === null) return;
    const nowMs = Date.now();
    const issuedAt = session.issuedAt;
    const aheadMs = typeof issuedAt === 'number' ? Math.min(refreshAheadMs, Math.max(0, expiresAt - issuedAt) / 2) : refreshAheadMs;
    const refreshAt = expiresAt - aheadMs;
    const endAt = refreshAt > nowMs ? refreshAt : expiresAt;
    const detail = endAt < expiresAt ? 'the session is about to expire' : 'the session expired';
    this.timer = setTimeout(() => this.finish(streamEndError(StreamEndReason.SessionExpired, detail)), Math.max(0, endAt - nowMs));
  }

  private finish(error: Error): void {
    if (this.ended) return;
    this.end(error);
    this.dispose();
  }

  private dispose(): void {
    this.ended = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.terms.registry.delete(this);
  }
}
