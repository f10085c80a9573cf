/** `trpc-lanyard/fastify`: our WebSocket handler and tRPC's own HTTP handler on a real Fastify app. */
import type { Socket } from 'node:net';
import { Writable } from 'node:stream';
import websocket from '@fastify/websocket';
import { createTRPCClient, httpBatchLink } from '@trpc/client';
import type { AnyRouter } from '@trpc/server';
import Fastify from 'fastify';
import type { FastifyInstance, FastifyServerOptions } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { fastifyTRPCPlugin } from '../../src/adapters/fastify/index.js';
import type { CreateFastifyContextOptions } from '../../src/adapters/fastify/index.js';
import { createWSClient, wsLink } from '../../src/client/index.js';
import { CloseCode } from '../../src/protocol/closeCodes.js';
import type { SessionBase, WSSHandlerOptions } from '../../src/server/index.js';
import type { AuthRouter, TestSession } from '../fixtures/authRouter.js';
import { createAuthFixture } from '../fixtures/authRouter.js';
import { authenticateFrame, dataIds, meFrame, method, signIn } from '../fixtures/authSteps.js';
import { makeClient, NodeWebSocket } from '../fixtures/clients.js';
import type { ClientKind } from '../fixtures/clients.js';
import type { RunningFastifyServer } from '../fixtures/fastifyServer.js';
import { startFastifyServer } from '../fixtures/fastifyServer.js';
import type { RawClient } from '../fixtures/rawClient.js';
import { forId, openRaw, upgradeStatus } from '../fixtures/rawClient.js';
import type { TestRouter } from '../fixtures/router.js';
import { createTestRouter } from '../fixtures/router.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function serve<TRouter extends AnyRouter, TSession extends SessionBase = SessionBase>(
  opts: Omit<WSSHandlerOptions<TRouter, TSession>, 'wss'>,
  fastifyOptions?: Parameters<typeof startFastifyServer>[1],
): Promise<RunningFastifyServer<TSession>> {
  const server = await startFastifyServer<TRouter, TSession>({ prefix: '/trpc', ...opts }, fastifyOptions);
  cleanups.push(() => server.close());
  return server;
}

/** A bare socket to `server.url` + `query`, closed after the test. */
async function raw(server: { readonly url: string }, query = ''): Promise<RawClient> {
  const client = await openRaw(`${server.url}${query}`);
  cleanups.push(() => client.close());
  return client;
}

const serveTestRouter = (extra: Partial<Omit<WSSHandlerOptions<TestRouter>, 'wss'>> = {}) => {
  const fixture = createTestRouter();
  return serve({ router: fixture.router, createContext: () => ({ params: null }), ...extra }).then((server) => ({ fixture, server }));
};

const serveAuth = (extra: Partial<Omit<WSSHandlerOptions<AuthRouter, TestSession>, 'wss'>> = {}) => {
  const fixture = createAuthFixture();
  return serve<AuthRouter, TestSession>({ router: fixture.router, authenticate: fixture.authenticate, createContext: fixture.createContext, ...extra }).then(
    (server) => ({ fixture, server }),
  );
};

/** A Fastify app with `@fastify/websocket`, closed after the test; `listen` it once its plugins are in. */
async function fastifyApp(options: FastifyServerOptions = {}): Promise<FastifyInstance> {
  const app = Fastify(options);
  cleanups.push(() => app.close());
  await app.register(websocket);
  return app;
}

/** Listens on 127.0.0.1, port 0; returns `ws://…` and `http://…` bases. */
async function listen(app: FastifyInstance): Promise<{ ws: string; http: string }> {
  await app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = app.server.address() as { port: number };
  return { ws: `ws://127.0.0.1:${port}`, http: `http://127.0.0.1:${port}` };
}

const echo = (id: number, input: unknown = { ok: true }) => ({ id, method: 'query', params: { path: 'echo', input } });

