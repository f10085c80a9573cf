import { isErrorCode } from '../control/subscriptionTarget.js';
import type { ControlCommand, ControlEnvelope, ControlReply, RevocationRecord } from '../control/types.js';

/**
 * The control bus's messages as stored in Redis and sent over pub/sub: JSON, checked field by field when
 * read back, so a malformed entry (another version, a hand-written one) is skipped, never applied half-read.
 */

type Fields = Record<string, unknown>;

function parseObject(text: string): Fields | null {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Fields) : null;
  } catch {
    return null;
  }
}

const isString = (value: unknown): value is string => typeof value === 'string';
const isTime = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value);

function toCommand(value: unknown): ControlCommand | null {
  if (typeof value !== 'object' || value === null) return null;
  const c = value as Fields;
  switch (c.kind) {
    case 'revoke':
      return isString(c.key) && isString(c.reason) && isTime(c.revokedAt)
        ? { kind: 'revoke', key: c.key, reason: c.reason, revokedAt: c.revokedAt }
        : null;
    case 'reauthenticate':
      return isString(c.key) ? { kind: 'reauthenticate', key: c.key } : null;
    case 'reconnect':
      return { kind: 'reconnect' };
    case 'end-subscriptions':
      return toEndSubscriptions(c);
    default:
      return null;
  }
}

const isOptionalName = (value: unknown): value is string | undefined => value === undefined || (isString(value) && value.length > 0);

/** An `end-subscriptions` command: `key` or `path` (non-empty strings), an optional JSON `input` pattern, a tRPC `code`, a `reason`. */
function toEndSubscriptions(c: Fields): ControlCommand | null {
  const { key, path, input, code, reason } = c;
  if (!isOptionalName(key) || !isOptionalName(path) || (key === undefined && path === undefined)) return null;
  if (!isErrorCode(code) || !isString(reason)) return null;
  return {
    kind: 'end-subscriptions',
    ...(key === undefined ? {} : { key }),
    ...(path === undefined ? {} : { path }),
    ...(input === undefined ? {} : { input }),
    code,
    reason,
  };
}

export function encodeEnvelope(envelope: ControlEnvelope): string {
  return JSON.stringify(envelope);
}

/** The envelope in a log entry; null when it is not one. */
export function decodeEnvelope(text: string): ControlEnvelope | null {
  const e = parseObject(text);
  if (e === null || !isString(e.id) || !isString(e.from) || !isTime(e.sentAt)) return null;
  const appliedBy = e.appliedBy === null ? null : isString(e.appliedBy) ? e.appliedBy : undefined;
  const command = toCommand(e.command);
  if (appliedBy === undefined || command === null) return null;
  return { id: e.id, from: e.from, appliedBy, sentAt: e.sentAt, command };
}

export function encodeReply(reply: ControlReply): string {
  return JSON.stringify(reply);
}

/** A reply published to a poster; null when it is not one. */
export function decodeReply(text: string): ControlReply | null {
  const r = parseObject(text);
  if (r === null || !isString(r.id) || !isString(r.node) || typeof r.affected !== 'number' || !(r.affected >= 0)) return null;
  return { id: r.id, node: r.node, affected: r.affected };
}

export function encodeRecord(record: RevocationRecord): string {
  return JSON.stringify({ key: record.key, reason: record.reason, revokedAt: record.revokedAt });
}

/** A stored revocation record of `key`; null when the value is not one (or names another key). */
export function decodeRecord(key: string, text: unknown): RevocationRecord | null {
  if (!isString(text)) return null;
  const r = parseObject(text);
  if (r === null || r.key !== key || !isString(r.reason) || !isTime(r.revokedAt)) return null;
  return { key, reason: r.reason, revokedAt: r.revokedAt };
}
