import { CONNECTION_PARAMS_FLAG, LANYARD_FLAG } from '../protocol/messages.js';
import { parseCookies } from './auth/credentials.js';
import type { ConnectionRequest } from './connection.js';

/** An upgrade request's headers as every adapter can give them (Node's `IncomingHttpHeaders` fits). */
export type UpgradeHeaders = Readonly<Record<string, string | string[] | undefined>>;

function parseUrl(rawUrl: string | undefined): URL | null {
  try {
    return new URL(rawUrl ?? '/', 'http://localhost');
  } catch {
    return null;
  }
}

/** The first `Origin` header of an upgrade request. */
export function originOf(headers: UpgradeHeaders): string | undefined {
  const origin = headers['origin'];
  return Array.isArray(origin) ? origin[0] : origin;
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
 * What the core keeps of an upgrade request for the connection's life, whatever the transport:
 * the adapter's request and socket objects, the URL (already redacted of a query-parameter
 * token), the headers, the flags and the token. The URL and cookies are parsed again each time a
 * hook asks (at authentication), not kept: a parsed `URL` costs about 0.5 KB.
 */
export class UpgradeRequest<TReq, TRes> implements ConnectionRequest<TReq, TRes> {
  readonly expectsConnectionParams: boolean;
  readonly speaksLanyard: boolean;

  constructor(
    readonly req: TReq,
    readonly res: TRes,
    private readonly rawUrl: string | undefined,
    readonly headers: UpgradeHeaders,
    readonly queryToken: string | null,
    private readonly readsCookies: boolean,
  ) {
    this.expectsConnectionParams = queryFlag(rawUrl, CONNECTION_PARAMS_FLAG);
    this.speaksLanyard = queryFlag(rawUrl, LANYARD_FLAG);
  }

  get url(): URL | null {
    return parseUrl(this.rawUrl);
  }

  get cookies(): Readonly<Record<string, string>> {
    const header = this.readsCookies ? this.headers['cookie'] : undefined;
    return header ? parseCookies(header) : NO_COOKIES;
  }
}
