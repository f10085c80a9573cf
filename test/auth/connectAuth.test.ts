/** Connect-time authentication on the server, byte by byte: carriers, refusals, deadlines, origins. */
import type { AddressInfo } from 'node:net';
import type { TRPCRequestInfo } from '@trpc/server/http';
import { describe, expect, it, vi } from 'vitest';
import { CloseCode } from '../../src/protocol/closeCodes.js';
import type { AuthenticateOptions } from '../../src/server/index.js';
import { getWSConnectionHandler } from '../../src/server/index.js';
import type { AuthContext, TestSession } from '../fixtures/authRouter.js';
import { createAuthFixture } from '../fixtures/authRouter.js';
import { meFrame, serveAuth } from '../fixtures/authSteps.js';
import { forId, openRaw, upgradeStatus } from '../fixtures/rawClient.js';
import { useRawServer } from '../fixtures/rawHarness.js';

const raw = useRawServer();

const serve = async (extra: Record<string, unknown> = {}) => (await serveAuth(raw, extra)).fixture;

const params = (token: string) => ({ method: 'connectionParams', data: { token } });

describe('connect-time authentication', () => {
  it('runs no procedure before authenticate accepted the credentials, then runs the queued calls under the session', async () => {
    const fixture = createAuthFixture();
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    await raw.start<typeof fixture.router, TestSession>({
      router: fixture.router,
      authenticate: async (opts) => {
        await gate;
        return fixture.authenticate(opts);
      },
      createContext: fixture.createContext,
    });
    const client = await raw.connect('?connectionParams=1');
    client.send(params('alice:admin'));
    client.send([meFrame(1), { id: 2, method: 'query', params: { path: 'ping' } }]);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(fixture.executions).toEqual([]);
    expect(client.received).toEqual([]);
    release();
    expect(await client.next(forId(1))).toEqual({ id: 1, result: { type: 'data', data: { user: 'alice', role: 'admin', token: 'alice:admin' } } });
    expect(await client.next(forId(2))).toMatchObject({ result: { data: 'pong' } });
    expect(fixture.executions.every((e) => e.session?.user === 'alice')).toBe(true);
  });

  it.each([
    ['bad', CloseCode.Unauthorized, 'UNAUTHORIZED'],
    ['banned:member', CloseCode.Forbidden, 'FORBIDDEN'],
  ] as const)('refuses token %s with close %i after an error frame, and runs nothing', async (token, code, trpcCode) => {
    // `authenticate` answers once the call has been read, so the call waits for it on every
    // transport (uWebSockets.js runs promise jobs between two frames of one read; ws does not).
    let framesRead = 0;
    let bothRead: () => void = () => {};
    const callRead = new Promise<void>((resolve) => (bothRead = resolve));
    const { authenticate } = createAuthFixture();
    const fixture = await serve({ authenticate: async (options: AuthenticateOptions<TestSession, unknown>) => (await callRead, authenticate(options)) });
    raw.server.sockets.onOpen((socket) => socket.onMessage(() => void (++framesRead === 2 && bothRead())));
    const client = await raw.connect('?connectionParams=1');
    client.send(params(token));
    client.send(meFrame(1));
    expect(await client.next(forId(null))).toMatchObject({ error: { data: { code: trpcCode } } });
    expect(await client.next(forId(1))).toMatchObject({ error: { data: { code: trpcCode } } });
    expect((await client.closed).code).toBe(code);
    expect(fixture.executions).toEqual([]);
  });

  it('refuses a session that has already expired as UNAUTHORIZED (4401)', async () => {
    await serve();
    const client = await raw.connect('?connectionParams=1');
    client.send(params('alice:admin:-1'));
    expect(await client.next(forId(null))).toMatchObject({ error: { message: 'The credentials have expired' } });
    expect((await client.closed).code).toBe(CloseCode.Unauthorized);
  });

  it('closes with AuthTimeout (4408) when authenticate does not finish within authTimeoutMs', async () => {
    const fixture = createAuthFixture();
    await raw.start<typeof fixture.router, TestSession>({
      router: fixture.router,
      authenticate: () => new Promise<TestSession>(() => {}),
      authTimeoutMs: 100,
    });
    const client = await raw.connect('?connectionParams=1');
    client.send(params('alice:admin'));
    expect(await client.closed).toEqual({ code: CloseCode.AuthTimeout, reason: 'no valid credentials in time' });
  });

  it('accepts frames of at most 16 KiB before authentication (4413 beyond), the full limit after', async () => {
    await serve();
    const before = await raw.connect('?connectionParams=1');
    before.sendText(JSON.stringify({ method: 'connectionParams', data: { token: 'alice:admin', pad: 'x'.repeat(17_000) } }));
    expect((await before.closed).code).toBe(CloseCode.PayloadTooLarge);
    const after = await raw.connect('?connectionParams=1');
    after.send(params('alice:admin'));
    after.send({ id: 1, method: 'query', params: { path: 'ping' } });
    await after.next(forId(1)); // authenticated now
    after.send({ id: 2, method: 'query', params: { path: 'ping', input: 'x'.repeat(17_000) } });
    expect(await after.next(forId(2))).toMatchObject({ result: { data: 'pong' } });
  });

  it('announces the session to a trpc-lanyard client', async () => {
    await serve();
    const client = await raw.connect('?connectionParams=1&lanyard=1');
    await client.next((f) => (f as { method?: string }).method === 'lanyard.hello');
    const before = Date.now();
    client.send(params('alice:admin:60000'));
    const session = (await client.next((f) => (f as { method?: string }).method === 'lanyard.session')) as { params: { expiresAt: number } };
    expect(session.params.expiresAt).toBeGreaterThanOrEqual(before + 60_000);
    expect(session.params.expiresAt).toBeLessThanOrEqual(Date.now() + 60_000);
  });
});

