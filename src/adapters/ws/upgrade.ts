import type { IncomingMessage } from 'node:http';
import type { WebSocket, WebSocketServer } from 'ws';
import { extractQueryToken } from '../../server/auth/credentials.js';
import type { AllowedOrigins } from '../../server/auth/origin.js';
import { isOriginAllowed } from '../../server/auth/origin.js';
import type { CredentialCarriers } from '../../server/auth/types.js';
import type { ConnectionRequest } from '../../server/connection.js';
import { originOf, UpgradeRequest } from '../../server/upgradeRequest.js';

/**
 * Whether the upgrade request's `Origin` is allowed; a predicate's throw is refused and passed to
 * `onPredicateError`. The predicate gets `req`, the adapter's request (`raw` for `ws`, the
 * `FastifyRequest` for Fastify); the header is read from `raw`, the Node request under it.
 */
export function upgradeOriginAllowed<TReq>(
  allowed: AllowedOrigins<TReq> | undefined,
  req: TReq,
  raw: IncomingMessage,
  onPredicateError: (cause: unknown) => void,
): boolean {
  return isOriginAllowed(allowed, originOf(raw.headers), req, onPredicateError);
}

/** The tokens cut out of upgrade requests' URLs, kept until `readUpgrade` hands them to `authenticate`. */
const queryTokens = new WeakMap<IncomingMessage, string | null>();

/**
 * Cuts the query-parameter token (when enabled) out of `req.url`, once per request, before any
 * user code sees the request: the Origin predicate, a `verifyClient`, `createContext`, logs.
 */
export function redactUpgradeUrl(req: IncomingMessage, credentials: CredentialCarriers | undefined): void {
  if (!credentials?.queryParam || queryTokens.has(req)) return;
  if (!req.url) {
    queryTokens.set(req, null);
    return;
  }
  const extracted = extractQueryToken(req.url, credentials.queryParam);
  queryTokens.set(req, extracted.token);
  req.url = extracted.redactedUrl;
}

/**
 * Reads what the core needs from the upgrade request `raw`: flags, headers, cookies (when
 * enabled) and the query-parameter token (when enabled), which is cut out of `raw.url` first so
 * that no log, error or `createContext` ever sees it. `req` is what the app's callbacks get as
 * the request (`raw` itself for `ws`, the `FastifyRequest` around it for Fastify).
 */
export function readUpgrade<TReq>(
  req: TReq,
  raw: IncomingMessage,
  ws: WebSocket,
  credentials: CredentialCarriers | undefined,
): ConnectionRequest<TReq, WebSocket> {
  redactUpgradeUrl(raw, credentials);
  return new UpgradeRequest(req, ws, raw.url, raw.headers, queryTokens.get(raw) ?? null, Boolean(credentials?.cookies));
}

type VerifyCallback = (result: boolean, code?: number, message?: string) => void;
type VerifyInfo = { origin: string; secure: boolean; req: IncomingMessage };
type VerifyClient = ((info: VerifyInfo) => boolean) | ((info: VerifyInfo, callback: VerifyCallback) => void);

/** What {@link installUpgradeChecks} does for the upgrades a handler serves. */
export interface UpgradeChecks {
  /** Only upgrades whose URL starts with this are the handler's; others pass untouched. */
  readonly prefix: string | undefined;
  readonly allowedOrigins: AllowedOrigins<IncomingMessage> | undefined;
  readonly credentials: CredentialCarriers | undefined;
  /** Where a throwing `allowedOrigins` predicate is reported. */
  readonly onPredicateError: (cause: unknown, req: IncomingMessage) => void;
}

/**
 * Runs in front of the server's own `verifyClient` (`ws` reads that option on every upgrade,
 * so it can be installed on a server that already exists): redacts the query-parameter token
 * first, so neither the Origin predicate nor the app's `verifyClient` ever sees it, then refuses
 * cross-origin upgrades before the socket opens (HTTP 403).
 */
export function installUpgradeChecks(wss: WebSocketServer, checks: UpgradeChecks): void {
  const options = wss.options as { verifyClient?: VerifyClient };
  const previous = options.verifyClient;
  options.verifyClient = (info: VerifyInfo, callback: VerifyCallback): void => {
    const ours = !checks.prefix || (info.req.url?.startsWith(checks.prefix) ?? false);
    if (ours) {
      redactUpgradeUrl(info.req, checks.credentials);
      const refused = (cause: unknown) => checks.onPredicateError(cause, info.req);
      if (!upgradeOriginAllowed(checks.allowedOrigins, info.req, info.req, refused)) {
        callback(false, 403, 'Origin not allowed');
        return;
      }
    }
    if (!previous) callback(true);
    else if (previous.length >= 2) (previous as (i: VerifyInfo, c: VerifyCallback) => void)(info, callback);
    else callback((previous as (i: VerifyInfo) => boolean)(info), 401);
  };
}
