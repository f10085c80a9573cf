import { afterEach, describe, expect, it } from 'vitest';
import { Connection, ConnectionState } from '../../src/client/socket/connection.js';
import type { ConnectionListener } from '../../src/client/socket/connection.js';
import { resolveOptions } from '../../src/client/options.js';
import { MAX_MESSAGES_PER_FRAME } from '../../src/client/socket/outbox.js';
import { createTRPCClient } from '@trpc/client';
import { createWSClient, wsLink } from '../../src/client/index.js';
import type { WsClient } from '../../src/client/index.js';
import { createTestRouter } from '../fixtures/router.js';
import type { TestRouter } from '../fixtures/router.js';
import type { RunningServer } from '../fixtures/servers.js';
import { startServer as startLanyardServer } from '../fixtures/servers.js';
import { disposeAll, NodeWebSocket, startServer, waitFor } from './harness.js';

const opened: Connection[] = [];
let lanyard: RunningServer | undefined;
let client: WsClient | undefined;
afterEach(async () => {
  for (const connection of opened.splice(0)) connection.close();
  await client?.close();
  client = undefined;
  await lanyard?.close();
  lanyard = undefined;
  await disposeAll();
});

/** A bare Connection to `url`, resolved once it is ready. */
async function openConnection(url: string): Promise<Connection> {
  const listener: ConnectionListener = {
    onTransition: () => undefined,
    onMessage: () => undefined,
    onSocketError: () => undefined,
    onNegotiated: () => undefined,
  };
  const connection = new Connection(resolveOptions({ url, WebSocket: NodeWebSocket }), listener, () => null);
  opened.push(connection);
  connection.open();
  await waitFor(() => connection.state === ConnectionState.Ready);
  return connection;
}

function lanyardClient(url: string) {
  client = createWSClient({ url, WebSocket: NodeWebSocket });
  return createTRPCClient<TestRouter>({ links: [wsLink({ client })] });
}

const query = (id: number) => ({ id, method: 'query', params: { path: 'echo', input: `q${id}` } });

describe('coalesced frames on one connection', () => {
  it('writes what the tick holds before a PING, so the PONG comes after the answers to it', async () => {
    const server = await startServer();
    const connection = await openConnection(server.url);
    connection.send(query(1));
    connection.send(query(2));
    connection.ping(null);
    await waitFor(() => server.frames.length === 2);
    expect(server.frames.map((frame) => frame.text)).toEqual([JSON.stringify([query(1), query(2)]), 'PING']);
  });

  it('writes what the tick holds before closing the socket', async () => {
    const server = await startServer();
    const connection = await openConnection(server.url);
    connection.send(query(1));
    connection.close();
    await waitFor(() => server.frames.length === 1);
    expect(server.parsedFrames()).toEqual([query(1)]);
  });

  it('refuses to send on a socket that has closed', async () => {
    const server = await startServer();
    const connection = await openConnection(server.url);
    server.sockets[0]!.ws.terminate();
    await waitFor(() => connection.state === ConnectionState.Closed);
    expect(() => connection.send(query(1))).toThrow(/not ready/);
    expect(server.frames).toEqual([]);
  });

  it(`puts at most ${MAX_MESSAGES_PER_FRAME} messages in a frame`, async () => {
    const server = await startServer();
    const connection = await openConnection(server.url);
    for (let id = 1; id <= MAX_MESSAGES_PER_FRAME * 2 + 1; id++) connection.send(query(id));
    await waitFor(() => server.frames.length === 3);
    expect(server.parsedFrames().map((frame) => (Array.isArray(frame) ? frame.length : 1))).toEqual([
      MAX_MESSAGES_PER_FRAME,
      MAX_MESSAGES_PER_FRAME,
      1,
    ]);
  });
});

describe("the server's maxBatchSize", () => {
  it('is announced in lanyard.hello, and the client never sends a longer batch', async () => {
    lanyard = await startLanyardServer('lanyard', { router: createTestRouter().router, maxBatchSize: 3 });
    const batches: number[] = [];
    lanyard.sockets.onOpen((socket) =>
      socket.onMessage((data) => {
        const frame: unknown = JSON.parse(String(data));
        batches.push(Array.isArray(frame) ? frame.length : 1);
      }),
    );
    const trpc = lanyardClient(lanyard.url);
    await trpc.echo.query('warm-up'); // the hello has arrived: the client knows the limit
    expect(client!.serverInfo).toMatchObject({ maxBatchSize: 3 });

    const burst = Array.from({ length: 10 }, (_, i) => `burst ${i}`); // one tick on a ready socket
    expect(await Promise.all(burst.map((input) => trpc.echo.query(input)))).toEqual(burst);
    expect(Math.max(...batches)).toBe(3);
    expect(batches).toEqual([1, 3, 3, 3, 1]);
  });

  it('is announced with its default (1,000) when the server sets none, and left out when lifted', async () => {
    lanyard = await startLanyardServer('lanyard', { router: createTestRouter().router });
    await lanyardClient(lanyard.url).echo.query('x');
    expect(client!.serverInfo).toMatchObject({ maxBatchSize: 1_000 });
    await client!.close();
    await lanyard.close();
    lanyard = await startLanyardServer('lanyard', { router: createTestRouter().router, maxBatchSize: Infinity });
    await lanyardClient(lanyard.url).echo.query('x');
    expect(client!.serverInfo).not.toHaveProperty('maxBatchSize');
  });
});
