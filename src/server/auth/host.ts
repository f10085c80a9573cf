import type { AnyRouter } from '@trpc/server';
import { TRPCError } from '@trpc/server';
import { CloseCode } from '../../protocol/closeCodes.js';
import type { ErrorReporter } from '../errors.js';
import type { Frame, FrameBuilder } from '../frames.js';

/** What the authenticator needs from its connection. */
export interface AuthHost {
  readonly frames: FrameBuilder;
  readonly errors: Pick<ErrorReporter<AnyRouter, unknown>, 'report'>;
  readonly isOpen: boolean;
  /** The context calls run with from now on. */
  setContext(ctx: unknown): void;
  send(frame: Frame): void;
  close(code: number, reason: string): void;
  /** Connect-time authentication failed: answer the waiting calls, then close. */
  refuse(cause: unknown): void;
  /**
   * A valid session is in place: run the calls that wait. `grantChanged`: the calls waiting were
   * sent under a session that granted something else, and are refused instead.
   */
  ready(grantChanged: boolean): void;
  /** The session expired: let new calls wait. */
  stale(): void;
  /** Hold every live subscription's events until it is re-run ({@link reauthorizeSubscriptions}). */
  suspendSubscriptions(): void;
  /** Re-run every live subscription under the new context. */
  reauthorizeSubscriptions(): Promise<void>;
  /** Subscriptions are held (an expiry, or a grant change) and must be re-run. */
  readonly subscriptionsSuspended: boolean;
}

/** What the authenticator knows of the upgrade request. */
export interface AuthRequest<TReq, TRes> {
  readonly req: TReq;
  readonly res: TRes;
  readonly url: URL | null;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly cookies: Readonly<Record<string, string>>;
  readonly queryToken: string | null;
  readonly speaksLanyard: boolean;
}

const closeCodeByErrorCode: Partial<Record<TRPCError['code'], CloseCode>> = {
  UNAUTHORIZED: CloseCode.Unauthorized,
  FORBIDDEN: CloseCode.Forbidden,
};

/** The close code for a refused authentication: 4401, 4403, or 4500 for anything else. */
export function closeCodeFor(cause: unknown): CloseCode {
  return cause instanceof TRPCError ? (closeCodeByErrorCode[cause.code] ?? CloseCode.InternalError) : CloseCode.InternalError;
}
