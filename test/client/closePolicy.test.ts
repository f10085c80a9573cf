import { afterEach, describe, expect, it } from 'vitest';
import { TRPCClientError } from '@trpc/client';
import { WebSocketServer } from 'ws';
import { CloseCode } from '../../src/protocol/index.js';
import { decideAfterClose, TRPCWebSocketClosedError } from '../../src/client/index.js';
import { STABLE_SOCKET_MS, wasAccepted } from '../../src/client/socket/closePolicy.js';
import { connect, disposeAll, sleep, waitFor } from './harness.js';

afterEach(disposeAll);

describe('decideAfterClose', () => {
  it.each([
    [CloseCode.Forbidden, 'stop'],
    [CloseCode.Revoked, 'stop'],
    [CloseCode.Unauthorized, 'refresh-then-retry'],
    [CloseCode.SessionExpired, 'refresh-then-retry'],
    [CloseCode.Normal, 'retry'],
    [CloseCode.GoingAway, 'retry'],
    [CloseCode.MessageTooBig, 'retry'],
    [CloseCode.BadRequest, 'retry'],
    [CloseCode.AuthTimeout, 'retry'],
    [CloseCode.PayloadTooLarge, 'retry'],
    [CloseCode.RateLimited, 'retry'],
    [CloseCode.InternalError, 'retry'],
    [CloseCode.SlowConsumer, 'retry'],
    [1005, 'retry'],
    [1006, 'retry'],
    [4999, 'retry'],
    [undefined, 'retry'],
  ] as const)('close code %s → %s', (code, decision) => {
    expect(decideAfterClose(code)).toBe(decision);
  });
});

describe('wasAccepted (restart the backoff at attempt 0?)', () => {
  const now = 1_000_000;
  it('yes, once the server answered a call on the socket', () => {
    expect(wasAccepted({ answered: true, rejection: undefined, readyAtMs: now }, 'refresh-then-retry', now)).toBe(true);
  });
  it('yes, for a socket ready for STABLE_SOCKET_MS that closed with a retry code', () => {
    expect(wasAccepted({ answered: false, rejection: undefined, readyAtMs: now - STABLE_SOCKET_MS }, 'retry', now)).toBe(true);
  });
  it('no, for a socket dropped right after the handshake', () => {
    expect(wasAccepted({ answered: false, rejection: undefined, readyAtMs: now - 5 }, 'retry', now)).toBe(false);
  });
  it('no, for a socket that never opened, was rejected, or was refused credentials', () => {
    expect(wasAccepted({ answered: false, rejection: undefined, readyAtMs: undefined }, 'retry', now)).toBe(false);
    expect(wasAccepted({ answered: false, rejection: {}, readyAtMs: 0 }, 'retry', now)).toBe(false);
    expect(wasAccepted({ answered: false, rejection: undefined, readyAtMs: 0 }, 'refresh-then-retry', now)).toBe(false);
  });
});

/** A server that accepts, reads the connectionParams frame, then closes with `code`. */
async function closingServer(code: number) {
  const wss = new WebSocketServer({ port: 0 });
  await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
  const tokens: string[] = [];
  wss.on('connection', (ws) => {
    ws.once('message', (data) => {
      tokens.push((JSON.parse(String(data)) as { data: { token: string } }).data.token);
      ws.close(code, 'test');
    });
  });
  const { port } = wss.address() as { port: number };
  return {
    url: `ws://127.0.0.1:${port}`,
    tokens,
    close: () => new Promise<void>((resolve) => wss.close(() => resolve())),
  };
}