describe('HTTP and WebSockets on one Fastify app', () => {
  it('serves queries and mutations over HTTP with tRPC\'s own handler (stock httpBatchLink)', async () => {
    const { server } = await serveTestRouter();
    const trpc = createTRPCClient<TestRouter>({ links: [httpBatchLink({ url: server.httpUrl })] });
    const [echoed, sum] = await Promise.all([trpc.echo.query({ hello: 'http' }), trpc.add.mutate({ a: 2, b: 3 })]);
    expect(echoed).toEqual({ hello: 'http' });
    expect(sum).toBe(5);
  });

  it.each<ClientKind>(['stock', 'lanyard'])('serves the %s client\'s queries, mutations and subscriptions over WebSockets', async (kind) => {
    const { server } = await serveTestRouter();
    const client = makeClient(kind, { url: server.url });
    cleanups.push(() => client.close());
    expect(await client.trpc.echo.query('ws')).toBe('ws');
    expect(await client.trpc.add.mutate({ a: 20, b: 22 })).toBe(42);
    const ticks = await new Promise<number[]>((resolve, reject) => {
      const seen: number[] = [];
      client.trpc.ticks.subscribe({ count: 3 }, { onData: (n) => seen.push(n), onComplete: () => resolve(seen), onError: reject });
    });
    expect(ticks).toEqual([1, 2, 3]);
  });

  it('gives createContext the FastifyRequest and the reply over HTTP, the FastifyRequest and the WebSocket over WebSockets', async () => {
    const seen: Array<{ fastifyRequest: boolean; res: string; session: unknown }> = [];
    const app = await fastifyApp();
    await app.register(fastifyTRPCPlugin, {
      prefix: '/trpc',
      useWSS: true,
      trpcOptions: {
        router: createTestRouter().router,
        createContext: ({ req, res, session }: CreateFastifyContextOptions) => {
          seen.push({ fastifyRequest: req.raw !== undefined, res: res instanceof WebSocket ? 'WebSocket' : 'reply', session });
          return { params: null };
        },
      },
    });
    const base = await listen(app);
    await createTRPCClient<TestRouter>({ links: [httpBatchLink({ url: `${base.http}/trpc` })] }).echo.query(1);
    const client = await raw({ url: `${base.ws}/trpc` });
    client.send(echo(1));
    await client.next(forId(1));
    expect(seen).toEqual([
      { fastifyRequest: true, res: 'reply', session: null },
      { fastifyRequest: true, res: 'WebSocket', session: null },
    ]);
  });

  it('keeps one handler per prefix on app.trpcLanyard: revoking under one leaves the other\'s sockets open', async () => {
    const app = await fastifyApp();
    const a = createAuthFixture();
    const b = createAuthFixture();
    await app.register(fastifyTRPCPlugin, { prefix: '/a', useWSS: true, trpcOptions: { router: a.router, authenticate: a.authenticate, createContext: a.createContext } });
    // Nested: the registry is the app's, the key the full route prefix.
    await app.register(async (child) => {
      await child.register(fastifyTRPCPlugin, { prefix: '/b', useWSS: true, trpcOptions: { router: b.router, authenticate: b.authenticate, createContext: b.createContext } });
    }, { prefix: '/api' });
    const base = (await listen(app)).ws;
    expect(app.trpcLanyard.prefixes).toEqual(['/a', '/api/b']);
    const onA = (await signIn((q) => openRaw(`${base}/a${q}`), 'alice:member')).client;
    const onB = (await signIn((q) => openRaw(`${base}/api/b${q}`), 'alice:member')).client;
    cleanups.push(() => onA.close(), () => onB.close());
    expect(app.trpcLanyard.get<TestSession>('/api/b/')?.revoke((session) => session.user === 'alice')).toBe(1);
    expect(await onB.closed).toEqual({ code: CloseCode.Revoked, reason: 'session revoked' });
    onA.send(meFrame(1));
    expect(await onA.next(forId(1))).toMatchObject({ result: { data: { user: 'alice' } } });
  });

  it('serves HTTP at /:path and the WebSocket at / when registered without a prefix', async () => {
    const app = await fastifyApp();
    await app.register(fastifyTRPCPlugin, { useWSS: true, trpcOptions: { router: createTestRouter().router, createContext: () => ({ params: null }) } });
    const base = await listen(app);
    expect(await createTRPCClient<TestRouter>({ links: [httpBatchLink({ url: base.http })] }).echo.query('root')).toBe('root');
    const client = await raw({ url: base.ws }, '/');
    client.send(echo(1));
    expect(await client.next(forId(1))).toMatchObject({ result: { data: { ok: true } } });
    expect(app.trpcLanyard.get('/')).toBeDefined();
  });

  it('serves HTTP only without useWSS, as stock\'s plugin does', async () => {
    const app = Fastify();
    cleanups.push(() => app.close());
    await app.register(fastifyTRPCPlugin, { prefix: '/trpc', trpcOptions: { router: createTestRouter().router, createContext: () => ({ params: null }) } });
    const base = await listen(app);
    expect(await createTRPCClient<TestRouter>({ links: [httpBatchLink({ url: `${base.http}/trpc` })] }).add.mutate({ a: 1, b: 2 })).toBe(3);
    expect(app.hasDecorator('trpcLanyard')).toBe(false);
  });

  it('refuses to register with useWSS unless @fastify/websocket was registered first', async () => {
    const app = Fastify();
    cleanups.push(() => app.close());
    await expect(app.register(fastifyTRPCPlugin, { prefix: '/trpc', useWSS: true, trpcOptions: { router: createTestRouter().router } })).rejects.toThrow(
      /@fastify\/websocket/,
    );
  });

  it('writes the 101 response and lanyard.hello in one write', async () => {
    const { server } = await serveTestRouter();
    const writes: string[] = [];
    server.app.server.on('connection', (tcp: Socket) => {
      const writev = tcp._writev?.bind(tcp);
      const write = tcp._write.bind(tcp);
      tcp._writev = (chunks, callback) => {
        writes.push(chunks.map(({ chunk }) => String(chunk)).join(''));
        writev?.(chunks, callback);
      };
      tcp._write = (chunk, encoding, callback) => {
        writes.push(String(chunk));
        write(chunk, encoding, callback);
      };
    });
    const client = await raw(server, '?lanyard=1');
    await client.next(method('lanyard.hello'));
    const upgrade = writes.find((text) => text.startsWith('HTTP/1.1 101'));
    expect(upgrade).toContain('"lanyard.hello"');
  });

  it('closes its sockets with GoingAway (1001) when the app closes', async () => {
    const { server } = await serveTestRouter();
    const client = await raw(server);
    client.send(echo(1));
    await client.next(forId(1));
    await server.app.close();
    expect(await client.closed).toEqual({ code: CloseCode.GoingAway, reason: 'server shutting down' });
  });
});

