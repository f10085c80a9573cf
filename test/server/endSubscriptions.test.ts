/**
 * `handler.endSubscriptions` on one node, real sockets, real clients: the subscriptions picked end
 * with a typed error (`lanyardReason: 'subscription-ended'`) and `stopped`, their sources are
 * released, nothing more is sent for them; the socket, its other subscriptions and its calls go on;
 * neither client subscribes an ended subscription again; races with set-up, re-authorisation and a
 * reconnect; a throwing filter; one pass over thousands of subscriptions.
 */
import { createTRPCClient, createWSClient as stockCreateWSClient, retryLink, TRPCClientError, wsLink as stockWsLink } from '@trpc/client';
import type { TRPCClient, TRPCLink } from '@trpc/client';
import { initTRPC } from '@trpc/server';
import type { TRPCError } from '@trpc/server';
import { observable } from '@trpc/server/observable';
import { afterEach, describe, expect, it } from 'vitest';
import { createWSClient, wsLink } from '../../src/client/index.js';
import { isSubscriptionEndedError, SUBSCRIPTION_ENDED_REASON } from '../../src/protocol/index.js';
import { eventually } from '../broker/redisHarness.js';
import { authenticateFrame, dataIds, signIn } from '../fixtures/authSteps.js';
import type { ClientKind } from '../fixtures/clients.js';
import { NodeWebSocket } from '../fixtures/clients.js';
import type { DocInput, DocRouter, DocSession } from '../fixtures/docRouter.js';
import { createDocFixture } from '../fixtures/docRouter.js';
import type { RawClient } from '../fixtures/rawClient.js';
import { forId, openRaw } from '../fixtures/rawClient.js';
import { startServer } from '../fixtures/servers.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function serve() {
  const fixture = createDocFixture();
  const errors: TRPCError[] = [];
  const server = await startServer<DocRouter, DocSession>('lanyard', {
    router: fixture.router,
    authenticate: fixture.authenticate,
    createContext: fixture.createContext,
    onError: ({ error }) => void errors.push(error),
  });
  cleanups.push(() => server.close());
  const connect = async (query: string): Promise<RawClient> => {
    const client = await openRaw(`${server.url}/${query}`);
    cleanups.push(() => client.close());
    return client;
  };
  /** A raw trpc-lanyard socket signed in as `token`. */
  const rawSignIn = async (token: string) => (await signIn(connect, token)).client;
  return { fixture, server, handler: server.handler!, errors, rawSignIn };
}

/** Our client or stock's, typed for the document router, signed in as `token`; `links` go before the ws link. */
function docClient(kind: ClientKind, url: string, token: string, links: Array<TRPCLink<DocRouter>> = []) {
  const closes: number[] = [];
  const options = { url, WebSocket: NodeWebSocket, connectionParams: { token }, retryDelayMs: () => 10, onClose: (cause?: { code?: number }) => void closes.push(cause?.code ?? 0) };
  const wsClient = kind === 'lanyard' ? createWSClient(options) : stockCreateWSClient(options);
  const link = kind === 'lanyard' ? wsLink<DocRouter>({ client: wsClient as ReturnType<typeof createWSClient> }) : stockWsLink<DocRouter>({ client: wsClient as ReturnType<typeof stockCreateWSClient> });
  const trpc: TRPCClient<DocRouter> = createTRPCClient<DocRouter>({ links: [...links, link] });
  cleanups.push(() => wsClient.close());
  return { trpc, closes };
}

/** One document subscription of a client: what it delivered. */
function watch(trpc: TRPCClient<DocRouter>, docId: string) {
  const seen = { events: [] as number[], errors: [] as unknown[], started: 0, completed: false };
  const subscription = trpc.doc.subscribe(
    { docId },
    {
      onStarted: () => void seen.started++,
      onData: (event) => void seen.events.push(event.data.seq),
      onError: (error) => void seen.errors.push(error),
      onComplete: () => void (seen.completed = true),
    },
  );
  cleanups.push(() => subscription.unsubscribe());
  return seen;
}

