import type { IncomingMessage, ServerResponse } from 'node:http';
import { TRPCError } from '@trpc/server';
import { withdrawnReason } from './docGrant.js';
import type { GrantIssuer } from './grantTokens.js';
import type { TokenIssuer } from './tokens.js';
import type { Users } from './users.js';
import { parseDocId, parseName } from './validate.js';

/** The refresh token's cookie: HttpOnly (no script reads it), SameSite=Strict, sent only to /api. */
const COOKIE = 'lanyard_demo_refresh';
const COOKIE_ATTRIBUTES = 'HttpOnly; SameSite=Strict; Path=/api';
const MAX_BODY_BYTES = 4_096;
/** The 401's message: what the page shows when it says "signed out". */
const NOT_SIGNED_IN = 'not signed in: the refresh cookie is unknown (signed out, revoked, or the server restarted)';

export interface ApiDeps {
  readonly users: Users;
  readonly tokens: TokenIssuer;
  /** Issues the document grants. */
  readonly grants: GrantIssuer;
  /** Whether a browser origin may call the API (the page's own origin). */
  readonly originAllowed: (origin: string | undefined) => boolean;
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...headers });
  res.end(JSON.stringify(body));
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.byteLength;
    if (size > MAX_BODY_BYTES) throw new TRPCError({ code: 'PAYLOAD_TOO_LARGE' });
    chunks.push(chunk);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as unknown;
  } catch {
    throw new TRPCError({ code: 'BAD_REQUEST', message: 'the body must be JSON' });
  }
}

function refreshCookie(req: IncomingMessage): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [name, ...value] = part.trim().split('=');
    if (name === COOKIE) return value.join('=');
  }
  return undefined;
}

/** The user the request's refresh cookie stands for, unless it is missing, unknown or revoked. */
async function cookieUser(users: Users, req: IncomingMessage) {
  const cookie = refreshCookie(req);
  return cookie === undefined ? undefined : users.byRefreshToken(cookie);
}

/**
 * The token endpoints, plain JSON over HTTP:
 * - `POST /api/sign-in {name}` → sets the refresh cookie, answers `{ token }` (a new access JWT);
 * - `POST /api/token` → a new access JWT for the cookie's user, with the user's current role;
 * - `POST /api/doc-grant?doc=<id>` → `{ token, expiresAt }`: a short-lived grant for one document,
 *   for the cookie's user (401 as `/api/token`; 403 once they withdrew their access to it). The
 *   document is in the query, not a body: the cluster's page calls other nodes with bodiless POSTs;
 * - `POST /api/sign-out` → forgets the refresh token and clears the cookie.
 * Returns false for any other path.
 */
export async function handleApi(deps: ApiDeps, req: IncomingMessage, res: ServerResponse): Promise<boolean> {
  const url = new URL(req.url ?? '/', 'http://demo');
  const path = url.pathname;
  if (!path.startsWith('/api/')) return false;
  if (req.method !== 'POST') {
    send(res, 405, { error: 'use POST' }, { allow: 'POST' });
    return true;
  }
  const { origin } = req.headers;
  if (!deps.originAllowed(origin)) {
    send(res, 403, { error: 'origin not allowed' });
    return true;
  }
  // The cluster's page calls the node it fails over to (another port: another origin, the same
  // site, so the SameSite=Strict cookie goes along). Only bodiless POSTs go cross-origin (no preflight).
  if (origin !== undefined) {
    res.setHeader('access-control-allow-origin', origin);
    res.setHeader('access-control-allow-credentials', 'true');
    res.setHeader('vary', 'origin');
  }
  try {
    await route(deps, url, req, res);
  } catch (error) {
    const status = error instanceof TRPCError ? (error.code === 'PAYLOAD_TOO_LARGE' ? 413 : 400) : 500;
    send(res, status, { error: error instanceof Error ? error.message : 'failed' });
  }
  return true;
}

async function route({ users, tokens, grants }: ApiDeps, { pathname, searchParams }: URL, req: IncomingMessage, res: ServerResponse): Promise<void> {
  switch (pathname) {
    case '/api/sign-in': {
      const body = await readJson(req);
      const name = parseName(typeof body === 'object' && body !== null ? (body as { name?: unknown }).name : undefined);
      const { user, refreshToken } = await users.signIn(name);
      send(res, 200, { token: await tokens.issue(user) }, { 'set-cookie': `${COOKIE}=${refreshToken}; ${COOKIE_ATTRIBUTES}; Max-Age=86400` });
      return;
    }
    case '/api/token': {
      const user = await cookieUser(users, req);
      if (!user) send(res, 401, { error: NOT_SIGNED_IN });
      else send(res, 200, { token: await tokens.issue(user) });
      return;
    }
    case '/api/doc-grant': {
      const { docId } = parseDocId({ docId: searchParams.get('doc') });
      const user = await cookieUser(users, req);
      if (!user) {
        send(res, 401, { error: NOT_SIGNED_IN });
        return;
      }
      const access = await users.docAccess(user.id, docId);
      if (access.withdrawn) send(res, 403, { error: withdrawnReason(docId) });
      else send(res, 200, await grants.issue(user.id, docId, access.generation));
      return;
    }
    case '/api/sign-out': {
      const cookie = refreshCookie(req);
      if (cookie !== undefined) await users.signOut(cookie);
      send(res, 200, { signedOut: true }, { 'set-cookie': `${COOKIE}=; ${COOKIE_ATTRIBUTES}; Max-Age=0` });
      return;
    }
    default:
      send(res, 404, { error: 'no such endpoint' });
  }
}
