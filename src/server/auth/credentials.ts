/** The placeholder a redacted query-parameter token is replaced with. */
export const REDACTED = 'REDACTED';

/** Parses a `Cookie` header into name → value (first occurrence wins, values URI-decoded when valid). */
export function parseCookies(header: string | string[] | undefined): Record<string, string> {
  const cookies: Record<string, string> = {};
  const text = Array.isArray(header) ? header.join('; ') : header;
  if (!text) return cookies;
  for (const part of text.split(';')) {
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    const name = part.slice(0, eq).trim();
    if (!name || name in cookies) continue;
    let value = part.slice(eq + 1).trim();
    if (value.startsWith('"') && value.endsWith('"') && value.length >= 2) value = value.slice(1, -1);
    try {
      cookies[name] = decodeURIComponent(value);
    } catch {
      cookies[name] = value;
    }
  }
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