describe('createContext', () => {
  it('gives createContext info.signal and info.url when read, spread or not; the signal aborts when the connection ends', async () => {
    const fixture = createAuthFixture();
    const infos: TRPCRequestInfo[] = [];
    await raw.start<typeof fixture.router, TestSession>({
      router: fixture.router,
      authenticate: fixture.authenticate,
      createContext: ({ session, info }) => {
        // The first connection's context reads both at once (a spread reads every field); the second reads nothing.
        infos.push(infos.length === 0 ? { ...info } : info);
        return { session };
      },
    });
    const spread = await openRaw(`${raw.server.url}/?room=a`, { authorization: 'Bearer bob:member' });
    const untouched = await openRaw(`${raw.server.url}/?room=b`, { authorization: 'Bearer bob:member' });
    for (const client of [spread, untouched]) {
      client.send(meFrame(1));
      await client.next(forId(1));
    }
    const [early, late] = infos as [TRPCRequestInfo, TRPCRequestInfo];
    expect(early.signal).toBeInstanceOf(AbortSignal);
    expect(early.signal?.aborted).toBe(false);
    expect(early.url?.searchParams.get('room')).toBe('a');
    expect(Object.keys(late)).toEqual(expect.arrayContaining(['signal', 'url', 'connectionParams']));
    spread.close();
    untouched.close();
    await expect.poll(() => early.signal?.aborted).toBe(true);
    await untouched.closed;
    await expect.poll(() => late.signal?.aborted).toBe(true); // made after the connection ended: aborted at once
    expect(late.url?.searchParams.get('room')).toBe('b');
    expect(late.url).toBe(late.url); // read once, then kept on the info
  });
});

