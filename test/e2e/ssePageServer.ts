import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createHTTPHandler } from '@trpc/server/adapters/standalone';
import { build, defaultClientConditions } from 'vite';
import { parseCookies } from '../../src/server/auth/credentials.js';
import type { RecordedRequest } from '../fixtures/sseServer.js';
import { createSseApp, issueToken, recordRequests, sessionOfToken } from '../fixtures/sseServer.js';

/** The page's sources. */
const pageRoot = fileURLToPath(new URL('./sse-page/', import.meta.url));

/** Builds the SSE test page with Vite into `outDir` (`trpc-lanyard` resolved to src/, as in the demo). */
export async function buildSsePage(outDir: string): Promise<void> {
  await build({
    configFile: false,
    root: pageRoot,
    logLevel: 'warn',
    mode: 'production',
    resolve: { conditions: ['@trpc-lanyard/source', ...defaultClientConditions] },
    build: { outDir, emptyOutDir: true, sourcemap: true },
  });
}

/** The HttpOnly cookie the access token travels in; only the tRPC endpoint gets it. */
export const ACCESS_COOKIE = 'sse_access';
/** The HttpOnly cookie `/login` sets and `/refresh` reads. */
const REFRESH_COOKIE = 'sse_refresh';

const CONTENT_TYPES: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.map': 'application/json' };

/**
 * One Node http server, one origin, for the page and its API: the built page (`webDir`), `POST
 * /login` (a refresh cookie for `{ user }`), `POST /refresh` (a fresh access token in an HttpOnly
 * cookie, `tokenLifetimeMs`), and the SSE app under `/trpc` on tRPC's standalone handler with
 * `createHttpAuth({ credentials: { cookies: true }, allowedOrigins: [origin] })`, whose
 * `authenticate` reads the access cookie. Every request's URL and credential headers are
 * recorded, and every access token issued.
 */
export async function startSsePageServer(opts: { webDir: string; tokenLifetimeMs: number; refreshAheadMs: number }) {
  const requests: RecordedRequest[] = [];
  const issued: string[] = [];
  const refreshTokens = new Map<string, string>();
  let handle = (_req: IncomingMessage, res: ServerResponse): void => void res.writeHead(503).end();
  const server = createServer((req, res) => handle(req, res));
  recordRequests(server, requests);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const app = createSseApp({
    authenticate: ({ cookies }) => sessionOfToken(cookies[ACCESS_COOKIE]),
    credentials: { cookies: true },
    allowedOrigins: [origin],
    refreshAheadMs: opts.refreshAheadMs,
  });
  const trpc = createHTTPHandler({ router: app.router, createContext: app.createContext, basePath: '/trpc/' });

  async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
    let text = '';
    for await (const chunk of req) text += String(chunk);
    return text ? (JSON.parse(text) as Record<string, unknown>) : {};
  }

  async function serveFile(pathname: string, res: ServerResponse): Promise<void> {
    const file = normalize(join(opts.webDir, pathname === '/' ? 'index.html' : pathname));
    if (!file.startsWith(opts.webDir)) return void res.writeHead(404).end();
    const body = await readFile(file).catch(() => null);
    if (body === null) return void res.writeHead(404).end();
    res.writeHead(200, { 'content-type': CONTENT_TYPES[extname(file)] ?? 'application/octet-stream' }).end(body);
  }

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const { pathname } = new URL(req.url ?? '/', origin);
    if (pathname.startsWith('/trpc/')) return trpc(req, res);
    if (req.method === 'POST' && pathname === '/login') {
      const { user } = await readJson(req);
      if (typeof user !== 'string' || user === '') return void res.writeHead(400).end();
      const refreshToken = randomUUID();
      refreshTokens.set(refreshToken, user);
      res.setHeader('set-cookie', `${REFRESH_COOKIE}=${refreshToken}; HttpOnly; Path=/refresh; SameSite=Strict`);
      return void res.writeHead(204).end();
    }
    if (req.method === 'POST' && pathname === '/refresh') {
      const user = refreshTokens.get(parseCookies(req.headers.cookie)[REFRESH_COOKIE] ?? '');
      if (user === undefined) return void res.writeHead(401).end();
      const token = issueToken(user, opts.tokenLifetimeMs);
      issued.push(token);
      res.setHeader('set-cookie', `${ACCESS_COOKIE}=${token}; HttpOnly; Path=/trpc; SameSite=Strict`);
      return void res.writeHead(204).end();
    }
    if (req.method === 'GET') return serveFile(pathname, res);
    res.writeHead(405).end();
  }

  handle = (req, res) => {
    route(req, res).catch((error: unknown) => {
      console.error('[sse page server]', error);
      res.destroy();
    });
  };

  return {
    ...app,
    url: origin,
    requests,
    /** Every access token `/refresh` issued, in order. */
    issued,
    async close(): Promise<void> {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export type SsePageServer = Awaited<ReturnType<typeof startSsePageServer>>;
