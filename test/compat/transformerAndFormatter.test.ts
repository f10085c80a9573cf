/**
 * Transformers and errorFormatter across every pairing: our server must serialise results,
 * tracked events and errors through the router's transformer exactly as stock does, and
 * our client must deserialise them as stock's does.
 */
import { EventEmitter, on } from 'node:events';
import { createTRPCClient } from '@trpc/client';
import { initTRPC, tracked, TRPCError } from '@trpc/server';
import { afterEach, describe, expect, it } from 'vitest';
import { createWSClient as stockCreateWSClient, wsLink as stockWsLink } from '@trpc/client';
import { createWSClient, wsLink } from '../../src/client/index.js';
import { NodeWebSocket } from '../fixtures/clients.js';
import type { RunningServer, ServerKind } from '../fixtures/servers.js';
import { startServer } from '../fixtures/servers.js';

/** Keeps Dates as Dates: `{ $date: iso }` on the wire. */
const dateTransformer = {
  serialize: (value: unknown): unknown => {
    if (value instanceof Date) return { $date: value.toISOString() };
    if (Array.isArray(value)) return value.map((v) => dateTransformer.serialize(v));
    if (typeof value === 'object' && value !== null) {
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, dateTransformer.serialize(v)]));
    }
    return value;
  },
  deserialize: (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map((v) => dateTransformer.deserialize(v));
    if (typeof value === 'object' && value !== null) {
      const record = value as Record<string, unknown>;
      if (typeof record['$date'] === 'string' && Object.keys(record).length === 1) return new Date(record['$date']);
      return Object.fromEntries(Object.entries(record).map(([k, v]) => [k, dateTransformer.deserialize(v)]));
    }
    return value;
  },
};

function createRouter() {
  const t = initTRPC.create({
    transformer: dateTransformer,
    errorFormatter: ({ shape }) => ({ ...shape, data: { ...shape.data, formatted: true } }),
  });
  const ee = new EventEmitter();
  const router = t.router({
    when: t.procedure.input((v: unknown) => v as { at: Date }).query(({ input }) => ({ at: input.at, next: new Date(input.at.getTime() + 1000) })),
    fail: t.procedure.query(() => {
      throw new TRPCError({ code: 'CONFLICT', message: 'formatted?' });
    }),
    stamps: t.procedure.subscription(async function* ({ signal }) {
      for await (const [id, at] of on(ee, 'stamp', { signal }) as AsyncIterable<[string, Date]>) yield tracked(id, { at });
    }),
  });
  return { router, ee };
}
type Router = ReturnType<typeof createRouter>['router'];

describe.each([
  ['lanyard', 'lanyard'],
  ['stock', 'lanyard'],
  ['lanyard', 'stock'],
  ['stock', 'stock'],
] as const)('%s client ↔ %s server with a transformer and errorFormatter', (clientKind, serverKind: ServerKind) => {
  let server: RunningServer | undefined;
  let closeClient: (() => Promise<void>) | undefined;
  afterEach(async () => {
    await closeClient?.();
    await server?.close();
  });

  async function setup() {
    const { router, ee } = createRouter();
    server = await startServer(serverKind, { router });
    const opts = { url: server.url, WebSocket: NodeWebSocket };
    if (clientKind === 'lanyard') {
      const client = createWSClient(opts);
      closeClient = () => client.close();
      return { ee, trpc: createTRPCClient<Router>({ links: [wsLink<Router>({ client, transformer: dateTransformer })] }) };
    }
    const client = stockCreateWSClient(opts);
    closeClient = () => client.close();
    return { ee, trpc: createTRPCClient<Router>({ links: [stockWsLink<Router>({ client, transformer: dateTransformer })] }) };
  }

  it('round-trips Dates through input and output', async () => {
    const { trpc } = await setup();
    const at = new Date('2026-01-02T03:04:05.000Z');
    const result = await trpc.when.query({ at });
    expect(result.at).toBeInstanceOf(Date);
    expect(result.next.toISOString()).toBe('2026-01-02T03:04:06.000Z');
  });

  it('sends errors through errorFormatter', async () => {
    const { trpc } = await setup();
    await expect(trpc.fail.query()).rejects.toMatchObject({ message: 'formatted?', data: { code: 'CONFLICT', formatted: true } });
  });

  it('serialises tracked events through the transformer', async () => {
    const { trpc, ee } = await setup();
    const got: Array<{ id: string; at: Date }> = [];
    let started = false;
    const sub = trpc.stamps.subscribe(undefined, { onStarted: () => (started = true), onData: (e) => got.push({ id: e.id, at: e.data.at }) });
    await expect.poll(() => started).toBe(true);
    ee.emit('stamp', 'a', new Date(0));
    await expect.poll(() => got.length).toBe(1);
    expect(got[0]!.id).toBe('a');
    expect(got[0]!.at).toBeInstanceOf(Date);
    sub.unsubscribe();
  });
});