describe('credential carriers', () => {
  it('reads an Authorization header (no connectionParams frame needed)', async () => {
    await serve();
    const client = await openRaw(raw.server.url, { authorization: 'Bearer bob:member' });
    client.send(meFrame(1));
    await expect.poll(() => client.received.length).toBe(1);
    expect(client.received[0]).toMatchObject({ id: 1, result: { data: { user: 'bob', role: 'member' } } });
    client.close();
  });

  it('passes cookies only when credentials.cookies is on', async () => {
    const seen: Array<Readonly<Record<string, string>>> = [];
    const fixture = createAuthFixture();
    const authenticate = (opts: AuthenticateOptions<TestSession, unknown>) => {
      seen.push(opts.cookies);
      return fixture.authenticate({ ...opts, connectionParams: { token: opts.cookies['session'] ?? 'carol:member' } });
    };
    await raw.start<typeof fixture.router, TestSession>({ router: fixture.router, authenticate, allowedOrigins: ['https://app.example'] });
    (await openRaw(raw.server.url, { cookie: 'session=dave%3Aadmin; theme=dark' })).close();
    await raw.start<typeof fixture.router, TestSession>({
      router: fixture.router,
      authenticate,
      credentials: { cookies: true },
      allowedOrigins: ['https://app.example'],
    });
    (await openRaw(raw.server.url, { cookie: 'session=dave%3Aadmin; theme=dark' })).close();
    await expect.poll(() => seen.length).toBe(2);
    expect(seen).toEqual([{}, { session: 'dave:admin', theme: 'dark' }]);
  });

  it('warns once per handler at start-up when cookies are used without an origin allowlist', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    try {
      const fixture = createAuthFixture();
      const risky = getWSConnectionHandler({ router: fixture.router, credentials: { cookies: true } });
      const safe = getWSConnectionHandler({ router: fixture.router, credentials: { cookies: true }, allowedOrigins: ['https://a.example'] });
      const noCookies = getWSConnectionHandler({ router: fixture.router });
      for (const handler of [risky, safe, noCookies]) handler.close();
      expect(warn).toHaveBeenCalledTimes(1);
      expect(String(warn.mock.calls[0]?.[0])).toContain('cross-site WebSocket hijacking');
    } finally {
      warn.mockRestore();
    }
  });

  it('takes a query-parameter token only when enabled, and no error or log ever shows it', async () => {
    const fixture = createAuthFixture();
    const logged: string[] = [];
    const errorSpy = vi.spyOn(console, 'error').mockImplementation((...args: unknown[]) => logged.push(args.map(String).join(' ')));
    try {
      const onErrorUrls: string[] = [];
      await raw.start<typeof fixture.router, TestSession>({
        router: fixture.router,
        authenticate: fixture.authenticate,
        createContext: ({ session, info }) => {
          logged.push(String(info.url));
          return { session };
        },
        credentials: { queryParam: 'access_token' },
        onError: ({ req, error }) => {
          onErrorUrls.push(req.url ?? '');
          logged.push(error.message);
        },
      });
      const secret = 'erin:member';
      const client = await raw.connect(`?access_token=${encodeURIComponent(secret)}&x=1`);
      client.send(meFrame(1));
      expect(await client.next(forId(1))).toMatchObject({ result: { data: { user: 'erin' } } });
      client.send({ id: 2, method: 'query', params: { path: 'missing' } });
      await client.next(forId(2));
      expect(onErrorUrls).toEqual(['/?access_token=REDACTED&x=1']);
      expect(logged.join('\n')).not.toContain('erin');
      expect(logged.join('\n')).toContain('REDACTED');
    } finally {
      errorSpy.mockRestore();
    }
  });

  it('ignores a query-parameter token when the carrier is off', async () => {
    await serve();
    const client = await raw.connect('?access_token=erin%3Amember');
    expect(await client.next(forId(null))).toMatchObject({ error: { data: { code: 'UNAUTHORIZED' } } });
    expect((await client.closed).code).toBe(CloseCode.Unauthorized);
  });
});

