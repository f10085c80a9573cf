/**
 * What `requireGrant` does where no handler of ours times the grant (stock `applyWSSHandler`,
 * HTTP): the stream ends with `grant-expired` at the refresh point, passing on nothing after it,
 * and its source is released, for async iterables and observables alike.
 */
import { observable } from '@trpc/server/observable';
import type { Observable } from '@trpc/server/observable';
import { describe, expect, it } from 'vitest';
import { grantErrorReason, GrantReason } from '../../src/protocol/index.js';
import { expireStream } from '../../src/server/grants/expireStream.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('a grant stream without our handler', () => {
  it('ends an async iterable with grant-expired at its end time and returns the source', async () => {
    let returned = false;
    async function* source() {
      try {
        for (let i = 0; ; i++) {
          yield i;
          await sleep(20);
        }
      } finally {
        returned = true;
      }
    }
    const endAt = Date.now() + 150;
    const got: number[] = [];
    let error: unknown;
    try {
      for await (const value of expireStream(source(), endAt, 'doc') as AsyncIterable<number>) got.push(value);
    } catch (cause) {
      error = cause;
    }
    expect(Date.now()).toBeGreaterThanOrEqual(endAt - 5);
    expect(grantErrorReason(error)).toBe(GrantReason.Expired);
    expect(got.length).toBeGreaterThan(2);
    await sleep(50);
    expect(returned).toBe(true);
  });

  it('ends an observable with grant-expired at its end time, unsubscribing the source, nothing after', async () => {
    let unsubscribed = false;
    const source = observable<number, unknown>((observer) => {
      let i = 0;
      const timer = setInterval(() => observer.next(i++), 20);
      return () => {
        clearInterval(timer);
        unsubscribed = true;
      };
    });
    const endAt = Date.now() + 150;
    const got: Array<{ value: number; at: number }> = [];
    const error = await new Promise<unknown>((resolve) => {
      (expireStream(source, endAt, 'doc') as Observable<number, unknown>).subscribe({
        next: (value) => got.push({ value, at: Date.now() }),
        error: resolve,
      });
    });
    expect(grantErrorReason(error)).toBe(GrantReason.Expired);
    expect(got.length).toBeGreaterThan(2);
    expect(got.every((event) => event.at < endAt)).toBe(true);
    expect(unsubscribed).toBe(true);
  });

  it('passes on anything that is not a stream unchanged', () => {
    const value = { not: 'a stream' };
    expect(expireStream(value, Date.now(), 'doc')).toBe(value);
  });
});
