/** Which browser origins may open a socket: a list of exact origins, or a predicate. */
export type AllowedOrigins<TReq> = readonly string[] | ((origin: string | undefined, req: TReq) => boolean);

/**
 * Whether an upgrade with this `Origin` header may proceed. Without `allowedOrigins` every
 * origin may. A request with no `Origin` (Node, React Native and other non-browser clients)
 * passes a list; a predicate decides for itself.
 */
export function isOriginAllowed<TReq>(allowed: AllowedOrigins<TReq> | undefined, origin: string | undefined, req: TReq): boolean {
  if (allowed === undefined) return true;
  if (typeof allowed === 'function') return allowed(origin, req);
  return origin === undefined || allowed.includes(origin);
}
