import { TRPCClientError } from '@trpc/client';
import { TRPCError } from '@trpc/server';
import { afterEach, describe, expect, it } from 'vitest';
import { HISTORY_GAP_MESSAGE_PREFIX, createMemoryBroker, isHistoryGapError } from '../../src/broker/index.js';
import type { Broker } from '../../src/broker/index.js';
import { waitFor } from '../client/harness.js';
import { createBrokerRouter, makeBrokerClient } from '../fixtures/brokerRouter.js';
import type { ClientKind } from '../fixtures/clients.js';
import { startServer } from '../fixtures/servers.js';
import type { RunningServer } from '../fixtures/servers.js';

const disposers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const dispose of disposers.splice(0).reverse()) await dispose();
});

async function serve(broker: Broker): Promise<RunningServer> {
  const server = await startServer('lanyard', { router: createBrokerRouter(broker), createContext: () => ({}) });
  disposers.push(() => server.close(), () => broker.close());
  return server;
}

function connect(kind: ClientKind, server: RunningServer) {
  const client = makeBrokerClient(kind, server.url);
  disposers.push(() => client.close());
  return client;
}

function record(subscribe: (handlers: {
  onData: (event: { id: string; data: number | string }) => void;
  onError: (error: unknown) => void;
}) => { unsubscribe(): void }) {
  const received: Array<number | string> = [];
  const ids: string[] = [];
  const errors: unknown[] = [];
  const subscription = subscribe({
    onData: (event) => (received.push(event.data), ids.push(event.id)),
    onError: (error) => errors.push(error),
  });
  disposers.push(async () => subscription.unsubscribe());
  return { received, ids, errors };
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);
const dropSockets = (server: RunningServer) => {
  server.sockets.terminateAll();
};

