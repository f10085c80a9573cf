/** The `ws` adapter's own duties: starting like stock, shutting the door, and the upgrade checks. */
import { createTRPCClient, createWSClient as stockCreateWSClient, wsLink as stockWsLink } from '@trpc/client';
import { initTRPC } from '@trpc/server';
import { afterEach, describe, expect, it } from 'vitest';
import { NodeWebSocket } from '../fixtures/clients.js';
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
