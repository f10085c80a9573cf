/**
 * A stock tRPC client cannot refresh in band. Against our server with expiring sessions it is
 * sent tRPC's own `reconnect` before each expiry, reconnects with fresh connectionParams, and
 * keeps its tracked subscription without losing or duplicating an event.
 */
import { createTRPCClient, createWSClient, wsLink } from '@trpc/client';
import { afterEach, expect, it } from 'vitest';
import { CloseCode } from '../../src/protocol/closeCodes.js';
import type { AuthRouter, TestSession } from '../fixtures/authRouter.js';
import { createAuthFixture } from '../fixtures/authRouter.js';
import { NodeWebSocket } from '../fixtures/clients.js';
import type { RunningServer } from '../fixtures/servers.js';
import { startServer } from '../fixtures/servers.js';

let server: RunningServer<TestSession> | undefined;
let closeClient: (() => Promise<void>) | undefined;
afterEach(async () => {
  await closeClient?.();
  await server?.close();
});

it('keeps a stock client subscribed across several expiries, with no lost and no duplicate event', async () => {
  const fixture = createAuthFixture();
  server = await startServer<AuthRouter, TestSession>('lanyard', {
    router: fixture.router,
    authenticate: fixture.authenticate,
    createContext: fixture.createContext,
    refreshAheadMs: 150,
    expiryGraceMs: 200,
  });
  const closeCodes: number[] = [];
  /** Per server-side socket, the tokens of the `connectionParams` frames it read. */
  const tokensBySocket: string[][] = [];
  server.sockets.onOpen((socket) => {
    const tokens: string[] = [];
    tokensBySocket.push(tokens);
    socket.onMessage((data) => {
      const text = String(data);
      if (!text.startsWith('{')) return; // PONG, or a batch of calls
      const frame = JSON.parse(text) as { method?: string; data?: { token?: string } };
      if (frame.method === 'connectionParams') tokens.push(frame.data?.token ?? '');
    });
    socket.onClose((code) => closeCodes.push(code));
  });
  let tokensIssued = 0;
  const wsClient = createWSClient({
    url: server.url,
    WebSocket: NodeWebSocket,
    connectionParams: async () => ({ token: `alice:member:400#${++tokensIssued}` }),
  });
  closeClient = () => wsClient.close();
  const trpc = createTRPCClient<AuthRouter>({ links: [wsLink<AuthRouter>({ client: wsClient })] });
  const seen: number[] = [];
  const errors: unknown[] = [];
  const sub = trpc.publicRoom.subscribe({}, { onData: (event) => seen.push(event.data.seq), onError: (error) => errors.push(error) });
  await expect.poll(() => fixture.listeners()).toBe(1);

  const published: number[] = [];
  const until = Date.now() + 1500;
  while (Date.now() < until) {
    published.push(fixture.publish('public').seq);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  await expect.poll(() => seen.length, { timeout: 3000 }).toBe(published.length);
  expect(seen).toEqual(published);
  expect(errors).toEqual([]);
  expect(tokensBySocket.length).toBeGreaterThanOrEqual(3);
  // Every socket was given a token of its own, fetched for it: the client evaluated
  // connectionParams afresh for each socket. (The newest socket may not have sent its frame yet.)
  await expect.poll(() => tokensBySocket.every((tokens) => tokens.length === 1), { timeout: 2000 }).toBe(true);
  const presented = tokensBySocket.flat();
  expect(new Set(presented).size).toBe(presented.length);
  expect(presented.length).toBeLessThanOrEqual(tokensIssued);
  // The client left each old socket itself, before the server had to close it as expired.
  expect(closeCodes.filter((code) => code === CloseCode.SessionExpired)).toEqual([]);
  sub.unsubscribe();
});