const isDoc = (docId: string) => (info: { path: string; input: unknown }) => info.path === 'doc' && (info.input as DocInput).docId === docId;
/** What a frame is: `error`, or its result's type (`started`, `data`, `stopped`); `other` for the rest. */
const frameType = (frame: unknown): string => {
  if (typeof frame !== 'object' || frame === null) return 'other';
  if ('error' in frame) return 'error';
  return (frame as { result?: { type?: string } }).result?.type ?? 'other';
};
const subscribeFrame = (id: number, docId: string) => ({ id, method: 'subscription', params: { path: 'doc', input: { docId } } });
const isStarted = (id: number) => (frame: unknown) => forId(id)(frame) && (frame as { result?: { type?: string } }).result?.type === 'started';

/** The client error an ended subscription gets, with the code and reason the server chose. */
function expectEndedError(error: unknown, code: string, httpStatus: number, message: string): void {
  expect(error).toBeInstanceOf(TRPCClientError);
  expect((error as TRPCClientError<DocRouter>).message).toBe(message);
  expect((error as TRPCClientError<DocRouter>).data).toMatchObject({ code, httpStatus, path: 'doc', lanyardReason: SUBSCRIPTION_ENDED_REASON });
  expect(isSubscriptionEndedError(error)).toBe(true);
}

describe.each(['lanyard', 'stock'] as const)('endSubscriptions, seen by a %s client', (kind) => {
  it('ends only the subscription picked by path and input with a typed error; the other streams every event once, the socket stays, queries work', async () => {
    const { fixture, server, handler } = await serve();
    const client = docClient(kind, server.url, 'alice');
    const [one, two] = [watch(client.trpc, 'd1'), watch(client.trpc, 'd2')];
    await eventually(() => one.started === 1 && two.started === 1 && fixture.running('d1') === 1 && fixture.running('d2') === 1, 'both subscriptions run');
    const before = [1, 2, 3].map(() => [fixture.publish('d1').seq, fixture.publish('d2').seq]);
    await eventually(() => one.events.length === 3 && two.events.length === 3, 'the first events');

    expect(handler.endSubscriptions(isDoc('d1'), { code: 'FORBIDDEN', reason: 'access to d1 withdrawn' })).toBe(1);
    await eventually(() => one.errors.length === 1, 'd1 ends with an error');
    expectEndedError(one.errors[0], 'FORBIDDEN', 403, 'access to d1 withdrawn');
    await eventually(() => fixture.running('d1') === 0, "d1's source is released");

    const after = [1, 2, 3].map(() => [fixture.publish('d1').seq, fixture.publish('d2').seq]);
    await eventually(() => two.events.length === 6, 'd2 streams on');
    expect(await client.trpc.me.query()).toBe('alice');
    expect(one.events).toEqual(before.map(([d1]) => d1));
    expect(two.events).toEqual([...before, ...after].map(([, d2]) => d2));
    expect(client.closes).toEqual([]);
    expect(server.sockets.open).toHaveLength(1);
    expect(fixture.running('d2')).toBe(1);
  });

  it('does not subscribe the ended subscription again: not on a reconnect notification, not after the socket drops', async () => {
    const { fixture, server, handler } = await serve();
    const client = docClient(kind, server.url, 'alice');
    const [one, two] = [watch(client.trpc, 'd1'), watch(client.trpc, 'd2')];
    await eventually(() => fixture.running('d1') === 1 && fixture.running('d2') === 1, 'both subscriptions run');
    expect(handler.endSubscriptions(isDoc('d1'))).toBe(1);
    await eventually(() => one.errors.length === 1, 'd1 ends');
    expectEndedError(one.errors[0], 'FORBIDDEN', 403, 'subscription ended by the server');

    const startsOf = (docId: string) => fixture.starts.filter((input) => input.docId === docId).length;
    server.broadcastReconnectNotification();
    await eventually(() => startsOf('d2') === 2 && server.sockets.open.length === 1, 'd2 moved to a new socket');
    server.sockets.terminateAll();
    await eventually(() => startsOf('d2') === 3 && fixture.running('d2') === 1, 'd2 resubscribed after the drop');
    const seq = fixture.publish('d2').seq;
    await eventually(() => two.events.includes(seq), 'd2 streams on the third socket');
    expect(await client.trpc.me.query()).toBe('alice');
    expect(startsOf('d1')).toBe(1);
    expect(fixture.running('d1')).toBe(0);
    expect(one.errors).toHaveLength(1);
    expect(two.events).toEqual([seq]);
    expect(two.errors).toEqual([]);
  });

  it('ends the subscription on both sockets while it moves to a new one; the client sees one error and never subscribes it again', async () => {
    const { fixture, server, handler } = await serve();
    const client = docClient(kind, server.url, 'alice');
    const one = watch(client.trpc, 'd1');
    await eventually(() => fixture.running('d1') === 1, 'd1 runs');
    const hold = fixture.hold('d1');
    server.broadcastReconnectNotification();
    await eventually(() => hold.waiting() === 1, 'the resubscription on the new socket is being set up');

    expect(handler.endSubscriptions(isDoc('d1'))).toBe(2); // the old socket's and the new one's
    hold.release();
    await eventually(() => one.errors.length === 1 && fixture.running('d1') === 0, 'd1 ended everywhere');
    expect(await client.trpc.me.query()).toBe('alice');
    fixture.publish('d1');
    server.sockets.terminateAll();
    // A query sent as the socket drops fails (queries are not retried): the next one goes on a new socket.
    await eventually(async () => (await client.trpc.me.query().catch(() => null)) === 'alice', 'a query on a new socket');
    expect(fixture.starts.filter((input) => input.docId === 'd1')).toHaveLength(1); // the held one never ran
    expect(fixture.running('d1')).toBe(0);
    expect(one.errors).toHaveLength(1);
    expect(one.events).toEqual([]);
  });

  it("with tRPC's retryLink: a retry predicate that checks isSubscriptionEndedError keeps it ended (a blanket retry subscribes again)", async () => {
    const { fixture, server, handler } = await serve();
    const careful = docClient(kind, server.url, 'alice', [retryLink<DocRouter>({ retry: ({ error }) => !isSubscriptionEndedError(error) })]);
    const blanket = docClient(kind, server.url, 'bob', [retryLink<DocRouter>({ retry: ({ attempts }) => attempts < 2 })]);
    const [kept, retried] = [watch(careful.trpc, 'd1'), watch(blanket.trpc, 'd2')];
    await eventually(() => fixture.running('d1') === 1 && fixture.running('d2') === 1, 'both run');
    expect(handler.endSubscriptions(() => true)).toBe(2);
    await eventually(() => kept.errors.length === 1 && fixture.running('d2') === 1 && fixture.starts.length === 3, 'the blanket retry subscribed again');
    expect(await careful.trpc.me.query()).toBe('alice');
    expect(fixture.running('d1')).toBe(0);
    expect(fixture.starts.map((input) => input.docId).sort()).toEqual(['d1', 'd2', 'd2']);
    expect(retried.errors).toEqual([]);
  });
});

