/**
 * Per-subscription grants (PROTOCOL.md § 5.2): a resource token for one subscription, with its
 * own expiry, presented beside the subscription's input and refreshed in band. This module
 * imports nothing, so browser bundles can use {@link grantErrorReason} cheaply.
 */
import type { RequestId } from './messages.js';

/**
 * Where a stock client (or ours, talking to a stock server) puts a grant token: this property of
 * the subscription's input. A trpc-lanyard client talking to a trpc-lanyard server sends it
 * beside the input instead (`params.grant`), so it never lands in logs of inputs.
 */
export const GRANT_INPUT_KEY = 'grant' as const;

/**
 * Server → client, extension: send a fresh grant for the subscription `subscription` (its
 * request id on this socket) now, as a {@link GrantMessage} answering `seq`. Without one
 * the subscription's events are held from `expiresAt`, and it ends with `grant-expired` at
 * `expiresAt + graceMs`, which is `deadlineMs` from when the frame was sent.
 */
export interface GrantRefreshRequest {
  readonly id: null;
  readonly method: 'lanyard.grant.refresh';
  readonly params: {
    readonly subscription: RequestId;
    readonly reason: 'expiring';
    /** When the current grant expires (ms since the epoch, server clock). */
    readonly expiresAt: number;
    /** Milliseconds the client has before the subscription ends. */
    readonly deadlineMs: number;
    /** Increases with every grant refresh request on this connection; echoed as `answers`. */
    readonly seq: number;
  };
}

/**
 * Client → server, extension (only after `lanyard.hello`): a fresh grant token for a live
 * subscription, answering the {@link GrantRefreshRequest} with `seq` = `answers`. The server
 * verifies it and answers `id` with a {@link GrantedResult} or an error; a refused token also
 * ends the subscription (`grant-refused`).
 */
export interface GrantMessage {
  readonly id: RequestId;
  readonly method: 'lanyard.grant';
  readonly params: {
    readonly subscription: RequestId;
    readonly token: string;
    readonly answers: number;
  };
}

/** What the server answers an accepted {@link GrantMessage} with, as `result.data`. */
export interface GrantedResult {
  /** When the new grant expires (ms since the epoch, server clock), or null if it does not. */
  readonly expiresAt: number | null;
}

/**
 * Why a subscription that needs a grant failed: `error.data.lanyardReason` of its error frame
 * (added after the router's `errorFormatter`, so it is always there), sent to every client.
 */
export const GrantReason = {
  /** The subscription carried no grant token (neither `params.grant` nor `input.grant`). Code `UNAUTHORIZED`. */
  Required: 'grant-required',
  /** `verify` refused the token (its own code: `UNAUTHORIZED` or `FORBIDDEN`), at subscribe time or on a refresh. */
  Refused: 'grant-refused',
  /**
   * The grant was not refreshed in time (code `UNAUTHORIZED`). For a client that cannot refresh in
   * band (a stock client) it ends *before* the grant expires: fetch a fresh token and subscribe
   * again, with the last tracked event id, and nothing is lost.
   */
  Expired: 'grant-expired',
  /** Client side only: the app's grant provider returned `null` (gave the subscription up). */
  Withdrawn: 'grant-withdrawn',
} as const;

/** One of the strings in {@link GrantReason}. */
export type GrantReason = (typeof GrantReason)[keyof typeof GrantReason];

const reasons = new Set<unknown>(Object.values(GrantReason));

/**
 * The {@link GrantReason} of `error` (the `TRPCClientError` a subscription's `onError` received,
 * from stock `@trpc/client` or ours), or null when it is not a grant failure.
 * `grant-expired` means "subscribe again with a fresh grant"; the others mean the grant is gone.
 */
export function grantErrorReason(error: unknown): GrantReason | null {
  if (typeof error !== 'object' || error === null) return null;
  const { data, shape, message } = error as { data?: unknown; shape?: { data?: unknown } | null; message?: unknown };
  const reason = reasonOf(data) ?? reasonOf(shape?.data);
  if (reasons.has(reason)) return reason as GrantReason;
  // A server without our handler (stock `applyWSSHandler`, HTTP) adds no `lanyardReason`; `requireGrant`'s own messages still say it.
  if (typeof message === 'string' && message.startsWith(GRANT_MESSAGE_PREFIX)) {
    const named = message.slice(GRANT_MESSAGE_PREFIX.length).split(':', 1)[0];
    if (named === GrantReason.Required || named === GrantReason.Expired) return named;
  }
  return null;
}

/** `requireGrant`'s own error messages start with this, then the reason: `lanyard.grant-expired: …`. */
export const GRANT_MESSAGE_PREFIX = 'lanyard.';

function reasonOf(data: unknown): unknown {
  return typeof data === 'object' && data !== null ? (data as { lanyardReason?: unknown }).lanyardReason : undefined;
}
