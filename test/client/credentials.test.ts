import { describe, expect, it } from 'vitest';
import { Credentials } from '../../src/client/auth/credentials.js';
import { createTokenSource } from '../../src/client/index.js';

function gate<T>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe('Credentials (connectionParams, single-flight)', () => {
  it('returns a value as is, and null without connectionParams', () => {
    expect(new Credentials({ token: 'a' }).get('connect')).toEqual({ token: 'a' });
    expect(new Credentials(undefined).get('connect')).toBeNull();
  });

  it('calls a sync function every time, synchronously, with the reason', () => {
    const reasons: string[] = [];
    const credentials = new Credentials(({ reason }) => {
      reasons.push(reason);
      return { n: String(reasons.length) };
    });
    expect(credentials.get('connect')).toEqual({ n: '1' });
    expect(credentials.get('refresh')).toEqual({ n: '2' });
    expect(reasons).toEqual(['connect', 'refresh']);
  });

  it('shares one call among concurrent requests and keeps nothing once it settled', async () => {
    let calls = 0;
    let pending = gate<{ token: string }>();
    const credentials = new Credentials(() => {
      calls++;
      return pending.promise;
    });
    const a = credentials.get('connect');
    const b = credentials.get('reauthenticate');
    expect(a).toBe(b);
    pending.resolve({ token: 't1' });
    expect(await a).toEqual({ token: 't1' });
    pending = gate();
    const c = credentials.get('connect');
    expect(c).not.toBe(a);
    pending.resolve({ token: 't2' });
    expect(await c).toEqual({ token: 't2' });
    expect(calls).toBe(2);
  });

  it('does not let a request for new credentials join a call made for another reason', async () => {
    const reasons: string[] = [];
    const credentials = new Credentials(async ({ reason }) => {
      reasons.push(reason);
      return { reason };
    });
    const connect = credentials.get('connect');
    const refused = credentials.get('refused');
    const joined = credentials.get('connect');
    expect(await connect).toEqual({ reason: 'connect' });
    expect(await refused).toEqual({ reason: 'refused' });
    expect(await joined).toEqual({ reason: 'refused' }); // joins the newest flight
    expect(reasons).toEqual(['connect', 'refused']);
  });

  it('forgets a rejected call: the next request calls again', async () => {
    let calls = 0;
    const credentials = new Credentials(async () => {
      if (++calls === 1) throw new Error('down');
      return { token: 'ok' };
    });
    await expect(credentials.get('connect')).rejects.toThrow('down');
    expect(await credentials.get('connect')).toEqual({ token: 'ok' });
  });
});

describe('createTokenSource', () => {
  it('fetches once for concurrent get() calls and serves the kept token after', async () => {
    let fetches = 0;
    const pending = gate<string>();
    const tokens = createTokenSource({
      fetchToken: () => {
        fetches++;
        return pending.promise;
      },
    });
    const all = Promise.all([tokens.get(), tokens.get(), tokens.get()]);
    pending.resolve('A');
    expect(await all).toEqual(['A', 'A', 'A']);
    expect(await tokens.get()).toBe('A');
    expect(fetches).toBe(1);
  });

  it('refresh() fetches a new token once for concurrent callers, keeps it and tells subscribers', async () => {
    let n = 0;
    const tokens = createTokenSource({ fetchToken: async () => `T${++n}` });
    expect(await tokens.get()).toBe('T1');
    const heard: string[] = [];
    const unsubscribe = tokens.subscribe((token) => void heard.push(token));
    expect(await Promise.all([tokens.refresh(), tokens.refresh(), tokens.get()])).toEqual(['T2', 'T2', 'T2']);
    expect(await tokens.get()).toBe('T2');
    expect(heard).toEqual(['T2']);
    unsubscribe();
    await tokens.refresh();
    expect(heard).toEqual(['T2']);
  });

  it('get() with a connectionParams request that says the token is stale refreshes it', async () => {
    let n = 0;
    const tokens = createTokenSource({ fetchToken: async () => `T${++n}` });
    expect(await tokens.get({ reason: 'connect' })).toBe('T1');
    expect(await tokens.get({ reason: 'reauthenticate' })).toBe('T1');
    expect(await tokens.get({ reason: 'refused' })).toBe('T2');
    expect(await tokens.get({ reason: 'refresh' })).toBe('T3');
  });

  it('never hands out a token it knows has expired: a JWT past its `exp` is fetched anew, a valid one is kept', async () => {
    const jwt = (expSeconds: number) => `header.${btoa(JSON.stringify({ exp: expSeconds })).replace(/=+$/, '')}.signature`;
    const nowSeconds = Math.floor(Date.now() / 1000);
    const issued = [jwt(nowSeconds - 10), jwt(nowSeconds + 3600)];
    let n = 0;
    const tokens = createTokenSource({ fetchToken: async () => issued[n++]! });
    expect(await tokens.get({ reason: 'connect' })).toBe(issued[0]);
    expect(await tokens.get({ reason: 'connect' })).toBe(issued[1]); // the first one had expired
    expect(await tokens.get({ reason: 'connect' })).toBe(issued[1]);
    expect(n).toBe(2);
  });

  it('reads a JWT’s lifetime from exp − iat, so a client clock far off the issuer’s does not matter', async () => {
    const jwt = (claims: object) => `header.${btoa(JSON.stringify(claims)).replace(/=+$/, '')}.signature`;
    const issuerNowSeconds = Math.floor(Date.now() / 1000) - 7_200; // the issuer's clock is 2 h behind ours
    let n = 0;
    const tokens = createTokenSource({ fetchToken: async () => jwt({ iat: issuerNowSeconds, exp: issuerNowSeconds + 600, n: ++n }) });
    const first = await tokens.get();
    expect(await tokens.get()).toBe(first); // 10 minutes left, whatever the clocks say
    expect(n).toBe(1);
  });

  it('reads expiry with expiresAtMs, counting a token within expiryMarginMs of it as expired', async () => {
    let n = 0;
    const tokens = createTokenSource({
      fetchToken: async () => `T${++n}@${Date.now() + (n === 1 ? 500 : 60_000)}`,
      expiresAtMs: (token) => Number(token.split('@')[1]),
      expiryMarginMs: 1_000,
    });
    expect(await tokens.get()).toMatch(/^T1@/);
    expect(await tokens.get()).toMatch(/^T2@/); // T1 expires within the margin
    expect(await tokens.get()).toMatch(/^T2@/);
  });

  it('keeps no failed fetch, and ignores a subscriber’s rejected promise', async () => {
    let n = 0;
    const tokens = createTokenSource({
      fetchToken: async () => {
        if (++n === 1) throw new Error('auth server down');
        return `T${n}`;
      },
    });
    await expect(tokens.get()).rejects.toThrow('auth server down');
    tokens.subscribe(() => Promise.reject(new Error('reauthentication refused')));
    expect(await tokens.refresh()).toBe('T2');
    await new Promise((resolve) => setTimeout(resolve, 10)); // an unhandled rejection would fail the run
  });
});