describe('endSubscriptions on the wire', () => {
  it('sends the error frame, then stopped, and no event after it, even for events already in flight', async () => {
    const { fixture, handler, rawSignIn } = await serve();
    const client = await rawSignIn('alice');
    client.send([subscribeFrame(1, 'd1'), subscribeFrame(2, 'd2')]);
    await client.next(isStarted(1));
    await client.next(isStarted(2));
    await eventually(() => fixture.running('d1') === 1 && fixture.running('d2') === 1, 'both run');
    // Published, ended and published again in one turn: the first 20 of d1 are in flight, not sent.
    const publishBoth = () => {
      for (let i = 0; i < 20; i++) {
        fixture.publish('d1');
        fixture.publish('d2');
      }
    };
    publishBoth();
    expect(handler.endSubscriptions(isDoc('d1'), { code: 'NOT_FOUND', reason: 'document deleted' })).toBe(1);
    publishBoth();
    await eventually(() => dataIds(client, 2).length === 40, 'd2 got all 40');

    const ofOne = client.received.filter(forId(1));
    expect(ofOne.map(frameType)).toEqual(['error', 'stopped']);
    expect(ofOne[0]).toMatchObject({
      id: 1,
      error: { code: -32004, message: 'document deleted', data: { code: 'NOT_FOUND', httpStatus: 404, path: 'doc', lanyardReason: 'subscription-ended' } },
    });
    expect(fixture.running('d1')).toBe(0);
    expect(client.ws.readyState).toBe(client.ws.OPEN);
  });

  it('ends a subscription still being set up: it never says started and its source never runs', async () => {
    const { fixture, handler, rawSignIn } = await serve();
    const client = await rawSignIn('alice');
    const hold = fixture.hold('d1');
    client.send(subscribeFrame(1, 'd1'));
    await eventually(() => hold.waiting() === 1, 'd1 is being set up');
    expect(handler.endSubscriptions(isDoc('d1'))).toBe(1);
    hold.release();
    client.send({ id: 'q', method: 'query', params: { path: 'me' } });
    await client.next(forId('q'));
    fixture.publish('d1');
    client.send({ id: 'q2', method: 'query', params: { path: 'me' } });
    await client.next(forId('q2'));
    expect(client.received.filter(forId(1)).map(frameType)).toEqual(['error', 'stopped']);
    expect(fixture.starts).toEqual([]);
    expect(fixture.running('d1')).toBe(0);
  });

  it('ends a subscription while a session change re-authorises it; the other is re-authorised and streams on', async () => {
    const { fixture, handler, rawSignIn } = await serve();
    const client = await rawSignIn('alice#1');
    client.send([subscribeFrame(1, 'd1'), subscribeFrame(2, 'd2')]);
    await client.next(isStarted(1));
    await client.next(isStarted(2));
    const hold = fixture.hold('d1');
    client.send(authenticateFrame(10, 'alice#2')); // another token: a new grant, both re-run
    await eventually(() => hold.waiting() === 1, "d1's re-run is being set up");
    expect(handler.endSubscriptions(isDoc('d1'))).toBe(1);
    hold.release();
    await client.next(forId(10));
    await eventually(() => fixture.running('d1') === 0 && fixture.running('d2') === 1, 'd1 released, d2 re-run');
    const [d1, d2] = [fixture.publish('d1').seq, fixture.publish('d2').seq];
    await eventually(() => dataIds(client, 2).includes(d2), 'd2 streams on');
    client.send({ id: 'q', method: 'query', params: { path: 'me' } });
    await client.next(forId('q'));
    expect(client.received.filter(forId(1)).map(frameType)).toEqual(['error', 'stopped']);
    expect(dataIds(client, 1)).not.toContain(d1);
    expect(fixture.running('d1')).toBe(0);
  });

  it('is not a ban: the same subscription sent again afterwards runs', async () => {
    const { fixture, handler, rawSignIn } = await serve();
    const client = await rawSignIn('alice');
    client.send(subscribeFrame(1, 'd1'));
    await client.next(isStarted(1));
    expect(handler.endSubscriptions(isDoc('d1'))).toBe(1);
    await client.next((frame) => forId(1)(frame) && frameType(frame) === 'stopped');
    client.send(subscribeFrame(1, 'd1'));
    await client.next(isStarted(1));
    const seq = fixture.publish('d1').seq;
    await eventually(() => dataIds(client, 1).includes(seq), 'the new subscription streams');
  });

  it("the filter sees the session, the path and the input as sent; the counts add up over sockets", async () => {
    const { handler, rawSignIn } = await serve();
    const alice = await rawSignIn('alice');
    const bob = await rawSignIn('bob');
    alice.send([subscribeFrame(1, 'd1'), subscribeFrame(2, 'd2')]);
    bob.send(subscribeFrame(1, 'd1'));
    await Promise.all([alice.next(isStarted(1)), alice.next(isStarted(2)), bob.next(isStarted(1))]);
    const seen: unknown[] = [];
    const mine = handler.endSubscriptions((info) => {
      seen.push(info);
      return info.session?.user === 'alice' && isDoc('d1')(info);
    });
    expect(mine).toBe(1);
    expect(seen).toHaveLength(3);
    expect(seen).toContainEqual({ session: { user: 'bob', token: 'bob' }, path: 'doc', input: { docId: 'd1' } });
    expect(handler.endSubscriptions(({ path }) => path === 'doc')).toBe(2);
    expect(handler.endSubscriptions(() => true)).toBe(0);
  });

  it('a filter that throws leaves those subscriptions running, still looks at the others, and is reported once', async () => {
    const { fixture, handler, errors, rawSignIn } = await serve();
    const client = await rawSignIn('alice');
    client.send([subscribeFrame(1, 'd1'), subscribeFrame(2, 'd2'), subscribeFrame(3, 'd2'), subscribeFrame(4, 'd3')]);
    await Promise.all([1, 2, 3, 4].map((id) => client.next(isStarted(id))));
    const boom = new Error('boom');
    const ended = handler.endSubscriptions(({ input }) => {
      if ((input as DocInput).docId === 'd2') throw boom;
      return (input as DocInput).docId === 'd3';
    });
    expect(ended).toBe(1);
    expect(errors).toHaveLength(1);
    expect(errors[0]?.code).toBe('INTERNAL_SERVER_ERROR');
    expect(errors[0]?.message).toMatch(/filter threw for 2 subscription/);
    expect(errors[0]?.cause).toBe(boom);
    await client.next((frame) => forId(4)(frame) && frameType(frame) === 'stopped');
    const [d1, d2] = [fixture.publish('d1').seq, fixture.publish('d2').seq];
    await eventually(() => dataIds(client, 1).includes(d1) && dataIds(client, 2).includes(d2) && dataIds(client, 3).includes(d2), 'the others stream on');
    expect(client.ws.readyState).toBe(client.ws.OPEN);
  });

  it('looks at each of a thousand subscriptions once', async () => {
    const { fixture, handler, rawSignIn } = await serve();
    const client = await rawSignIn('alice');
    const ids = Array.from({ length: 1_000 }, (_, i) => i + 1);
    client.send(ids.map((id) => subscribeFrame(id, `d${id % 10}`)));
    await eventually(() => client.received.filter((frame) => frameType(frame) === 'started').length === 1_000, '1,000 started', 10_000);
    let calls = 0;
    const ended = handler.endSubscriptions((info) => (calls++, isDoc('d3')(info)));
    expect(calls).toBe(1_000);
    expect(ended).toBe(100);
    await eventually(() => fixture.running('d3') === 0, "d3's sources released");
    expect(fixture.running('d4')).toBe(100);
  });

  it('refuses bad options and targets; without a broker the { path, input } form acts on this node', async () => {
    const { handler, rawSignIn } = await serve();
    const client = await rawSignIn('alice');
    client.send([subscribeFrame(1, 'd1'), subscribeFrame(2, 'd2')]);
    await Promise.all([client.next(isStarted(1)), client.next(isStarted(2))]);
    expect(() => handler.endSubscriptions(() => true, { code: 'NOPE' as never })).toThrow(TypeError);
    expect(() => handler.endSubscriptions({ key: 'user:alice' })).toThrow(/sessionKeys/);
    await expect(handler.endSubscriptions({} as never)).rejects.toThrow(/needs a key or a path/);
    await expect(handler.endSubscriptions({ path: 'doc', input: { at: new Date() } })).rejects.toThrow(/input\.at must be a JSON value/);
    expect(client.received.filter((frame) => forId(1)(frame) || forId(2)(frame))).toEqual([]); // nothing since `started`

    const result = await handler.endSubscriptions({ path: 'doc', input: { docId: 'd2' } }, { code: 'UNAUTHORIZED', reason: 'sign in again' });
    expect(result).toEqual({ affected: 1, waitedFor: ['local'], answered: ['local'] });
    expect(await client.next(forId(2))).toMatchObject({ error: { message: 'sign in again', data: { code: 'UNAUTHORIZED', lanyardReason: 'subscription-ended' } } });
  });
});

describe('endSubscriptions and the error formatter', () => {
  it("adds lanyardReason after an errorFormatter that drops data; without authenticate the filter's session is null", async () => {
    const t = initTRPC.create({ errorFormatter: ({ shape }) => ({ code: shape.code, message: `formatted: ${shape.message}` }) });
    const router = t.router({
      tick: t.procedure.input((v: unknown) => v as { n: number }).subscription(() => observable<number>(() => () => {})),
    });
    const server = await startServer<typeof router>('lanyard', { router });
    cleanups.push(() => server.close());
    const client = await openRaw(server.url);
    cleanups.push(() => client.close());
    client.send({ id: 1, method: 'subscription', params: { path: 'tick', input: { n: 1 } } });
    await client.next(isStarted(1));
    const sessions: unknown[] = [];
    expect(server.handler!.endSubscriptions(({ session }) => (sessions.push(session), true), { code: 'CONFLICT', reason: 'moved' })).toBe(1);
    expect(sessions).toEqual([null]);
    expect(await client.next(forId(1))).toEqual({ id: 1, error: { code: -32009, message: 'formatted: moved', data: { lanyardReason: 'subscription-ended' } } });
    expect(frameType(await client.next(forId(1)))).toBe('stopped');
  });
});
