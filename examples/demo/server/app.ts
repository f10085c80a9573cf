import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { TRPCError } from '@trpc/server';
import type { AuthenticateOptions, WSHandlerControls } from 'trpc-lanyard/server';
import { applyWSSHandler } from 'trpc-lanyard/server';
import { WebSocketServer } from 'ws';
import { handleApi } from './api.js';
import type { DemoOptions } from './config.js';
import { Feed } from './feed.js';
import { pageOrigins, pageUrl } from './listen.js';
import type { DemoRouter, DemoSession } from './router.js';
import { createDemoRouter } from './router.js';
import { serveStatic } from './static.js';
import type { TokenIssuer } from './tokens.js';
import { createTokenIssuer } from './tokens.js';
import { UserStore } from './users.js';

/** A running demo: the web app, the token API and the tRPC WebSocket on one port. */
export interface DemoServer {
  /** The page's address, e.g. `http://localhost:3000`. */
  readonly url: string;
  readonly port: number;
  /** The interface it listens on, e.g. `127.0.0.1`. */
  readonly host: string;
  /** WebSocket connections open right now. */
  openSockets(): number;
  close(): Promise<void>;
}

/** The WebSocket path; everything else is the web app or `/api/*`. */
export const WS_PATH = '/trpc';

/**
 * Connect time and every in-band refresh: a valid, unexpired token of a user who is not
 * revoked. The token says who the user is; the user store says what they may do: the role is
 * read from the store on every call, never from the token's `role` claim. A client answering
 * `requestReauthentication` with a token it fetched before the role changed (a hostile one can)
 * therefore still gets the new role, and so does a socket opened with such a token.
 */
function authenticator(tokens: TokenIssuer, users: UserStore) {
  return async ({ connectionParams }: AuthenticateOptions<DemoSession, IncomingMessage>): Promise<DemoSession> => {
    const token = connectionParams?.['token'];
    if (typeof token !== 'string') throw new TRPCError({ code: 'UNAUTHORIZED', message: 'no token in connectionParams' });
    const claims = await tokens.verify(token).catch(() => {
      throw new TRPCError({ code: 'UNAUTHORIZED', message: 'invalid or expired token' });
    });
    const user = users.get(claims.userId);
    // A user this server does not know (it restarted and forgot everyone): the credentials are
    // stale, not forbidden — the client fetches new ones, and the token endpoint then says 401.
    if (user === undefined) throw new TRPCError({ code: 'UNAUTHORIZED', message: 'unknown user' });
    if (user.revoked) throw new TRPCError({ code: 'FORBIDDEN', message: 'revoked user' });
    // The store's current role, whatever the token claims: a role change reaches the socket with
    // the next authentication, and an old token cannot bring the old role back.
    return { userId: user.id, name: user.name, role: user.role, expiresAt: claims.expiresAt };
  };
}

function startBot(feed: Feed, intervalMs: number, openSockets: () => number): () => void {
  if (intervalMs <= 0) return () => undefined;
  let tick = 0;
  const timer = setInterval(() => {
    tick++;
    feed.publish('public', 'bot', `activity tick #${tick}`, 'bot');
    if (tick % 2 === 0) feed.publish('private', 'bot', `ops: ${openSockets()} socket(s) open`, 'bot');
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}

export async function startDemoServer(options: DemoOptions): Promise<DemoServer> {
  const feed = new Feed();
  const users = new UserStore();
  const tokens = createTokenIssuer(options.secret ?? randomBytes(32), options.tokenTtlSeconds);
  let origins: string[] = [];
  const originAllowed = (origin: string | undefined) => origin === undefined || origins.includes(origin);

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    try {
      if (await handleApi({ users, tokens, originAllowed }, req, res)) return;
      await serveStatic(options.staticDir, req, res);
    } catch (error) {
      console.error('[demo] request failed', error);
      if (!res.headersSent) res.writeHead(500);
      res.end();
    }
  };
  const http = createServer((req, res) => void handle(req, res));
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(options.port, options.host, () => resolve());
  });
  const port = (http.address() as AddressInfo).port;
  origins = pageOrigins(options.host, port);

  const wss = new WebSocketServer({ server: http, path: WS_PATH });
  // The procedures reach the handler's controls only when called, after it was created.
  const router = createDemoRouter({ feed, users, controls: () => handler });
  const handler: WSHandlerControls<DemoSession> = applyWSSHandler<DemoRouter, DemoSession>({
    wss,
    router,
    authenticate: authenticator(tokens, users),
    createContext: ({ session, res }) => ({ session, socket: res }),
    allowedOrigins: origins,
    refreshAheadMs: options.refreshAheadMs,
    expiryGraceMs: options.expiryGraceMs,
    keepAlive: { enabled: true, pingMs: 15_000, pongWaitMs: 5_000 },
    onError: ({ error, path }) => {
      if (error.code === 'INTERNAL_SERVER_ERROR') console.error(`[demo] ${path ?? '(socket)'}:`, error);
    },
  });
  const stopBot = startBot(feed, options.botIntervalMs, () => wss.clients.size);

  return {
    url: pageUrl(options.host, port),
    port,
    host: options.host,
    openSockets: () => wss.clients.size,
    async close() {
      stopBot();
      handler.close();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}
