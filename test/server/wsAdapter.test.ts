/** The `ws` adapter's own duties: starting like stock, shutting the door, and the upgrade checks. */
import { createTRPCClient, createWSClient as stockCreateWSClient, wsLink as stockWsLink } from '@trpc/client';
import { initTRPC } from '@trpc/server';
import { afterEach, describe, expect, it } from 'vitest';
import { CloseCode } from '../../src/protocol/closeCodes.js';
import { makeClient, NodeWebSocket } from '../fixtures/clients.js';
import { openRaw } from '../fixtures/rawClient.js';
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
  it('refuses every later socket with 1001, so a stock client\'s call fails instead of hanging', async () => {
    const server = await start('lanyard', { router: createTestRouter().router });
    server.handler!.close();
    const socket = await openRaw(server.url);
    expect(await socket.closed).toEqual({ code: CloseCode.GoingAway, reason: 'server shutting down' });

    const client = makeClient('stock', { url: server.url, retryDelayMs: () => 10_000 });
    cleanups.push(() => client.close());
    await expect(client.trpc.echo.query('hi')).rejects.toMatchObject({ name: 'TRPCClientError' });
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