describe('the client after a close code', () => {
  it('stops on 4403 Forbidden: fails the call with the code, keeps the error, does not reconnect', async () => {
    const server = await closingServer(CloseCode.Forbidden);
    try {
      let n = 0;
      const { wsClient, trpc } = connect(server.url, {
        connectionParams: () => ({ token: `t${++n}` }),
        retryDelayMs: () => 5,
      });
      const error = await trpc.echo.query('hi').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(TRPCClientError);
      const cause = (error as TRPCClientError<never>).cause;
      expect(cause).toBeInstanceOf(TRPCWebSocketClosedError);
      expect((cause as TRPCWebSocketClosedError).code).toBe(4403);
      await sleep(100);
      expect(server.tokens).toEqual(['t1']); // no second socket
      const state = wsClient.connectionState.get();
      expect(state.state).toBe('connecting');
      expect(state.error?.message).toBe('WebSocket closed');
      expect(state.error?.cause).toMatchObject({ code: 4403 });
    } finally {
      await server.close();
    }
  });

  it('stops on 4410 Revoked and ends a live subscription with the error', async () => {
    const server = await closingServer(CloseCode.Revoked);
    try {
      const { trpc } = connect(server.url, { connectionParams: { token: 'x' }, retryDelayMs: () => 5 });
      const errors: unknown[] = [];
      trpc.feed.subscribe({}, { onError: (e) => errors.push(e) });
      await waitFor(() => errors.length === 1);
      expect(((errors[0] as TRPCClientError<never>).cause as TRPCWebSocketClosedError).code).toBe(4410);
      await sleep(60);
      expect(server.tokens).toHaveLength(1);
    } finally {
      await server.close();
    }
  });

  it('reconnects after 4401 Unauthorized with connectionParams evaluated afresh', async () => {
    const server = await closingServer(CloseCode.Unauthorized);
    try {
      let n = 0;
      const { trpc } = connect(server.url, { connectionParams: async () => ({ token: `t${++n}` }), retryDelayMs: () => 5 });
      trpc.feed.subscribe({}, {});
      await waitFor(() => server.tokens.length >= 3);
      expect(server.tokens.slice(0, 3)).toEqual(['t1', 't2', 't3']);
    } finally {
      await server.close();
    }
  });
});

/** A server that closes every socket with `code` (1006: drops it) right after its connectionParams frame. */
async function closingWith(code: number, reason: string) {
  const wss = new WebSocketServer({ port: 0 });
  await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
  let sockets = 0;
  wss.on('connection', (ws) => {
    sockets++;
    ws.once('message', () => (code === 1006 ? ws.terminate() : ws.close(code, reason)));
  });
  const { port } = wss.address() as { port: number };
  return {
    url: `ws://127.0.0.1:${port}`,
    sockets: () => sockets,
    close: () =>
      new Promise<void>((resolve) => {
        for (const client of wss.clients) client.terminate();
        wss.close(() => resolve());
      }),
  };
}

describe('the client’s reaction to every close code', () => {
  it.each([
    [CloseCode.BadRequest, 'retry'],
    [CloseCode.Unauthorized, 'refresh-then-retry'],
    [CloseCode.Forbidden, 'stop'],
    [CloseCode.AuthTimeout, 'retry'],
    [CloseCode.Revoked, 'stop'],
    [CloseCode.PayloadTooLarge, 'retry'],
    [CloseCode.SessionExpired, 'refresh-then-retry'],
    [CloseCode.RateLimited, 'retry'],
    [CloseCode.InternalError, 'retry'],
    [CloseCode.GoingAway, 'retry'],
    [1006, 'retry'],
  ] as const)('%s → %s', async (code, reaction) => {
    const reason = code === 1006 ? '' : `reason for ${code}`;
    const server = await closingWith(code, reason);
    try {
      const reasons: string[] = [];
      const attempts: number[] = [];
      const { wsClient, trpc } = connect(server.url, {
        connectionParams: async ({ reason: why }) => {
          reasons.push(why);
          return { token: `t${reasons.length}` };
        },
        retryDelayMs: (attempt) => {
          attempts.push(attempt);
          return 5;
        },
      });
      const error = await trpc.echo.query('hi').catch((e: unknown) => e);
      const cause = (error as TRPCClientError<never>).cause as TRPCWebSocketClosedError;
      expect(cause.code).toBe(code);
      expect(cause.reason).toBe(code === 1006 ? undefined : reason);
      if (reaction === 'stop') {
        await sleep(60);
        expect(server.sockets()).toBe(1);
        expect(attempts).toEqual([]);
        const state = wsClient.connectionState.get();
        expect(state).toMatchObject({ state: 'connecting', auth: 'none' });
        expect(state.error?.message).toBe('WebSocket closed');
        expect(state.error?.cause).toMatchObject({ code, reason });
        return;
      }
      await waitFor(() => reasons.length >= 3, 3_000, 'two reconnects');
      expect(attempts.slice(0, 2)).toEqual([0, 1]); // backoff grows: none of these sockets was accepted
      // refresh-then-retry: each new socket asks connectionParams for NEW credentials.
      const next = reaction === 'refresh-then-retry' ? 'refused' : 'connect';
      expect(reasons.slice(0, 3)).toEqual(['connect', next, next]);
    } finally {
      await server.close();
    }
  });
});
