import type { IncomingMessage } from 'node:http';
import type { WebSocket, WebSocketServer } from 'ws';
import { CONNECTION_PARAMS_FLAG, LANYARD_FLAG } from '../../protocol/messages.js';
import { extractQueryToken, parseCookies } from '../../server/auth/credentials.js';
import type { AllowedOrigins } from '../../server/auth/origin.js';
import { isOriginAllowed } from '../../server/auth/origin.js';
import type { CredentialCarriers } from '../../server/auth/types.js';
import type { ConnectionRequest } from '../../server/connection.js';

function parseUrl(rawUrl: string | undefined): URL | null {
  try {
    return new URL(rawUrl ?? '/', 'http://localhost');
  } catch {
    return null;
  }
}

function originOf(req: IncomingMessage): string | undefined {
  const origin = req.headers.origin;
  return Array.isArray(origin) ? origin[0] : origin;
}

/** Whether the upgrade request's `Origin` is allowed; a predicate's throw is refused and passed to `onPredicateError`. */
export function upgradeOriginAllowed(
  allowed: AllowedOrigins<IncomingMessage> | undefined,
  req: IncomingMessage,
  onPredicateError: (cause: unknown) => void,
): boolean {
  return isOriginAllowed(allowed, originOf(req), req, onPredicateError);
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

/** The cookies of a request when `credentials.cookies` is off (or it sent none): one frozen empty record for all. */
const NO_COOKIES: Readonly<Record<string, string>> = Object.freeze(Object.create(null) as Record<string, string>);

/**
 * Whether `rawUrl`'s query has `name=1` (as `new URL(rawUrl).searchParams.get(name) === '1'`),
 * without parsing the URL: the connect path reads two flags and keeps nothing.
 */
export function queryFlag(rawUrl: string | undefined, name: string): boolean {
  if (rawUrl === undefined) return false;
  const queryStart = rawUrl.indexOf('?');
  const hashStart = rawUrl.indexOf('#');
  if (queryStart < 0 || (hashStart >= 0 && hashStart < queryStart)) return false;
  const query = rawUrl.slice(queryStart + 1, hashStart < 0 ? undefined : hashStart);
  // Escapes and `+` need URLSearchParams' decoding (our own clients never send them); the `&`
  // keeps its constructor from dropping a leading `?`, which is part of the first name here.
  if (query.includes('%') || query.includes('+')) return new URLSearchParams(`&${query}`).get(name) === '1';
  for (const pair of query.split('&')) {
    const equals = pair.indexOf('=');
    if ((equals < 0 ? pair : pair.slice(0, equals)) === name) return equals >= 0 && pair.slice(equals + 1) === '1';
  }
  return false;
}

/**
 * What the core keeps of a `ws` upgrade request for the connection's life: the request, the
 * socket, the flags and the query-parameter token. The URL and cookies are parsed again each
 * time a hook asks (at authentication), not kept: a parsed `URL` costs about 0.5 KB.
 */
class UpgradeRequest implements ConnectionRequest<IncomingMessage, WebSocket> {
  readonly expectsConnectionParams: boolean;
  readonly speaksLanyard: boolean;

  constructor(
    readonly req: IncomingMessage,
    readonly res: WebSocket,
    readonly queryToken: string | null,
    private readonly readsCookies: boolean,
  ) {
    this.expectsConnectionParams = queryFlag(req.url, CONNECTION_PARAMS_FLAG);
    this.speaksLanyard = queryFlag(req.url, LANYARD_FLAG);
  }

  get url(): URL | null {
    return parseUrl(this.req.url);
  }

  get headers(): IncomingMessage['headers'] {
    return this.req.headers;
  }

  get cookies(): Readonly<Record<string, string>> {
    const header = this.readsCookies ? this.req.headers.cookie : undefined;
    return header ? parseCookies(header) : NO_COOKIES;
  }
}

/**
 * Reads what the core needs from the upgrade request: flags, headers, cookies (when enabled)
 * and the query-parameter token (when enabled), which is cut out of `req.url` first so that no
 * log, error or `createContext` ever sees it.
 */
export function readUpgrade(req: IncomingMessage, ws: WebSocket, credentials: CredentialCarriers | undefined): ConnectionRequest<IncomingMessage, WebSocket> {
  redactUpgradeUrl(req, credentials);
  return new UpgradeRequest(req, ws, queryTokens.get(req) ?? null, Boolean(credentials?.cookies));
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
      if (!upgradeOriginAllowed(checks.allowedOrigins, info.req, refused)) {
        callback(false, 403, 'Origin not allowed');
        return;
      }
    }
    if (!previous) callback(true);
    else if (previous.length >= 2) (previous as (i: VerifyInfo, c: VerifyCallback) => void)(info, callback);
    else callback((previous as (i: VerifyInfo) => boolean)(info), 401);
  };
}
