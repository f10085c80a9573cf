/**
 * `createHttpAuth` under hostile or broken input: an `authenticate` that hangs is answered with
 * `TIMEOUT` (408) within `authTimeoutMs` and the server goes on; one that throws something else is
 * a 500 (as tRPC answers a throwing `createContext`) and the next request is served; a cookie-carrying request from another origin is refused (403)
 * before `authenticate` runs; a query-parameter token reaches `authenticate` only when turned on,
 * and redacted from the URL it sees; `authenticate` returning a non-session is a 401.
 */
import { createTRPCClient, httpLink } from '@trpc/client';
import type { TRPCClientError } from '@trpc/client';
import { afterEach, describe, expect, it } from 'vitest';
import type { AuthenticateOptions } from '../../src/server/index.js';
import type { SseRouter, SseSession } from '../fixtures/sseServer.js';
import { authenticate, issueToken, startSseServer } from '../fixtures/sseServer.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function serve(extra: Parameters<typeof startSseServer>[0]) {
  const server = await startSseServer(extra);
  cleanups.push(() => server.close());
  return server;
}

const me = (url: string, headers: Record<string, string> = {}) =>
  createTRPCClient<SseRouter>({ links: [httpLink({ url, headers })] })
    .me.query()
    .then(
      (user) => ({ user, status: 200 }),
      (error: TRPCClientError<SseRouter>) => ({ error, status: error.data?.httpStatus }),
    );

describe('createHttpAuth under hostile or broken input', () => {
  it('answers a hanging authenticate with TIMEOUT (408) within authTimeoutMs, and keeps serving', async () => {
    let hang = true;
    let aborted = 0;
    const server = await serve({
      authTimeoutMs: 200,
      authenticate: async (opts: AuthenticateOptions<SseSession, unknown>) => {
        if (hang) {
          await new Promise((_resolve, reject) => opts.signal.addEventListener('abort', () => (aborted++, reject(new Error('aborted')))));
        }
        return authenticate(opts);
      },
    });
    const started = Date.now();
    const slow = await me(server.url, { authorization: `Bearer ${issueToken('alice', 60_000)}` });
    expect(slow.status).toBe(408);
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(aborted).toBe(1);
    hang = false;
    expect(await me(server.url, { authorization: `Bearer ${issueToken('alice', 60_000)}` })).toEqual({ user: 'alice', status: 200 });
  });

  it('answers an authenticate that throws something else with 500, and a non-session with 401', async () => {
    let result: unknown = null;
    const server = await serve({
      authenticate: () => {
        if (result === 'throw') throw new Error('the user store is down');
        return result as SseSession;
      },
    });
    const notSession = await me(server.url);
    expect(notSession.status).toBe(401);
    result = 'throw';
    const broken = await me(server.url);
    expect(broken.status).toBe(500);
    result = { user: 'alice', issuedAt: Date.now(), expiresAt: Date.now() + 60_000 };
    expect(await me(server.url)).toEqual({ user: 'alice', status: 200 });
  });

  it('refuses a cookie-carrying request from an origin not allowed, before authenticate runs', async () => {
    let calls = 0;
    const server = await serve({
      credentials: { cookies: true },
      allowedOrigins: ['https://app.example'],
      authenticate: (opts: AuthenticateOptions<SseSession, unknown>) => {
        calls++;
        const token = opts.cookies['session'];
        if (!token) throw new Error('no cookie');
        return authenticate({ ...opts, headers: { authorization: `Bearer ${token}` } });
      },
    });
    const cookie = `session=${issueToken('alice', 60_000)}`;
    expect((await me(server.url, { cookie, origin: 'https://evil.example' })).status).toBe(403);
    expect(calls).toBe(0);
    expect(await me(server.url, { cookie, origin: 'https://app.example' })).toEqual({ user: 'alice', status: 200 });
    expect(await me(server.url, { cookie })).toEqual({ user: 'alice', status: 200 }); // no Origin: not a browser
  });

  it('reads a query-parameter token only when turned on, and hands authenticate the URL with it redacted', async () => {
    const seen: Array<{ queryToken: string | null; url: string | undefined }> = [];
    const withQuery = (queryParam: string | false) =>
      serve({
        credentials: { queryParam },
        authenticate: (opts: AuthenticateOptions<SseSession, unknown>) => {
          seen.push({ queryToken: opts.queryToken, url: opts.url?.search });
          if (!opts.queryToken) throw new Error('no token');
          return authenticate({ ...opts, headers: { authorization: `Bearer ${opts.queryToken}` } });
        },
      });
    const token = issueToken('alice', 60_000);
    const on = await withQuery('access_token');
    expect(await me(`${on.url}?access_token=${token}`)).toEqual({ user: 'alice', status: 200 });
    expect(seen.at(-1)?.queryToken).toBe(token);
    expect(seen.at(-1)?.url).not.toContain(token);
    const off = await withQuery(false);
    expect((await me(`${off.url}?access_token=${token}`)).status).toBe(500);
    expect(seen.at(-1)?.queryToken).toBeNull();
  });
});
