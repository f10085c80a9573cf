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

/** Whether the upgrade request's `Origin` is allowed. */
export function upgradeOriginAllowed(allowed: AllowedOrigins<IncomingMessage> | undefined, req: IncomingMessage): boolean {
  return isOriginAllowed(allowed, originOf(req), req);
}

/**
 * Reads what the core needs from the upgrade request: flags, headers, cookies (when enabled)
 * and the query-parameter token (when enabled), which is cut out of `req.url` first so that no
 * log, error or `createContext` ever sees it.
 */
export function readUpgrade(req: IncomingMessage, ws: WebSocket, credentials: CredentialCarriers | undefined): ConnectionRequest<IncomingMessage, WebSocket> {
  let queryToken: string | null = null;
  if (credentials?.queryParam && req.url) {
    const extracted = extractQueryToken(req.url, credentials.queryParam);
    queryToken = extracted.token;
    req.url = extracted.redactedUrl;
  }
  const url = parseUrl(req.url);
  return {
    req,
    res: ws,
    url,
    headers: req.headers,
    cookies: parseCookies(credentials?.cookies ? req.headers.cookie : undefined),
    queryToken,
    expectsConnectionParams: url?.searchParams.get(CONNECTION_PARAMS_FLAG) === '1',
    speaksLanyard: url?.searchParams.get(LANYARD_FLAG) === '1',
  };
}

type VerifyCallback = (result: boolean, code?: number, message?: string) => void;
type VerifyInfo = { origin: string; secure: boolean; req: IncomingMessage };
type VerifyClient = ((info: VerifyInfo) => boolean) | ((info: VerifyInfo, callback: VerifyCallback) => void);

/**
 * Refuses cross-origin upgrades before the socket opens (HTTP 403), by chaining a check in
 * front of the server's own `verifyClient`. `ws` reads that option on every upgrade, so it
 * can be installed on a server that already exists. Returns what undoes it.
 */
export function installOriginCheck(wss: WebSocketServer, allowed: AllowedOrigins<IncomingMessage>): () => void {
  const options = wss.options as { verifyClient?: VerifyClient };
  const previous = options.verifyClient;
  const check = (info: VerifyInfo, callback: VerifyCallback): void => {
    if (!upgradeOriginAllowed(allowed, info.req)) {
      callback(false, 403, 'Origin not allowed');
      return;
    }
    if (!previous) callback(true);
    else if (previous.length >= 2) (previous as (i: VerifyInfo, c: VerifyCallback) => void)(info, callback);
    else callback((previous as (i: VerifyInfo) => boolean)(info), 401);
  };
  options.verifyClient = check;
  return () => {
    if (options.verifyClient === check) options.verifyClient = previous;
  };
}
