/** Which browser origins may open a socket: a list of exact origins, or a predicate. */
export type AllowedOrigins<TReq> = readonly string[] | ((origin: string | undefined, req: TReq) => boolean);

/**
 * Whether an upgrade with this `Origin` header may proceed. Without `allowedOrigins` every
 * origin may. A request with no `Origin` (Node, React Native and other non-browser clients)
 * passes a list; a predicate decides for itself. A predicate that throws refuses, and the
 * throw goes to `onPredicateError`.
 */
export function isOriginAllowed<TReq>(
  allowed: AllowedOrigins<TReq> | undefined,
  origin: string | undefined,
  req: TReq,
  onPredicateError: (cause: unknown) => void,
): boolean {
  if (allowed === undefined) return true;
  if (typeof allowed !== 'function') return origin === undefined || allowed.includes(origin);
  // A predicate that throws (e.g. `o.endsWith(…)` with no Origin header) refuses; it must never
  // crash the process from inside the server's upgrade handling.
  try {
    return Boolean(allowed(origin, req));
  } catch (cause) {
    onPredicateError(cause);
    return false;
  }
}
