import { extractQueryToken } from '../../server/auth/credentials.js';
import type { CredentialCarriers } from '../../server/auth/types.js';
import type { UWSHttpRequest, UWSHttpResponse, UWSUpgradeRequest } from './types.js';

/** What the adapter keeps of an upgrade request: the copy user code sees, and what only `authenticate` gets. */
export interface UpgradeSnapshot {
  readonly request: UWSUpgradeRequest;
  /** The query-parameter token (when `credentials.queryParam` is on and the URL had it), else null. */
  readonly queryToken: string | null;
  readonly secWebSocketKey: string;
  /** The sub-protocol the response names: the first the client offered (as `ws` picks by default), or `''`. */
  readonly secWebSocketProtocol: string;
  readonly secWebSocketExtensions: string;
}

/** Every header as one record, names lower-case (uWS gives them so), repeated headers joined. */
function readHeaders(req: UWSHttpRequest): Record<string, string> {
  const headers = Object.create(null) as Record<string, string>;
  req.forEach((key, value) => {
    const before = headers[key];
    headers[key] = before === undefined ? value : `${before}${key === 'cookie' ? '; ' : ', '}${value}`;
  });
  return headers;
}

/** The first protocol of a `Sec-WebSocket-Protocol` list, or `''` when none was offered. */
function firstProtocol(offered: string): string {
  const comma = offered.indexOf(',');
  return (comma < 0 ? offered : offered.slice(0, comma)).trim();
}

/**
 * Copies what the connection needs out of uWS's `HttpRequest`, which is only readable during the
 * synchronous `upgrade` handler. The query-parameter token (when `credentials.queryParam` is on)
 * is cut out of the URL here, before any user code (the Origin predicate, `createContext`,
 * `onError`, logs) can see it.
 */
export function readUpgrade(res: UWSHttpResponse, req: UWSHttpRequest, credentials: CredentialCarriers | undefined): UpgradeSnapshot {
  const query = req.getQuery();
  let url = query ? `${req.getUrl()}?${query}` : req.getUrl();
  let queryToken: string | null = null;
  if (credentials?.queryParam) {
    const extracted = extractQueryToken(url, credentials.queryParam);
    queryToken = extracted.token;
    url = extracted.redactedUrl;
  }
  const headers = readHeaders(req);
  return {
    request: {
      method: req.getMethod().toUpperCase(),
      url,
      headers,
      remoteAddress: Buffer.from(res.getRemoteAddressAsText()).toString('utf8'),
    },
    queryToken,
    // uWS's own reading (the first of repeated headers): it checked this key before calling us.
    secWebSocketKey: req.getHeader('sec-websocket-key'),
    secWebSocketProtocol: firstProtocol(req.getHeader('sec-websocket-protocol')),
    secWebSocketExtensions: req.getHeader('sec-websocket-extensions'),
  };
}

/** Refuses an upgrade with an HTTP status (e.g. `'403 Forbidden'`) and closes the connection; no socket opens. */
export function refuseUpgrade(res: UWSHttpResponse, status: string, body: string): void {
  res.writeStatus(status);
  res.end(body, true);
}
