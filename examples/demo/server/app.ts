import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { TRPCError } from '@trpc/server';
import type { AuthenticateOptions, WSHandlerControls } from 'trpc-lanyard/server';
import { applyWSSHandler } from 'trpc-lanyard/server';
import type { Broker } from 'trpc-lanyard/broker';
import { createMemoryBroker } from 'trpc-lanyard/broker';
import { WebSocketServer } from 'ws';
import { handleApi } from './api.js';
import type { DemoOptions } from './config.js';
import { grantDefaults } from './config.js';
import { botEdit, Documents } from './documents.js';
import { Feed } from './feed.js';
import { createGrantIssuer } from './grantTokens.js';
import { pageOrigins, pageUrl } from './listen.js';
import type { DemoRouter, DemoSession } from './router.js';
import { createDemoRouter, userKey } from './router.js';
import { serveStatic } from './static.js';
import type { TokenIssuer } from './tokens.js';
import { createTokenIssuer } from './tokens.js';
import type { Users } from './users.js';
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

/** Where the page learns whether it talks to a cluster: `{ node, ports }` (`null` and `[]` for `npm start`). */
export const CLUSTER_INFO_PATH = '/cluster.json';

/** What a node of `npm run start:cluster` (cluster.ts) brings instead of the in-memory defaults. */
export interface DemoNode {
  /** Shown on the page: which node serves the socket. */
  readonly name: string;
  /** Shared by every node (Redis): any node resumes any client's rooms. */
  readonly broker: Broker;
  /** Shared by every node (Redis): a token signed in on one node is honoured by the others. */
  readonly users: Users;
  /** Every node's port on this host, this one's included: the page fails over along them, and the API and socket accept pages from each. */
  readonly ports: readonly number[];
  /** Ends this process abruptly, as a crash would (the "kill this node" button). */
  kill(): void;
}

/**
 * Connect time and every in-band refresh: a valid, unexpired token of a user who is not
 * revoked. The token says who the user is; the user store says what they may do: the role is
 * read from the store on every call, never from the token's `role` claim. A client answering
 * `requestReauthentication` with a token it fetched before the role changed (a hostile one can)
 * therefore still gets the new role, and so does a socket opened with such a token.
 */
function authenticator(tokens: TokenIssuer, users: Users) {
  return async ({ connectionParams }: AuthenticateOptions<DemoSession, IncomingMessage>): Promise<DemoSession> => {
    const token = connectionParams?.['token'];
    if (typeof token !== 'string') throw new TRPCError({ code: 'UNAUTHORIZED', message: 'no token in connectionParams' });
    const claims = await tokens.verify(token).catch(() => {
      throw new TRPCError({ code: 'UNAUTHORIZED', message: 'invalid or expired token' });
    });
    const user = await users.get(claims.userId);
    // A user this server does not know (it restarted and forgot everyone): the credentials are
    // stale, not forbidden — the client fetches new ones, and the token endpoint then says 401.
    if (user === undefined) throw new TRPCError({ code: 'UNAUTHORIZED', message: 'unknown user' });
    if (user.revoked) throw new TRPCError({ code: 'FORBIDDEN', message: 'revoked user' });
    // The store's current role, whatever the token claims: a role change reaches the socket with
    // the next authentication, and an old token cannot bring the old role back.
    return { userId: user.id, name: user.name, role: user.role, expiresAt: claims.expiresAt };
  };
}

function startBot(feed: Feed, documents: Documents, intervalMs: number, openSockets: () => number, nodeName: string | null): () => void {
  if (intervalMs <= 0) return () => undefined;
  let tick = 0;
  const where = nodeName === null ? '' : ` on node ${nodeName}`;
  // The broker rejects while its store is unreachable (Redis down): say so, keep ticking.
  const report = (error: unknown) => console.error(`[demo] bot: ${String(error)}`);
  const publish = (room: 'public' | 'private', text: string) => void feed.publish(room, 'bot', text, 'bot').catch(report);
  const timer = setInterval(() => {
    tick++;
    publish('public', `activity tick #${tick}${where}`);
    if (tick % 2 === 0) publish('private', `ops: ${openSockets()} socket(s) open${where}`);
    documents.publish('roadmap', 'bot', `${botEdit(tick)}${where}`).catch(report);
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}

/** Starts the demo: alone (`npm start`: memory broker and user store) or as one `node` of the cluster. */
export async function startDemoServer(options: DemoOptions, node?: DemoNode): Promise<DemoServer> {
  const broker = node?.broker ?? createMemoryBroker();
  const feed = new Feed(broker);
  const documents = new Documents(broker);
  const users = node?.users ?? new UserStore();
  const clusterInfo = JSON.stringify({ node: node?.name ?? null, ports: node?.ports ?? [] });
  const secret = options.secret ?? randomBytes(32);
  const tokens = createTokenIssuer(secret, options.tokenTtlSeconds);
  const grants = createGrantIssuer(secret, options.grantTtlSeconds ?? grantDefaults.grantTtlSeconds);
  let origins: string[] = [];
  const originAllowed = (origin: string | undefined) => origin === undefined || origins.includes(origin);

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    try {
      if (req.method === 'GET' && req.url === CLUSTER_INFO_PATH) {
        res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
        res.end(clusterInfo);
        return;
      }
      if (await handleApi({ users, tokens, grants, originAllowed }, req, res)) return;
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
  origins = [...new Set([port, ...(node?.ports ?? [])].flatMap((p) => pageOrigins(options.host, p)))];

  const wss = new WebSocketServer({ server: http, path: WS_PATH });
  // The procedures reach the handler's controls only when called, after it was created.
  const grantTiming = { refreshAheadMs: options.grantRefreshAheadMs ?? grantDefaults.grantRefreshAheadMs, graceMs: options.expiryGraceMs };
  const router = createDemoRouter({ feed, documents, users, grants, grantTiming, controls: () => handler, node: node ? { name: node.name, kill: node.kill } : null });
  const handler: WSHandlerControls<DemoSession> = applyWSSHandler<DemoRouter, DemoSession>({
    wss,
    router,
    authenticate: authenticator(tokens, users),
    createContext: ({ session, res }) => ({ session, socket: res }),
    // Cluster control: revocations and role changes reach the user's sockets on every node.
    broker,
    sessionKeys: (session) => [userKey(session.userId)],
    allowedOrigins: origins,
    refreshAheadMs: options.refreshAheadMs,
    expiryGraceMs: options.expiryGraceMs,
    keepAlive: { enabled: true, pingMs: 15_000, pongWaitMs: 5_000 },
    onError: ({ error, path }) => {
      if (error.code === 'INTERNAL_SERVER_ERROR') console.error(`[demo] ${path ?? '(socket)'}:`, error);
    },
  });
  const stopBot = startBot(feed, documents, options.botIntervalMs, () => wss.clients.size, node?.name ?? null);

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
      if (!node) await broker.close(); // a node's broker belongs to whoever made it
    },
  };
}
