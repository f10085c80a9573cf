/**
 * What a call's subscriber sees, on our client and on stock tRPC's side by side (each call is one
 * object of ours, not tRPC's `observable()`, so it must behave as one): aborting the op's signal
 * before or during the call, unsubscribing, observers that throw, and a subscriber without
 * callbacks.
 */
import type { OperationResultEnvelope, TRPCClientError } from '@trpc/client';
import type { AnyTRPCRouter } from '@trpc/server';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterEach, describe, expect, it } from 'vitest';
import type { Observable } from '@trpc/server/observable';
import { map } from '@trpc/server/observable';
import { createWSClient } from '../../src/client/index.js';
import type { WsRequestOptions } from '../../src/client/index.js';
import type { ClientKind, TestClient } from '../fixtures/clients.js';
import { makeClient, NodeWebSocket } from '../fixtures/clients.js';
import { createTestRouter } from '../fixtures/router.js';
import type { RunningServer } from '../fixtures/servers.js';
import { startServer } from '../fixtures/servers.js';

type Envelope = OperationResultEnvelope<unknown, TRPCClientError<AnyTRPCRouter>>;

const identity = { serialize: (value: unknown) => value, deserialize: (value: unknown) => value };
const transformer = { input: identity, output: identity };

const clientKinds: ClientKind[] = ['lanyard', 'stock'];

let server: RunningServer | undefined;
const clients: TestClient[] = [];

afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.close().catch(() => undefined)));
  await server?.close();
  server = undefined;
});

describe.each(clientKinds)('%s client', (kind) => {
  async function setup() {
    const fixture = createTestRouter();
    server = await startServer('lanyard', { router: fixture.router });
    const client = makeClient(kind, { url: server.url });
    clients.push(client);
    expect(await client.trpc.echo.query('open')).toBe('open');
    return { fixture, client, trpc: client.trpc };
  }

  /** The observable of one call, from the client's own `request()` (what `wsLink` subscribes to). */
  function request(client: TestClient, path: string, input: unknown, signal?: AbortSignal) {
    const type = path === 'feed' ? 'subscription' : path === 'slow' ? 'mutation' : 'query';
    const wsClient = client.wsClient as unknown as { request(opts: WsRequestOptions): Observable<Envelope, TRPCClientError<AnyTRPCRouter>> };
    return wsClient.request({ op: { id: 0, type, path, input, signal }, transformer });
  }

  /** Everything an observer hears, in order. */
  function record() {
    const heard: string[] = [];
    const observer = {
      next: (envelope: Envelope) => heard.push(`next:${JSON.stringify(envelope.result)}`),
      error: (error: TRPCClientError<AnyTRPCRouter>) => heard.push(`error:${error.message}`),
      complete: () => heard.push('complete'),
    };
    return { heard, observer };
  }

  it('rejects a call whose signal aborts while it runs, and ignores its late answer', async () => {
    const { trpc, fixture } = await setup();
    const controller = new AbortController();
    const call = trpc.slow.mutate({ key: 'abort-me' }, { signal: controller.signal });
    await expect.poll(() => fixture.isWaiting('abort-me')).toBe(true);
    controller.abort();
    await expect(call).rejects.toMatchObject({ name: 'TRPCClientError', message: 'This operation was aborted' });
    fixture.release('abort-me');
    expect(await trpc.echo.query('after')).toBe('after');
  });

  it('never sends a call whose signal aborted before it was made', async () => {
    const { trpc, fixture } = await setup();
    const controller = new AbortController();
    controller.abort();
    await expect(trpc.slow.mutate({ key: 'never' }, { signal: controller.signal })).rejects.toMatchObject({
      message: 'This operation was aborted',
    });
    expect(await trpc.echo.query('after')).toBe('after'); // answered after anything sent before it
    expect(fixture.isWaiting('never')).toBe(false);
  });

  it('completes a call that is unsubscribed while it runs, at once and only once; its late answer is ignored', async () => {
    const { client, fixture } = await setup();
    const { heard, observer } = record();
    const subscription = request(client, 'slow', { key: 'dropped' }).subscribe(observer);
    await expect.poll(() => fixture.isWaiting('dropped')).toBe(true);
    subscription.unsubscribe();
    subscription.unsubscribe();
    expect(heard).toEqual(['complete']);
    fixture.release('dropped');
    expect(await client.trpc.echo.query('after')).toBe('after');
    expect(heard).toEqual(['complete']);
  });

  it('tells an observer its answer and then completion; unsubscribing afterwards changes nothing', async () => {
    const { client } = await setup();
    const { heard, observer } = record();
    const subscription = request(client, 'echo', 'hi').subscribe(observer);
    await expect.poll(() => heard.length).toBe(2);
    subscription.unsubscribe();
    expect(heard).toEqual(['next:{"type":"data","data":"hi"}', 'complete']);
  });

  it('tells an observer a procedure error once, without completion', async () => {
    const { client } = await setup();
    const { heard, observer } = record();
    request(client, 'fail', undefined).subscribe(observer);
    await expect.poll(() => heard.length).toBe(1);
    expect(await client.trpc.echo.query('after')).toBe('after');
    expect(heard).toEqual(['error:not for you']);
  });

  it('completes an observer whose signal aborts, and stops the subscription on the server', async () => {
    const { client, fixture } = await setup();
    const { heard, observer } = record();
    const controller = new AbortController();
    request(client, 'feed', {}, controller.signal).subscribe(observer);
    await expect.poll(() => fixture.subscriberCount()).toBe(1);
    controller.abort();
    expect(heard.at(-1)).toBe('complete');
    await expect.poll(() => fixture.subscriberCount()).toBe(0);
  });

  it('pipes through operators as any tRPC observable', async () => {
    const { client } = await setup();
    const { heard, observer } = record();
    request(client, 'echo', 'piped')
      .pipe(map((envelope) => ({ result: { type: 'data' as const, data: `${String((envelope.result as { data: unknown }).data)}!` } })))
      .subscribe(observer);
    await expect.poll(() => heard).toEqual(['next:{"type":"data","data":"piped!"}', 'complete']);
  });

  it('takes a subscriber without callbacks', async () => {
    const { client } = await setup();
    const subscription = request(client, 'echo', 'quiet').subscribe({});
    expect(await client.trpc.echo.query('after')).toBe('after');
    subscription.unsubscribe();
  });
});

it('keeps nothing of its subscriber once the call ended, even while the call itself is still referenced', async () => {
  setFlagsFromString('--expose-gc');
  const collectGarbage = runInNewContext('gc') as () => void;
  const fixture = createTestRouter();
  server = await startServer('lanyard', { router: fixture.router });
  const wsClient = createWSClient({ url: server.url, WebSocket: NodeWebSocket });
  clients.push({ close: () => wsClient.close() } as TestClient);
  let subscriber: { next(): void; complete(): void } | undefined = { next: () => undefined, complete: () => undefined };
  const heard = new WeakRef(subscriber);
  const completed = new Promise<void>((resolve) => (subscriber!.complete = resolve));
  const call = wsClient.request({ op: { id: 1, type: 'query', path: 'echo', input: 'x', signal: undefined }, transformer }).subscribe(subscriber);
  subscriber = undefined;
  await completed;
  await new Promise((resolve) => setImmediate(resolve));
  collectGarbage();
  expect(heard.deref()).toBeUndefined();
  call.unsubscribe(); // still reachable until here
});
