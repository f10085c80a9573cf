import { parse } from 'cookie';

/** The placeholder a redacted query-parameter token is replaced with. */
export const REDACTED = 'REDACTED';

/** One cookie value: one pair of surrounding double quotes removed, then URI-decoded when valid. */
function decodeCookieValue(raw: string): string {
  const value = raw.length >= 2 && raw.startsWith('"') && raw.endsWith('"') ? raw.slice(1, -1) : raw;
  if (!value.includes('%')) return value;
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

/**
 * Parses a `Cookie` header into name → value with the `cookie` package (the parser Express and
 * Fastify use): the first occurrence of a name wins, pairs without `=` or without a name are
 * skipped, values lose one pair of surrounding double quotes and are URI-decoded when valid.
 * The result has no `Object.prototype`: a cookie named `constructor` or `__proto__` is an
 * ordinary entry, and a name that was not sent is always `undefined`.
 */
export function parseCookies(header: string | string[] | undefined): Record<string, string> {
  const text = Array.isArray(header) ? header.join('; ') : header;
  if (!text) return Object.create(null) as Record<string, string>;
  // `parse` only ever assigns decoded strings.
  const cookies = parse(text, { decode: decodeCookieValue }) as Record<string, string>;
  delete cookies[''];
  return cookies;
}

/**
 * Takes the token out of `rawUrl`'s query parameter `name`: returns the token and the URL with
 * its value replaced by {@link REDACTED}, so that nothing downstream can log it.
 */
export function extractQueryToken(rawUrl: string, name: string): { token: string | null; redactedUrl: string } {
  const queryStart = rawUrl.indexOf('?');
  if (queryStart < 0) return { token: null, redactedUrl: rawUrl };
  const params = new URLSearchParams(rawUrl.slice(queryStart + 1));
  const token = params.get(name);
  if (token === null) return { token: null, redactedUrl: rawUrl };
  params.set(name, REDACTED);
  return { token, redactedUrl: `${rawUrl.slice(0, queryStart)}?${params.toString()}` };
}
