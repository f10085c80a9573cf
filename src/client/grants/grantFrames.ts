/** Reading `lanyard.grant.refresh` and the answers to `lanyard.grant`, and building `lanyard.grant` (PROTOCOL.md § 5.2). */
import type { GrantMessage, GrantRefreshRequest } from '../../protocol/grants.js';
import type { ResponseMessage } from '../calls/call.js';

/** What the client reads of a `lanyard.grant.refresh`. */
export type GrantRefreshAsk = Pick<GrantRefreshRequest['params'], 'subscription' | 'seq' | 'deadlineMs'>;

/** The params of a well-formed `lanyard.grant.refresh`, or `null` for anything else (malformed frames are ignored). */
export function readGrantRefresh(message: object): GrantRefreshAsk | null {
  const { method, params } = message as { method?: unknown; params?: unknown };
  if (method !== 'lanyard.grant.refresh' || typeof params !== 'object' || params === null) return null;
  const { subscription, seq, deadlineMs } = params as Record<string, unknown>;
  if (typeof subscription !== 'number' && typeof subscription !== 'string') return null;
  if (typeof seq !== 'number' || !Number.isInteger(seq) || seq < 0) return null;
  if (typeof deadlineMs !== 'number' || !(deadlineMs >= 0)) return null;
  return { subscription, seq, deadlineMs };
}

/** `lanyard.grant` answering refresh `answers` of the subscription with wire id `subscription`. */
export function grantMessage(id: number, subscription: number, token: string, answers: number): GrantMessage {
  return { id, method: 'lanyard.grant', params: { subscription, token, answers } };
}

/** TRPC error codes after which presenting the same token again cannot help. */
const FINAL_CODES = new Set<unknown>(['UNAUTHORIZED', 'FORBIDDEN', 'BAD_REQUEST']);

/**
 * Whether an error answer to `lanyard.grant` is final: a refusal (the server ends the
 * subscription itself, `grant-refused`) or not an answer to a pending request (`BAD_REQUEST`).
 * Anything else (`TIMEOUT`, `INTERNAL_SERVER_ERROR`) may be answered again, same `seq`.
 */
export function isFinalGrantError(answer: ResponseMessage): boolean {
  if (!('error' in answer)) return true;
  const data = answer.error.data as { code?: unknown; lanyardReason?: unknown } | null | undefined;
  if (typeof data !== 'object' || data === null) return false;
  return data.lanyardReason !== undefined || FINAL_CODES.has(data.code);
}
