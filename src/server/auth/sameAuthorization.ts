import type { SessionBase } from './types.js';

/** JSON with object keys sorted, so key order never makes two equal sessions differ. */
function stableJson(value: unknown): string {
  return JSON.stringify(value, (_key, inner: unknown) => {
    if (typeof inner !== 'object' || inner === null || Array.isArray(inner)) return inner;
    const sorted: Record<string, unknown> = {};
    for (const key of Object.keys(inner).sort()) sorted[key] = (inner as Record<string, unknown>)[key];
    return sorted;
  });
}

/**
 * The default `sameAuthorization`: the two sessions are equal as JSON once `expiresAt` is set
 * aside. Anything else that changed (user, roles, even a token kept in the session) counts as
 * a change, and live subscriptions are re-authorised: safe, if not always necessary.
 */
export function defaultSameAuthorization(previous: SessionBase, next: SessionBase): boolean {
  return stableJson({ ...previous, expiresAt: undefined }) === stableJson({ ...next, expiresAt: undefined });
}
