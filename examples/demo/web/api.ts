/** The demo's token endpoints (examples/demo/server/api.ts). The refresh token never reaches script: it is an HttpOnly cookie. */

/**
 * The token endpoint answered 401: the server does not know the refresh cookie (any more) — it
 * restarted and forgot everyone, the user was revoked, or signed out in another tab. Unlike a
 * network failure, retrying cannot help: the user has to sign in again.
 */
export class SignedOutError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SignedOutError';
  }
}

/** The endpoint answered with another error status (400, 403, 5xx). */
export class ApiError extends Error {
  constructor(
    message: string,
    public readonly status: number,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** `origin`: another node of the cluster ('' is the page's own server); the cookie goes along, it is the same site. */
async function post(path: string, body?: unknown, origin = ''): Promise<unknown> {
  const response = await fetch(`${origin}${path}`, {
    method: 'POST',
    credentials: 'include',
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const json = (await response.json().catch(() => ({}))) as { error?: unknown };
  const message = typeof json.error === 'string' ? json.error : `${path} answered ${response.status}`;
  if (response.status === 401) throw new SignedOutError(message);
  if (!response.ok) throw new ApiError(message, response.status);
  return json;
}

function tokenOf(json: unknown): string {
  const token = (json as { token?: unknown }).token;
  if (typeof token !== 'string') throw new Error('the server sent no token');
  return token;
}

/** Signs in (the server sets the refresh cookie) and returns the first access token. */
export async function signIn(name: string): Promise<string> {
  return tokenOf(await post('/api/sign-in', { name }));
}

/** A fresh access token for the cookie's user, carrying their current role. @throws SignedOutError on 401. */
export async function fetchAccessToken(origin = ''): Promise<string> {
  return tokenOf(await post('/api/token', undefined, origin));
}

export async function signOut(origin = ''): Promise<void> {
  await post('/api/sign-out', undefined, origin);
}

/** A document grant as `POST /api/doc-grant` answers it: the token, and when it expires (ms since the epoch). */
export interface IssuedGrant {
  readonly token: string;
  readonly expiresAt: number;
}

/**
 * A fresh grant for one document, for the cookie's user, or null when they withdrew their access
 * to it (403): no token will come, so the subscription is given up. @throws SignedOutError on 401.
 */
export async function fetchDocGrant(docId: string, origin = ''): Promise<IssuedGrant | null> {
  try {
    const { token, expiresAt } = (await post(`/api/doc-grant?doc=${encodeURIComponent(docId)}`, undefined, origin)) as Partial<IssuedGrant>;
    if (typeof token !== 'string' || typeof expiresAt !== 'number') throw new Error('the server sent no grant');
    return { token, expiresAt };
  } catch (error) {
    if (error instanceof ApiError && error.status === 403) return null;
    throw error;
  }
}
