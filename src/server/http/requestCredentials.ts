import type { TRPCRequestInfo } from '@trpc/server/http';
import { extractQueryToken, parseCookies } from '../auth/credentials.js';
import type { CredentialCarriers } from '../auth/types.js';

/** An HTTP request as tRPC's adapters hand it to `createContext`: Node's `IncomingMessage`, a fetch `Request`, a `FastifyRequest`. */
export interface AnyHttpRequest {
  readonly headers: unknown;
  readonly url?: string | undefined;
}

/** What `createContext` receives from any of tRPC's HTTP adapters, as far as `createHttpAuth` reads it. */
export interface HttpContextOptions {
  readonly req: AnyHttpRequest;
  readonly info: TRPCRequestInfo;
}

/** What `authenticate` gets from one HTTP request (the same carriers as a WebSocket upgrade). */
export interface HttpCredentials {
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly cookies: Readonly<Record<string, string>>;
  readonly queryToken: string | null;
  /** The request URL with a query-parameter token redacted; parsed when first read. */
  readonly url: URL | null;
  readonly origin: string | undefined;
}

const NO_COOKIES: Readonly<Record<string, string>> = Object.freeze(Object.create(null) as Record<string, string>);

/** The headers of a Node/Fastify request (an object) or a fetch `Request` (`Headers`), as an object with lower-case names. */
export function headersOf(req: AnyHttpRequest): Record<string, string | string[] | undefined> {
  const { headers } = req;
  // A fetch `Headers` from any implementation (Node's, undici's, a polyfill): read through its methods.
  if (typeof headers === 'object' && headers !== null && typeof (headers as Headers).forEach === 'function' && typeof (headers as Headers).get === 'function') {
    const out: Record<string, string> = {};
    (headers as Headers).forEach((value, name) => {
      out[name] = value;
    });
    return out;
  }
  return typeof headers === 'object' && headers !== null ? (headers as Record<string, string | string[] | undefined>) : {};
}

/** The carriers of one request: headers always; cookies and the query token only when `credentials` turns them on. */
export function readCredentials(req: AnyHttpRequest, credentials: CredentialCarriers | undefined): HttpCredentials {
  const headers = headersOf(req);
  let rawUrl = req.url ?? '/';
  let queryToken: string | null = null;
  if (credentials?.queryParam) {
    const extracted = extractQueryToken(rawUrl, credentials.queryParam);
    queryToken = extracted.token;
    rawUrl = extracted.redactedUrl;
  }
  const origin = headers['origin'];
  let url: URL | null | undefined;
  return {
    headers,
    cookies: credentials?.cookies ? parseCookies(headers['cookie']) : NO_COOKIES,
    queryToken,
    // Parsed when read, once: most `authenticate` hooks never look at it (as on the WebSocket path).
    get url(): URL | null {
      return (url ??= parseUrl(rawUrl));
    },
    origin: Array.isArray(origin) ? origin[0] : origin,
  };
}

function parseUrl(rawUrl: string): URL | null {
  try {
    return new URL(rawUrl, 'http://localhost');
  } catch {
    return null;
  }
}
