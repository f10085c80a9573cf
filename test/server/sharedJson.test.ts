/**
 * Serialise once: an event that is not frozen is serialised once for all the subscriptions that
 * deliver it in one job, and no subscriber ever gets JSON the value no longer matches.
 */
import { EventEmitter, on } from 'node:events';
import { initTRPC } from '@trpc/server';
import { observable } from '@trpc/server/observable';
import { describe, expect, it } from 'vitest';
import type { RawClient } from '../fixtures/rawClient.js';
import { forId } from '../fixtures/rawClient.js';
import { useRawServer } from '../fixtures/rawHarness.js';

const raw = useRawServer();

function sharedRouter() {
  const t = initTRPC.create();
  const ee = new EventEmitter();
  ee.setMaxListeners(0);
  /** Each `direct` subscription's `next`, by name: the test delivers to one subscription at a time, synchronously. */
  const direct = new Map<string, (value: unknown) => void>();
  const router = t.router({
    live: t.procedure.subscription(async function* ({ signal }) {
      for await (const [value] of on(ee, 'v', { signal }) as AsyncIterable<[unknown]>) yield value;
    }),
    direct: t.procedure.input((v: unknown) => v as string).subscription(({ input }) =>
      observable<unknown>((emit) => {
        direct.set(input, (value) => emit.next(value));
        return () => direct.delete(input);
      }),
    ),
  });
  const deliver = (name: string, value: unknown) => {
    const next = direct.get(name);
    if (!next) throw new Error(`no subscription ${name}`);
    next(value);
  };
  return { router, ee, deliver };
}

async function subscribed(path: string, input?: string): Promise<RawClient> {
  const client = await raw.connect();
  client.send({ id: 1, method: 'subscription', params: { path, input } });
  expect(await client.next(forId(1))).toEqual({ id: 1, result: { type: 'started' } });
  return client;
}

const data = async (client: RawClient) => ((await client.next(forId(1))) as { result: { data: unknown } }).result.data;

describe('an event that is not frozen is serialised once for all its subscribers', () => {
  it('serialises it once when three subscriptions deliver it in the same job', async () => {
    const { router, ee } = sharedRouter();
    await raw.start({ router });
    const clients = [await subscribed('live'), await subscribed('live'), await subscribed('live')];
    let serialised = 0;
    const event = { n: 1, toJSON: () => (serialised++, { n: event.n }) };
    ee.emit('v', event);
    for (const client of clients) expect(await data(client)).toEqual({ n: 1 });
    expect(serialised).toBe(1);
  });

  it('serialises it again when it is delivered in a later job, changed or not: nothing is kept past the job', async () => {
    const { router, ee } = sharedRouter();
    await raw.start({ router });
    const clients = [await subscribed('live'), await subscribed('live')];
    let serialised = 0;
    const event = { n: 1, toJSON: () => (serialised++, { n: event.n }) };
    ee.emit('v', event);
    for (const client of clients) expect(await data(client)).toEqual({ n: 1 });
    ee.emit('v', event);
    for (const client of clients) expect(await data(client)).toEqual({ n: 1 });
    event.n = 2;
    ee.emit('v', event);
    for (const client of clients) expect(await data(client)).toEqual({ n: 2 });
    expect(serialised).toBe(3);
  });
});

describe('no subscriber gets JSON the value no longer matches', () => {
  const changes: Array<[string, (event: { n: number; inner: { m: number; list: number[] } }) => void, unknown]> = [
    ['a top-level property', (event) => (event.n = 2), { n: 2, inner: { m: 1, list: [1] } }],
    ['a nested property', (event) => (event.inner.m = 2), { n: 1, inner: { m: 2, list: [1] } }],
    ['a nested array', (event) => event.inner.list.push(2), { n: 1, inner: { m: 1, list: [1, 2] } }],
  ];

  it.each(changes)('a change to %s between two subscriptions\' deliveries in one job reaches the later one', async (_, change, changed) => {
    const { router, deliver } = sharedRouter();
    await raw.start({ router });
    const a = await subscribed('direct', 'a');
    const b = await subscribed('direct', 'b');
    const event = { n: 1, inner: { m: 1, list: [1] } };
    deliver('a', event);
    change(event);
    deliver('b', event);
    expect(await data(a)).toEqual({ n: 1, inner: { m: 1, list: [1] } });
    expect(await data(b)).toEqual(changed);
  });

  it('a subscription that yields the same object twice in one job sends it as it is each time, even a change the comparison cannot see', async () => {
    const { router, deliver } = sharedRouter();
    await raw.start({ router });
    const a = await subscribed('direct', 'a');
    const event = { at: new Date(0) };
    deliver('a', event);
    event.at.setTime(1_000); // a Date's time is not an enumerable property: only the second yield reveals it
    deliver('a', event);
    expect(await data(a)).toEqual({ at: new Date(0).toJSON() });
    expect(await data(a)).toEqual({ at: new Date(1_000).toJSON() });
  });

  it('a generator that changes its state between two yields sends both states', async () => {
    const t = initTRPC.create();
    const router = t.router({
      progress: t.procedure.subscription(async function* () {
        const state = { done: 0, steps: [] as string[] };
        for (const step of ['a', 'b', 'c']) {
          state.done++;
          state.steps.push(step);
          yield state;
        }
      }),
    });
    await raw.start({ router });
    const client = await subscribed('progress');
    expect(await data(client)).toEqual({ done: 1, steps: ['a'] });
    expect(await data(client)).toEqual({ done: 2, steps: ['a', 'b'] });
    expect(await data(client)).toEqual({ done: 3, steps: ['a', 'b', 'c'] });
  });
});