describe('the auth lifecycle', () => {
  it('refreshes an expiring session in band: our client keeps its one socket', async () => {
    const { server } = await serveAuth({ refreshAheadMs: 1_000, expiryGraceMs: 1_000 });
    let issued = 0;
    const wsClient = createWSClient({ url: server.url, WebSocket: NodeWebSocket, connectionParams: () => ({ token: `alice:member:1500#${++issued}` }) });
    cleanups.push(() => wsClient.close());
    const trpc = createTRPCClient<AuthRouter>({ links: [wsLink<AuthRouter>({ client: wsClient })] });
    expect(await trpc.me.query()).toMatchObject({ token: 'alice:member:1500#1' });
    await expect.poll(() => wsClient.stats.refreshes, { timeout: 3_000 }).toBeGreaterThanOrEqual(1);
    expect(await trpc.me.query()).toMatchObject({ user: 'alice', token: expect.not.stringMatching(/#1$/) });
    expect(wsClient.stats.socketsOpened).toBe(1);
  });

  it('closes a session that expired unrefreshed with SessionExpired (4419)', async () => {
    const { server } = await serveAuth({ refreshAheadMs: 100, expiryGraceMs: 100 });
    const { client } = await signIn((q) => raw(server, q), 'alice:admin:300');
    expect(await client.next(method('lanyard.refresh'), 1_000)).toMatchObject({ params: { reason: 'expiring' } });
    expect(await client.closed).toEqual({ code: CloseCode.SessionExpired, reason: 'session expired' });
  });

  it('re-authorises live subscriptions when the principal changes: the forbidden one ends, the other goes on', async () => {
    const { server, fixture } = await serveAuth();
    const { client } = await signIn((q) => raw(server, q), 'alice:admin');
    client.send([
      { id: 1, method: 'subscription', params: { path: 'adminRoom' } },
      { id: 2, method: 'subscription', params: { path: 'publicRoom' } },
    ]);
    await client.next(forId(1));
    await client.next(forId(2));
    client.send(authenticateFrame(3, 'bob:member'));
    expect(await client.next(forId(3))).toMatchObject({ result: { type: 'data' } });
    expect(await client.next((f) => forId(1)(f) && 'error' in (f as object))).toMatchObject({ error: { data: { code: 'FORBIDDEN' } } });
    fixture.publish('public');
    await expect.poll(() => dataIds(client, 2)).toEqual([1]);
  });

  it('closes the sessions revoked through app.trpcLanyard with Revoked (4410)', async () => {
    const { server } = await serveAuth();
    const alice = (await signIn((q) => raw(server, q), 'alice:member')).client;
    const bob = (await signIn((q) => raw(server, q), 'bob:member')).client;
    const revoked = server.app.trpcLanyard.get<TestSession>('/trpc')?.revoke((session) => session.user === 'alice', { reason: 'password changed' });
    expect(revoked).toBe(1);
    expect(await alice.closed).toEqual({ code: CloseCode.Revoked, reason: 'password changed' });
    bob.send(meFrame(1));
    expect(await bob.next(forId(1))).toMatchObject({ result: { data: { user: 'bob' } } });
  });
});

describe('checks at the upgrade', () => {
  it('refuses a cross-origin upgrade with HTTP 403 before the socket opens; an allowed or absent Origin opens', async () => {
    const { server } = await serveTestRouter({ allowedOrigins: ['https://app.example'] });
    expect(await upgradeStatus(server.url, 'https://evil.example')).toBe(403);
    expect(await upgradeStatus(server.url, 'https://app.example')).toBe(101);
    expect(await upgradeStatus(server.url)).toBe(101);
  });

  it('refuses with 403 and tells onError when the allowedOrigins predicate throws, and keeps serving', async () => {
    const errors: unknown[] = [];
    const { server } = await serveTestRouter({
      allowedOrigins: (origin) => {
        if (origin === 'https://boom.example') throw new Error('predicate failed');
        return true;
      },
      onError: ({ error, req }) => errors.push({ message: error.message, cause: error.cause?.message, fastifyRequest: 'raw' in (req as object) }),
    });
    expect(await upgradeStatus(server.url, 'https://boom.example')).toBe(403);
    expect(errors).toEqual([{ message: 'allowedOrigins threw; the upgrade was refused', cause: 'predicate failed', fastifyRequest: true }]);
    const client = await raw(server);
    client.send(echo(1));
    expect(await client.next(forId(1))).toMatchObject({ result: { data: { ok: true } } });
  });

  it('cuts the query-parameter token out of the URL before Fastify logs it, hooks or createContext see it; authenticate still gets it', async () => {
    const logged: string[] = [];
    const stream = new Writable({
      write(chunk: Buffer, _encoding, done) {
        logged.push(chunk.toString());
        done();
      },
    });
    const seenUrls: string[] = [];
    const fixture = createAuthFixture();
    const app = await fastifyApp({ logger: { level: 'info', stream } });
    app.addHook('onRequest', (req, _reply, done) => {
      seenUrls.push(`hook:${req.url}`);
      done();
    });
    await app.register(fastifyTRPCPlugin, {
      prefix: '/trpc',
      useWSS: true,
      trpcOptions: {
        router: fixture.router,
        authenticate: fixture.authenticate,
        credentials: { queryParam: 'access_token' },
        createContext: ({ req, session }: CreateFastifyContextOptions<TestSession>) => {
          seenUrls.push(`context:${req.url}`, `context raw:${req.raw.url}`);
          return { session };
        },
      },
    });
    const server = { url: `${(await listen(app)).ws}/trpc` };
    const client = await raw(server, '?lanyard=1&access_token=alice:admin');
    client.send(meFrame(1));
    expect(await client.next(forId(1))).toMatchObject({ result: { data: { user: 'alice', token: 'alice:admin' } } });
    expect(logged.some((line) => line.includes('incoming request') && line.includes('access_token=REDACTED'))).toBe(true);
    expect(logged.filter((line) => line.includes('alice:admin'))).toEqual([]);
    expect(seenUrls).toEqual(['hook:/trpc?lanyard=1&access_token=REDACTED', 'context:/trpc?lanyard=1&access_token=REDACTED', 'context raw:/trpc?lanyard=1&access_token=REDACTED']);
  });
});

describe('abuse: the server stays up and other sockets are untouched', () => {
  it('answers a malformed frame with PARSE_ERROR and keeps serving that socket and the others', async () => {
    const { server } = await serveTestRouter();
    const bystander = await raw(server);
    const client = await raw(server);
    client.sendText('{not json');
    expect(await client.next(forId(null))).toMatchObject({ error: { data: { code: 'PARSE_ERROR' } } });
    client.send(echo(1));
    expect(await client.next(forId(1))).toMatchObject({ result: { data: { ok: true } } });
    bystander.send(echo(2));
    expect(await bystander.next(forId(2))).toMatchObject({ result: { data: { ok: true } } });
  });

  it('closes a frame over maxPayloadBytes with PayloadTooLarge (4413)', async () => {
    const { server } = await serveTestRouter({ maxPayloadBytes: 1_024 });
    const bystander = await raw(server);
    const client = await raw(server);
    client.send(echo(1, 'x'.repeat(2_048)));
    expect((await client.closed).code).toBe(CloseCode.PayloadTooLarge);
    bystander.send(echo(2));
    expect(await bystander.next(forId(2))).toMatchObject({ result: { data: { ok: true } } });
  });

  it('closes a socket whose createContext throws with InternalError (4500) and serves the next one', async () => {
    let calls = 0;
    const { server } = await serveTestRouter({
      createContext: () => {
        if (++calls === 2) throw new Error('context failed');
        return { params: null };
      },
    });
    const bystander = await raw(server);
    bystander.send(echo(1));
    await bystander.next(forId(1));
    const client = await raw(server);
    client.send(echo(2));
    expect(await client.next(forId(null))).toMatchObject({ error: { data: { code: 'INTERNAL_SERVER_ERROR' } } });
    expect((await client.closed).code).toBe(CloseCode.InternalError);
    bystander.send(echo(3));
    expect(await bystander.next(forId(3))).toMatchObject({ result: { data: { ok: true } } });
    const next = await raw(server);
    next.send(echo(4));
    expect(await next.next(forId(4))).toMatchObject({ result: { data: { ok: true } } });
  });

  it('survives a burst of refused upgrades and one dropped mid-handshake', async () => {
    const { server } = await serveTestRouter({ allowedOrigins: ['https://app.example'] });
    const refused = Array.from({ length: 20 }, () => upgradeStatus(server.url, 'https://evil.example'));
    const dropped = new WebSocket(server.url);
    dropped.on('error', () => undefined);
    dropped.terminate();
    expect(new Set(await Promise.all(refused))).toEqual(new Set([403]));
    const client = await raw(server);
    client.send(echo(1));
    expect(await client.next(forId(1))).toMatchObject({ result: { data: { ok: true } } });
  });
});
