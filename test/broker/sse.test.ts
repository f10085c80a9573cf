import type { IncomingMessage, Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { TRPCClientError, createTRPCClient, httpSubscriptionLink } from '@trpc/client';
import { createHTTPServer } from '@trpc/server/adapters/standalone';
import { EventSource } from 'eventsource';
import { afterEach, expect, it } from 'vitest';
import { HISTORY_GAP_MESSAGE_PREFIX, createMemoryBroker, isHistoryGapError } from '../../src/broker/index.js';
import type { Broker } from '../../src/broker/index.js';
import { waitFor } from '../client/harness.js';
import { createBrokerRouter } from '../fixtures/brokerRouter.js';
import type { BrokerRouter } from '../fixtures/brokerRouter.js';

// A broker stream over stock tRPC SSE: the standalone HTTP adapter and `httpSubscriptionLink`,
// with the `eventsource` package as EventSource (Node 20 has none). Nothing of ours on the wire.

const disposers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const dispose of disposers.splice(0).reverse()) await dispose();
});

/** What the server saw of one SSE request: the id it resumes from, as tRPC reads it (header first). */
interface SseRequest {
  readonly lastEventIdHeader: string | undefined;
  readonly inputLastEventId: string | null | undefined;
}

function inputOf(req: IncomingMessage): { lastEventId?: string | null } {
  const input = new URL(req.url ?? '/', 'http://localhost').searchParams.get('input');
  return input === null ? {} : (JSON.parse(input) as { lastEventId?: string | null });
}

async function serve(broker: Broker) {
  const server: Server = createHTTPServer({ router: createBrokerRouter(broker), createContext: () => ({}) });
  const sockets = new Set<Socket>();
  const requests: SseRequest[] = [];
  server.on('connection', (socket) => (sockets.add(socket), socket.once('close', () => sockets.delete(socket))));
  server.on('request', (req) => {
    const header = req.headers['last-event-id'];
    requests.push({ lastEventIdHeader: typeof header === 'string' ? header : undefined, inputLastEventId: inputOf(req).lastEventId });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  disposers.push(
    async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
    () => broker.close(),
  );
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    /** Drops every open SSE response mid-stream, as a dying proxy or node would. */
    dropResponses: () => {
      for (const socket of sockets) socket.destroy();
    },
  };
}

function subscribe(url: string, room: string, lastEventId: string) {
  const trpc = createTRPCClient<BrokerRouter>({ links: [httpSubscriptionLink<BrokerRouter, typeof EventSource>({ url, EventSource })] });
  const received: number[] = [];
  const ids: string[] = [];
  const errors: unknown[] = [];
  const subscription = trpc.room.subscribe(
    { room, lastEventId },
    {
      onData: ({ id, data }) => (received.push(data), ids.push(id)),
      onError: (error) => errors.push(error),
    },
  );
  disposers.push(async () => subscription.unsubscribe());
  return { received, ids, errors };
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);
/** EventSource's reconnection delay when the server sends no `retry:` (tRPC's does not), in ms. */
const EVENTSOURCE_RETRY_MS = 3_000;

it('a stock SSE client resumes a dropped response with Last-Event-ID: every event once, in order', async () => {
  const broker = createMemoryBroker();
  const server = await serve(broker);
  const start = await broker.publish('sse-1', 0);
  const feed = subscribe(server.url, 'sse-1', start);

  for (const n of range(1, 40)) await broker.publish('sse-1', n);
  await waitFor(() => feed.received.length >= 30, 10_000, 'event 30');
  server.dropResponses(); // mid-stream: publishing continues while the client is away
  for (const n of range(41, 80)) await broker.publish('sse-1', n);
  await waitFor(() => server.requests.length >= 2, 15_000, 'the EventSource reconnect');
  const receivedAtResume = feed.received.length; // nothing arrives between the drop and the reconnect
  for (const n of range(81, 120)) {
    await broker.publish('sse-1', n); // during the catch-up and after it
    if (n % 10 === 0) await new Promise((resolve) => setTimeout(resolve, 2));
  }
  await waitFor(() => feed.received.length >= 120, 10_000, 'all 120 events');
  await new Promise((resolve) => setTimeout(resolve, 50)); // a duplicate would arrive now

  expect(feed.received).toEqual(range(1, 120));
  expect(feed.errors).toEqual([]);
  expect(server.requests).toHaveLength(2); // it really resumed, once
  const [first, second] = server.requests;
  expect(first).toEqual({ lastEventIdHeader: undefined, inputLastEventId: start });
  // The EventSource resumed from the last event it had, in the header tRPC prefers over the input.
  expect(receivedAtResume).toBeGreaterThanOrEqual(30);
  expect(receivedAtResume).toBeLessThan(120);
  expect(second?.lastEventIdHeader).toBe(feed.ids[receivedAtResume - 1]);
});

it('a stock SSE client gets the history gap as a typed error, with no partial replay and no retry', async () => {
  const memory = createMemoryBroker({ historySize: 5 });
  let streams = 0;
  const broker: Broker = { ...memory, stream: (channel, options) => ((streams += 1), memory.stream(channel, options)) };
  const server = await serve(broker);
  const start = await memory.publish('sse-2', 0);
  for (const n of range(1, 10)) await memory.publish('sse-2', n);

  const feed = subscribe(server.url, 'sse-2', start);
  await waitFor(() => feed.errors.length === 1, 10_000, 'the gap error');
  expect(feed.received).toEqual([]); // no partial replay
  const [error] = feed.errors;
  expect(error).toBeInstanceOf(TRPCClientError);
  const clientError = error as TRPCClientError<BrokerRouter>;
  expect(clientError.data?.code).toBe('PRECONDITION_FAILED');
  expect(clientError.message.startsWith(HISTORY_GAP_MESSAGE_PREFIX)).toBe(true);
  expect(isHistoryGapError(error)).toBe(true);

  // The subscription is over: its EventSource does not reconnect and rerun the stream.
  await new Promise((resolve) => setTimeout(resolve, EVENTSOURCE_RETRY_MS + 500));
  expect(server.requests).toHaveLength(1);
  expect(streams).toBe(1);
  expect(feed.errors).toHaveLength(1);
});