describe.each<ClientKind>(['lanyard', 'stock'])('broker stream over real sockets, %s client', (kind) => {
  it('resumes across dropped sockets with every event once, in order', async () => {
    const broker = createMemoryBroker();
    const server = await serve(broker);
    let connections = 0;
    server.sockets.onOpen(() => (connections += 1));
    const { trpc } = connect(kind, server);
    const start = await broker.publish('room-1', 0);
    const feed = record((handlers) => trpc.room.subscribe({ room: 'room-1', lastEventId: start }, handlers));
    for (const n of range(1, 120)) {
      await broker.publish('room-1', n);
      if (n === 30 || n === 80) {
        await waitFor(() => feed.received.length >= n - 5, 5_000, `event ${n - 5}`);
        dropSockets(server); // the next events are published while the client is away
      }
      if (n % 10 === 0) await new Promise((resolve) => setTimeout(resolve, 2));
    }
    await waitFor(() => feed.received.length >= 120, 5_000, 'all 120 events');
    await new Promise((resolve) => setTimeout(resolve, 50)); // a duplicate would arrive now
    expect(feed.received).toEqual(range(1, 120));
    expect(feed.errors).toEqual([]);
    expect(connections).toBe(3); // it really resumed twice
  });

  it('gets the history gap as a typed error when it resumes beyond the history', async () => {
    const memory = createMemoryBroker({ historySize: 5 });
    let streams = 0;
    const broker: Broker = { ...memory, stream: (channel, options) => ((streams += 1), memory.stream(channel, options)) };
    const server = await serve(broker);
    const { trpc } = connect(kind, server);
    const [first] = [await memory.publish('room-2', 0)];
    for (const n of range(1, 10)) await memory.publish('room-2', n);
    const feed = record((handlers) => trpc.room.subscribe({ room: 'room-2', lastEventId: first }, handlers));
    await waitFor(() => feed.errors.length === 1, 5_000, 'the gap error');
    expect(feed.received).toEqual([]); // no partial replay
    const [error] = feed.errors;
    expect(error).toBeInstanceOf(TRPCClientError);
    const clientError = error as TRPCClientError<ReturnType<typeof createBrokerRouter>>;
    expect(clientError.data?.code).toBe('PRECONDITION_FAILED');
    expect(clientError.message.startsWith(HISTORY_GAP_MESSAGE_PREFIX)).toBe(true);
    expect(isHistoryGapError(error)).toBe(true);
    // The subscription is over: a reconnect does not send it again.
    let reconnected = false;
    server.sockets.onOpen(() => (reconnected = true));
    dropSockets(server);
    await waitFor(() => reconnected, 5_000, 'the reconnect');
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(streams).toBe(1);
    expect(feed.errors).toHaveLength(1);
  });

  it('gets the gap, not a hole, when more than historySize events pass while it is away', async () => {
    const broker = createMemoryBroker({ historySize: 5 });
    const first = await serve(broker);
    let url = first.url;
    const client = makeBrokerClient(kind, () => url);
    disposers.push(() => client.close());
    const start = await broker.publish('room-3', 0);
    const feed = record((handlers) => client.trpc.room.subscribe({ room: 'room-3', lastEventId: start }, handlers));
    await broker.publish('room-3', 1);
    await waitFor(() => feed.received.length === 1, 5_000, 'event 1');
    await first.close(); // the node is gone; the client retries
    for (const n of range(2, 20)) await broker.publish('room-3', n);
    const second = await serve(broker);
    url = second.url;
    await waitFor(() => feed.errors.length === 1, 5_000, 'the gap error');
    expect(feed.received).toEqual([1]);
    expect(isHistoryGapError(feed.errors[0])).toBe(true);
  });

  it('with onGap, gets a snapshot and then live events instead of an error', async () => {
    const broker = createMemoryBroker({ historySize: 5 });
    const server = await serve(broker);
    const { trpc } = connect(kind, server);
    const start = await broker.publish('room-4', 0);
    for (const n of range(1, 10)) await broker.publish('room-4', n);
    const feed = record((handlers) => trpc.roomWithSnapshot.subscribe({ room: 'room-4', lastEventId: start }, handlers));
    await waitFor(() => feed.received.length === 1, 5_000, 'the snapshot');
    await broker.publish('room-4', 11);
    await waitFor(() => feed.received.length === 2, 5_000, 'event 11');
    expect(feed.received).toEqual(['snapshot:evicted', 11]);
    expect(feed.errors).toEqual([]);
  });

  it('a resume under a revoked credential is refused before any event; accepted again, it resumes exactly', async () => {
    const memory = createMemoryBroker();
    let streams = 0;
    const broker: Broker = { ...memory, stream: (channel, options) => ((streams += 1), memory.stream(channel, options)) };
    const accepted = new Set(['good']);
    let refusals = 0;
    const server = await startServer('lanyard', {
      router: createBrokerRouter(broker),
      createContext: () => ({}),
      authenticate: ({ connectionParams }) => {
        const token = connectionParams?.['token'] ?? '';
        if (!accepted.has(token)) {
          refusals += 1;
          throw new TRPCError({ code: 'UNAUTHORIZED' });
        }
        return { token };
      },
    });
    disposers.push(() => server.close(), () => memory.close());
    let token = 'good';
    const client = makeBrokerClient(kind, server.url, () => ({ token }));
    disposers.push(() => client.close());
    const start = await memory.publish('room-5', 0);
    const feed = record((handlers) => client.trpc.room.subscribe({ room: 'room-5', lastEventId: start }, handlers));
    for (const n of range(1, 5)) await memory.publish('room-5', n);
    await waitFor(() => feed.received.length === 5, 5_000, 'events 1..5');

    accepted.delete('good'); // revoked while the socket is down
    dropSockets(server);
    for (const n of range(6, 10)) await memory.publish('room-5', n);
    await waitFor(() => refusals >= 3, 5_000, 'refused reconnects');
    expect(feed.received).toEqual(range(1, 5)); // nothing replayed under the revoked credential
    expect(streams).toBe(1); // the procedure never ran for it

    token = 'fresh';
    accepted.add('fresh');
    let resumed = feed;
    if (kind === 'stock' && feed.errors.length > 0) {
      // Stock's client ends the subscription with the refusal when the server read it while the
      // credentials were being checked (ours keeps it for the next accepted socket); the app
      // resubscribes from the last id it received. When the refusal came first (frames read one
      // by one, as uWebSockets.js hands them over), it is not answered, and stock's client sends
      // it again on its next socket, as ours does.
      expect(feed.errors.map((error) => (error as { data?: { code?: string } }).data?.code)).toEqual(['UNAUTHORIZED']);
      // A resubscription sent on a socket still opened with the revoked token is refused too;
      // the app retries it, as it would any UNAUTHORIZED.
      for (;;) {
        resumed = record((handlers) => client.trpc.room.subscribe({ room: 'room-5', lastEventId: feed.ids.at(-1) }, handlers));
        await waitFor(() => resumed.received.length > 0 || resumed.errors.length > 0, 5_000, 'the resubscription');
        if (resumed.errors.length === 0) break;
        expect(resumed.received).toEqual([]);
      }
      resumed.received.unshift(...feed.received);
    } else {
      expect(feed.errors).toEqual([]);
    }
    await waitFor(() => resumed.received.length >= 10, 5_000, 'the resume');
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(resumed.received).toEqual(range(1, 10));
    expect(streams).toBe(2);
  });
});

it('a stock tRPC server and a stock client carry the same gap signal (nothing of ours on the wire)', async () => {
  const broker = createMemoryBroker({ historySize: 2 });
  const server = await startServer('stock', { router: createBrokerRouter(broker), createContext: () => ({}) });
  disposers.push(() => server.close(), () => broker.close());
  const { trpc } = connect('stock', server);
  const start = await broker.publish('room-6', 0);
  for (const n of range(1, 5)) await broker.publish('room-6', n);
  const feed = record((handlers) => trpc.room.subscribe({ room: 'room-6', lastEventId: start }, handlers));
  await waitFor(() => feed.errors.length === 1, 5_000, 'the gap error');
  expect(feed.received).toEqual([]);
  expect((feed.errors[0] as { data?: { code?: string } }).data?.code).toBe('PRECONDITION_FAILED');
  expect(isHistoryGapError(feed.errors[0])).toBe(true);
});