describe('allowedOrigins', () => {
  it('refuses a cross-origin upgrade with 403 before the socket opens; allows listed and origin-less clients', async () => {
    await serve({ allowedOrigins: ['https://app.example'] });
    const url = `${raw.server.url}/?connectionParams=1`;
    expect(await upgradeStatus(url, 'https://evil.example')).toBe(403);
    expect(await upgradeStatus(url, 'https://app.example')).toBe(101);
    expect(await upgradeStatus(url, undefined)).toBe(101);
  });

  it('takes a predicate', async () => {
    await serve({ allowedOrigins: (origin: string | undefined) => origin?.endsWith('.trusted.example') ?? false });
    expect(await upgradeStatus(raw.server.url, 'https://a.trusted.example')).toBe(101);
    expect(await upgradeStatus(raw.server.url, 'https://trusted.example.evil')).toBe(403);
    expect(await upgradeStatus(raw.server.url, undefined)).toBe(403);
  });

  it('keeps a verifyClient the server already had', async () => {
    const { WebSocketServer } = await import('ws');
    const { applyWSSHandler } = await import('../../src/server/index.js');
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, verifyClient: ({ req }: { req: { url?: string } }) => !req.url?.includes('deny') });
    await new Promise((resolve) => wss.once('listening', resolve));
    const handler = applyWSSHandler({ wss, router: createAuthFixture().router, allowedOrigins: ['https://app.example'] });
    const url = `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`;
    expect(await upgradeStatus(`${url}/?ok`, 'https://app.example')).toBe(101);
    expect(await upgradeStatus(`${url}/?deny`, 'https://app.example')).toBe(401);
    expect(await upgradeStatus(`${url}/?ok`, 'https://evil.example')).toBe(403);
    handler.close();
    await new Promise((resolve) => wss.close(resolve));
  });
});

describe('a createContext that throws at connect time', () => {
  /** What a client and `onError` see when `createContext` rejects with two calls waiting, `stack` aside. */
  async function refusedContext(kind: 'stock' | 'lanyard') {
    const { startServer } = await import('../fixtures/servers.js');
    const { openRaw } = await import('../fixtures/rawClient.js');
    const { TRPCError } = await import('@trpc/server');
    const fixture = createAuthFixture();
    let reject!: (cause: unknown) => void;
    const reported: Array<{ type: string; path: string | undefined; input: unknown; code: string }> = [];
    const server = await startServer(kind, {
      router: fixture.router,
      createContext: () => new Promise<AuthContext>((_resolve, fail) => (reject = fail)),
      onError: ({ error, type, path, input }) => reported.push({ type, path, input, code: error.code }),
    });
    try {
      const client = await openRaw(`${server.url}/`);
      client.send([
        { id: 1, method: 'query', params: { path: 'me', input: { a: 1 } } },
        { id: 2, method: 'subscription', params: { path: 'publicRoom', lastEventId: '7' } },
        { id: 2, method: 'subscription.stop' },
      ]);
      await new Promise((resolve) => setTimeout(resolve, 30));
      reject(new TRPCError({ code: 'UNAUTHORIZED', message: 'no context' }));
      await client.closed;
      const frames = client.received.map((frame) => {
        const { error } = frame as { error: { data: { stack?: string } } };
        delete error.data.stack;
        return frame;
      });
      return { frames, reported };
    } finally {
      await server.close();
    }
  }

  it('answers each waiting call with the error as its own (with its path) and reports each to onError, as stock tRPC does', async () => {
    const ours = await refusedContext('lanyard');
    expect(ours.frames).toEqual([
      { id: null, error: expect.objectContaining({ message: 'no context', data: expect.not.objectContaining({ path: expect.anything() }) }) },
      { id: 1, error: expect.objectContaining({ data: expect.objectContaining({ code: 'UNAUTHORIZED', path: 'me' }) }) },
      { id: 2, error: expect.objectContaining({ data: expect.objectContaining({ code: 'UNAUTHORIZED', path: 'publicRoom' }) }) },
    ]);
    expect(ours.reported).toEqual([
      { type: 'unknown', path: undefined, input: undefined, code: 'UNAUTHORIZED' },
      { type: 'query', path: 'me', input: { a: 1 }, code: 'UNAUTHORIZED' },
      { type: 'subscription', path: 'publicRoom', input: { lastEventId: '7' }, code: 'UNAUTHORIZED' },
    ]);
    expect(ours).toEqual(await refusedContext('stock'));
  });
});
