/** The `ws` adapter's own duties: starting like stock, shutting the door, and the upgrade checks. */
import type { AddressInfo } from 'node:net';
import { createTRPCClient, createWSClient as stockCreateWSClient, wsLink as stockWsLink } from '@trpc/client';
import { initTRPC } from '@trpc/server';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import type { ServerOptions } from 'ws';
import { WebSocketServer } from 'ws';
import { applyWSSHandler, getWSConnectionHandler } from '../../src/server/index.js';
import { queryFlag } from '../../src/server/upgradeRequest.js';
import { CloseCode } from '../../src/protocol/closeCodes.js';
import { makeClient, NodeWebSocket } from '../fixtures/clients.js';
import { forId, openRaw, upgradeStatus } from '../fixtures/rawClient.js';
import { createTestRouter } from '../fixtures/router.js';
import type { RunningServer } from '../fixtures/servers.js';
import { startServer } from '../fixtures/servers.js';

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function start(...args: Parameters<typeof startServer>): Promise<RunningServer> {
  const server = await startServer(...args);
  cleanups.push(() => server.close());
  return server;
}

/** A bare `ws` server on 127.0.0.1, port 0 (closed after the test), for tests that wire a handler to it themselves. */
async function listen(options: ServerOptions = {}): Promise<{ wss: WebSocketServer; url: string }> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, ...options });
  await new Promise((resolve) => wss.once('listening', resolve));
  cleanups.push(() => new Promise((resolve) => wss.close(resolve)));
  return { wss, url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}` };
}

describe('creating a handler', () => {
  it('calls no user code: a transformer that throws until the app is ready does not stop it starting', async () => {
    let appReady = false;
    const transformer = {
      serialize: (value: unknown) => {
        if (!appReady) throw new Error('transformer not configured yet');
        return value;
      },
      deserialize: (value: unknown) => value,
    };
    const t = initTRPC.create({ transformer });
    const router = t.router({ hello: t.procedure.query(() => ({ hi: 'there' })) });
    const server = await start('lanyard', { router });
    appReady = true;
    const wsClient = stockCreateWSClient({ url: server.url, WebSocket: NodeWebSocket });
    cleanups.push(() => wsClient.close());
    const trpc = createTRPCClient<typeof router>({ links: [stockWsLink<typeof router>({ client: wsClient, transformer })] });
    expect(await trpc.hello.query()).toEqual({ hi: 'there' });
  });
});

describe('handler.close()', () => {
  it('refuses every later socket with 1001, so a stock client reconnects instead of waiting on a dead socket', async () => {
    const server = await start('lanyard', { router: createTestRouter().router });
    server.handler!.close();
    const socket = await openRaw(server.url);
    expect(await socket.closed).toEqual({ code: CloseCode.GoingAway, reason: 'server shutting down' });

    const closes: Array<number | undefined> = [];
    const client = makeClient('stock', { url: server.url, retryDelayMs: () => 10_000, onClose: (cause) => closes.push(cause?.code) });
    cleanups.push(() => client.close());
    void client.trpc.echo.query('hi').catch(() => undefined);
    await expect.poll(() => closes).toEqual([CloseCode.GoingAway]);
  });

  it('keeps refusing after the handler closed even with a prefix, and leaves other paths alone', async () => {
    const server = await start('lanyard', { router: createTestRouter().router, prefix: '/trpc' });
    const others: string[] = [];
    server.wss.on('connection', (ws, req) => {
      if (!req.url?.startsWith('/trpc')) {
        others.push(req.url ?? '');
        ws.close(1000, 'other handler');
      }
    });
    server.handler!.close();
    expect((await (await openRaw(`${server.url}/trpc`)).closed).code).toBe(CloseCode.GoingAway);
    expect(await (await openRaw(`${server.url}/other`)).closed).toEqual({ code: 1000, reason: 'other handler' });
    expect(others).toEqual(['/other']);
  });
});

describe('upgrade checks', () => {
  it('refuses with 403 and reports through onError when the allowedOrigins predicate throws', async () => {
    const errors: Array<{ code: string; message: string; cause: unknown }> = [];
    const server = await start('lanyard', {
      router: createTestRouter().router,
      allowedOrigins: (origin: string | undefined) => origin!.endsWith('.trusted.example'),
      onError: ({ error }) => errors.push({ code: error.code, message: error.message, cause: error.cause }),
    });
    expect(await upgradeStatus(server.url)).toBe(403);
    expect(errors).toEqual([{ code: 'INTERNAL_SERVER_ERROR', message: 'allowedOrigins threw; the upgrade was refused', cause: expect.any(TypeError) }]);
    expect(await upgradeStatus(server.url, 'https://a.trusted.example')).toBe(101);
  });

  it('closes with 4403 under getWSConnectionHandler when the predicate throws, without crashing', async () => {
    const errors: string[] = [];
    const { wss, url } = await listen();
    const onConnection = getWSConnectionHandler({
      router: createTestRouter().router,
      allowedOrigins: () => {
        throw new Error('origin service down');
      },
      onError: ({ error }) => errors.push(error.message),
    });
    wss.on('connection', onConnection);
    cleanups.push(() => onConnection.close());
    const socket = await openRaw(url);
    expect(await socket.closed).toEqual({ code: CloseCode.Forbidden, reason: 'Origin not allowed' });
    expect(errors).toEqual(['allowedOrigins threw; the upgrade was refused']);
  });

  it('redacts the query token before the Origin predicate and the server\'s own verifyClient see the URL', async () => {
    const seen: string[] = [];
    const { wss, url } = await listen({
      verifyClient: ({ req }: { req: { url?: string } }) => (seen.push(`verifyClient ${req.url}`), true),
    });
    const tokens: Array<string | null> = [];
    const handler = applyWSSHandler({
      wss,
      router: createTestRouter().router,
      credentials: { queryParam: 'access_token' },
      authenticate: ({ queryToken }) => (tokens.push(queryToken), {}),
      allowedOrigins: (_origin, req) => (seen.push(`allowedOrigins ${req.url}`), true),
    });
    cleanups.push(() => handler.close());
    const socket = await openRaw(`${url}/?access_token=s3cret&x=1`);
    cleanups.push(() => socket.close());
    socket.send({ id: 1, method: 'query', params: { path: 'echo', input: 'hi' } });
    expect(await socket.next(forId(1))).toMatchObject({ result: { data: 'hi' } });
    // The predicate runs again at 'connection' (defence in depth); every run sees the redacted URL.
    expect(seen.slice(0, 2)).toEqual(['allowedOrigins /?access_token=REDACTED&x=1', 'verifyClient /?access_token=REDACTED&x=1']);
    expect(seen.join('\n')).not.toContain('s3cret');
    expect(tokens).toEqual(['s3cret']);
  });

  it('redacts for a verifyClient even without allowedOrigins', async () => {
    const seen: string[] = [];
    const { wss, url } = await listen({ verifyClient: ({ req }: { req: { url?: string } }) => (seen.push(req.url ?? ''), true) });
    const handler = applyWSSHandler({ wss, router: createTestRouter().router, credentials: { queryParam: 'access_token' } });
    cleanups.push(() => handler.close());
    const socket = await openRaw(`${url}/?access_token=s3cret`);
    socket.close();
    expect(seen).toEqual(['/?access_token=REDACTED']);
  });
});

describe('the flags in an upgrade URL', () => {
  it('read without parsing the URL, agree with URLSearchParams on every query', () => {
    const key = fc.constantFrom('lanyard', 'connectionParams', 'x', '%6Canyard', 'lanyard+', 'lan%79ard', '', '?lanyard');
    const value = fc.constantFrom('1', '0', '%31', '1+', '+1', '', '1=1', '11', '1#x');
    const pair = fc.tuple(key, fc.boolean(), value).map(([k, equals, v]) => (equals ? `${k}=${v}` : k));
    const url = fc
      .tuple(fc.constantFrom('/', '/path', '/pa#th'), fc.array(pair, { maxLength: 5 }), fc.constantFrom('&', '&&'), fc.constantFrom('', '#lanyard=1', '#'))
      .map(([path, pairs, separator, hash]) => `${path}?${pairs.join(separator)}${hash}`);
    fc.assert(
      fc.property(url, fc.constantFrom('lanyard', 'connectionParams'), (rawUrl, name) => {
        const expected = new URL(rawUrl, 'http://localhost').searchParams.get(name) === '1';
        expect(queryFlag(rawUrl, name)).toBe(expected);
      }),
      { numRuns: 2_000 },
    );
    expect(queryFlag('/?lanyard=1', 'lanyard')).toBe(true);
    expect(queryFlag('/', 'lanyard')).toBe(false);
    expect(queryFlag(undefined, 'lanyard')).toBe(false);
  });
});
